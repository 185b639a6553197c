// The tasks page (#/tasks): every task the user may see, filtered by status,
// kind, owner (mine / anyone / all) and due range, 50 a page. Each row says
// when it is due in the client's time and in the operator's, how many
// attempts were made and whose it is; a click opens the client's card with
// the task, the Call button dials it.

import { api } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { formatNumber } from "../format.js";
import { onLive } from "../live.js";
import { createPager, emptyState, panel, translatedOr } from "../ui.js";
import { callButton } from "./call_parts.js";
import { operatorZone, timeInZone, zoneName } from "./outcome_buttons.js";
import { TASK_KINDS, TASK_STATUSES, kindLabel, statusChip, taskCard, taskIdFromHash } from "./task_card.js";
import { takeHandoff } from "./next_task.js";

const PAGE_SIZE = 50;
const OWNERS = ["mine", "anyone", "all"];

// Filters survive leaving the page and coming back within the session.
const remembered = { status: "open", kind: "", owner: "all", from: "", to: "" };

/** Local midnight of a "YYYY-MM-DD" date input as a UTC ISO instant. */
function dayStart(value, plusDays = 0) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value || "");
  if (!match) return null;
  return new Date(+match[1], +match[2] - 1, +match[3] + plusDays).toISOString();
}

/** Two lines: the client's wall clock (with the city) and the operator's. */
export function dueCell(iso, task) {
  const zone = task.client_timezone && !task.client_timezone.includes(",") && task.client_zone_known !== false
    ? task.client_timezone : null;
  const mine = timeInZone(iso, operatorZone());
  return h("div", { class: "due-cell" },
    zone
      ? h("div", { class: "due-client", testid: "task-due-client" }, timeInZone(iso, zone), " ",
        h("span", { class: "muted small" }, t("tasks.at_client", { city: zoneName(zone) })))
      : h("div", { class: "due-client muted", testid: "task-due-client" }, t("tasks.zone_unknown")),
    h("div", { class: "due-mine muted small", testid: "task-due-mine" }, t("tasks.at_you", { time: mine })),
  );
}

