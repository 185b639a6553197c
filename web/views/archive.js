// The archive (#/archive): tasks closed without a result — the redial ladder
// ran out, the number is invalid, the client asked not to be called —,
// searched by client name (ё = е) or the digits of the number, and brought
// back (restore → open again, due now, inside the client's calling window).

import { api } from "../api.js";
import { debounce, h } from "../dom.js";
import { t } from "../i18n.js";
import { formatDateTime, formatNumber } from "../format.js";
import { createPager, emptyState, panel, toast, translatedOr } from "../ui.js";
import { kindLabel } from "./task_card.js";
import { resultText } from "./outcome_buttons.js";

const PAGE_SIZE = 50;

export function renderArchive() {
  let q = "";
  const pager = createPager({
    testid: "archive", pageSize: PAGE_SIZE, render: table,
    load: ({ offset, limit, signal }) => api("GET", "/tasks/archive", { query: { q, limit, offset }, signal }),
    empty: () => emptyState(q ? t("archive.none_found") : t("archive.empty"), "archive-empty"),
  });

  const search = h("input", {
    type: "search", testid: "archive-search", placeholder: t("archive.search_placeholder"), "aria-label": t("archive.search"),
    oninput: debounce(() => { q = search.value.trim(); pager.first(); }, 250),
    onkeydown: (event) => { if (event.key === "Enter") { event.preventDefault(); q = search.value.trim(); pager.first(); } },
  });

  const el = h("div", { class: "page page-archive", testid: "archive-page" },
    h("div", { class: "page-head" },
      h("h1", { class: "page-title" }, t("archive.title")),
      h("a", { class: "btn btn-sm btn-ghost", href: "#/tasks" }, "← ", t("tasks.title")),
    ),
    h("p", { class: "muted" }, t("archive.text")),
    h("div", { class: "filters" }, h("label", { class: "filter archive-search" }, h("span", null, t("archive.search")), search)),
    panel({ title: t("archive.list"), tools: pager.tools, flush: true }, pager.body),
  );

  function table(items) {
    return h("table", { class: "table table-archive", testid: "archive-table" },
      h("thead", null, h("tr", null,
        h("th", null, t("tasks.col.task")),
        h("th", null, t("archive.col.reason")),
        h("th", { class: "num" }, t("tasks.col.attempts")),
        h("th", null, t("archive.col.closed")),
        h("th", { class: "col-actions" }, h("span", { class: "sr-only" }, t("common.actions"))),
      )),
      h("tbody", null, items.map(row)),
    );
  }

  function row(task) {
    const restore = h("button", {
      type: "button", class: "btn btn-sm", testid: "archive-restore",
      onclick: async () => {
        restore.disabled = true;
        try {
          const back = await api("POST", `/tasks/${task.id}/restore`);
          toast(t("archive.restored", { when: resultText(back, null) }), "success");
          tr.remove();
          window.dispatchEvent(new CustomEvent("callcenter:task-updated", { detail: { task: back } }));
        } catch (err) {
          restore.disabled = false;
          if (err.status !== 401) toast(err.code === "do_not_call" ? t("outcomes.error.do_not_call") : err.message, "error");
        }
      },
    }, "↺ ", t("archive.restore"));
    const tr = h("tr", { testid: "archive-row", dataset: { id: task.id } },
      h("td", null,
        h("div", null, h("span", { class: "task-kind" }, kindLabel(task.kind)), " ",
          task.client_id
            ? h("a", { href: `#/clients/${task.client_id}`, testid: "archive-client" }, task.client_name || formatNumber(task.phone))
            : formatNumber(task.phone)),
        h("div", { class: "muted small" }, [formatNumber(task.phone), task.title].filter(Boolean).join(" · ")),
      ),
      h("td", { testid: "archive-reason" }, translatedOr("outcomes.reason." + task.closed_reason, task.closed_reason || "—")),
      h("td", { class: "num" }, String(task.attempts ?? 0)),
      h("td", { class: "nowrap" }, formatDateTime(task.closed_at)),
      h("td", { class: "col-actions" }, restore),
    );
    return tr;
  }

  pager.first();
  return {
    el,
    title: t("archive.title"),
    destroy() {
      pager.destroy();
    },
  };
}