export function renderTasks(ctx) {
  const filters = { ...remembered };
  const pager = createPager({
    testid: "tasks", pageSize: PAGE_SIZE, load: fetchPage, render: table,
    empty: () => emptyState(t("tasks.none_found"), "tasks-empty"),
  });

  const select = (name, values) => h("select", {
    testid: "tasks-filter-" + name, "aria-label": t("tasks.filter." + name),
    onchange: (event) => { filters[name] = event.target.value; remembered[name] = event.target.value; pager.first(); },
  }, values.map(([value, text]) => h("option", { value, selected: filters[name] === value }, text)));
  const dateInput = (name) => h("input", {
    type: "date", testid: "tasks-filter-" + name, value: filters[name], "aria-label": t("tasks.filter." + name),
    onchange: (event) => { filters[name] = event.target.value; remembered[name] = event.target.value; pager.first(); },
  });

  // #/tasks?task=34: a task with no client card to open (a missed call from an unknown number)
  const shownId = taskIdFromHash();
  const claimed = shownId ? takeHandoff(shownId) : null;
  const shown = shownId ? taskCard({ taskId: shownId, client: claimed && claimed.client, ctx,
    claimed: claimed && claimed.task, autodial: claimed && claimed.autodial }) : null;

  const el = h("div", { class: "page page-tasks", testid: "tasks-page" },
    h("div", { class: "page-head" },
      h("h1", { class: "page-title" }, t("tasks.title")),
      h("div", { class: "page-tools" },
        h("a", { class: "btn btn-sm btn-ghost", href: "#/archive", testid: "tasks-archive-link" }, t("archive.title")),
        ctx.hasRole("admin") && h("a", { class: "btn btn-sm btn-ghost", href: "#/outcomes", testid: "nav-outcomes" }, t("nav.outcomes")),
        h("button", { type: "button", class: "btn btn-sm", testid: "tasks-refresh", onclick: () => pager.reload() }, "⟳ ", t("calls.refresh")),
      ),
    ),
    shown && shown.el,
    h("div", { class: "filters", role: "group", "aria-label": t("calls.filters") },
      h("label", { class: "filter" }, h("span", null, t("tasks.filter.status")),
        select("status", [["", t("calls.any")], ...TASK_STATUSES.map((s) => [s, translatedOr("tasks.status." + s, s)])])),
      h("label", { class: "filter" }, h("span", null, t("tasks.filter.kind")),
        select("kind", [["", t("calls.any")], ...TASK_KINDS.map((k) => [k, kindLabel(k)])])),
      h("label", { class: "filter" }, h("span", null, t("tasks.filter.owner")),
        select("owner", OWNERS.map((o) => [o, t("tasks.owner." + o)]))),
      h("label", { class: "filter" }, h("span", null, t("tasks.filter.from")), dateInput("from")),
      h("label", { class: "filter" }, h("span", null, t("tasks.filter.to")), dateInput("to")),
    ),
    panel({ title: t("tasks.list"), tools: pager.tools, flush: true }, pager.body),
  );

  function fetchPage({ offset, limit, signal }) {
    const query = {
      status: filters.status, kind: filters.kind,
      assigned_to: filters.owner === "mine" ? "me" : filters.owner === "anyone" ? "anyone" : null,
      due_from: dayStart(filters.from), due_to: dayStart(filters.to, 1), limit, offset,
    };
    return api("GET", "/tasks", { query, signal });
  }

  function table(items) {
    return h("table", { class: "table table-tasks", testid: "tasks-table" },
      h("thead", null, h("tr", null,
        h("th", null, t("tasks.col.due")),
        h("th", null, t("tasks.col.task")),
        h("th", { class: "num" }, t("tasks.col.attempts")),
        h("th", null, t("tasks.col.owner")),
        h("th", null, t("tasks.col.status")),
        h("th", { class: "col-actions" }, h("span", { class: "sr-only" }, t("common.actions"))),
      )),
      h("tbody", null, items.map(row)),
    );
  }

  function row(task) {
    const due = task.status === "open" ? (task.ready_at || task.due_at) : task.due_at;
    const href = task.client_id ? `#/clients/${task.client_id}?task=${task.id}` : `#/tasks?task=${task.id}`;
    return h("tr", { testid: "task-row", dataset: { id: task.id, status: task.status, kind: task.kind } },
      h("td", { class: "nowrap" }, dueCell(due, task)),
      h("td", { class: "task-cell" },
        h("div", null,
          h("span", { class: "task-kind" }, kindLabel(task.kind)), " ",
          h("a", { href, testid: "task-open" }, task.client_name || formatNumber(task.phone) || t("tasks.open_client")),
        ),
        h("div", { class: "muted small" }, [formatNumber(task.phone), task.title].filter(Boolean).join(" · ")),
      ),
      h("td", { class: "num", testid: "task-attempts" }, String(task.attempts ?? 0)),
      h("td", { class: "task-owner-cell", testid: "task-owner" },
        task.assigned_to ? (task.assigned_to === ctx.user.id ? t("calls.you") : task.assigned_to_name || "#" + task.assigned_to) : t("tasks.owner_anyone")),
      h("td", null, statusChip(task),
        task.status === "open" && task.claimed_by && task.lease_until && new Date(task.lease_until) > new Date()
          && h("div", { class: "muted small", testid: "task-row-claimed" }, task.claimed_by === ctx.user.id ? t("tasks.in_work_mine") : t("tasks.in_work")),
        task.result && h("div", { class: "muted small", testid: "task-row-result" }, translatedOr("outcomes.code." + task.result, task.result))),
      h("td", { class: "col-actions" }, task.status === "open" && task.phone && callButton({
        phone: task.phone, clientId: task.client_id, taskId: task.id, dnc: !!task.do_not_call, label: false, testid: "task-row-call",
      })),
    );
  }

  let timer = null;
  const refresh = () => { clearTimeout(timer); timer = setTimeout(() => { if (pager.offset === 0) pager.reload(); }, 400); };
  // tasks.changed: a task of this user's (or, for staff, anyone's) was given, moved, worked
  // or handed over, in this tab, another one, or by a colleague on another server process
  const offs = [onLive("tasks.due", refresh), onLive("call.ended", refresh), onLive("tasks.changed", refresh)];
  window.addEventListener("callcenter:task-updated", refresh);

  pager.first();
  return {
    el,
    title: t("tasks.title"),
    destroy() {
      clearTimeout(timer);
      if (shown) shown.destroy();
      offs.forEach((off) => off());
      window.removeEventListener("callcenter:task-updated", refresh);
      pager.destroy();
    },
  };
}
