// Small pieces shared by everything that shows calls and callback tasks:
// outcome chips, direction arrows, the compact call list and the task list
// (client card, screen pop, home page, calls page).

import { h } from "../dom.js";
import { t } from "../i18n.js";
import { formatDuration, formatNumber, formatShortDateTime } from "../format.js";
import { emptyState, translatedOr } from "../ui.js";

export const DIRECTIONS = ["inbound", "outbound", "internal"];
export const OUTCOMES = ["answered", "missed", "no_answer", "busy", "invalid_number", "unavailable", "failed"];
export const DISPOSITIONS = ["resolved", "callback", "order_placed", "order_confirmed", "complaint", "wrong_number", "other"];

const ARROWS = { inbound: "↙", outbound: "↗", internal: "↔" };

export function outcomeChip(outcome) {
  if (!outcome) return h("span", { class: "chip chip-muted" }, "—");
  return h("span", { class: ["chip", "outcome-" + (OUTCOMES.includes(outcome) ? outcome : "other")], dataset: { outcome } },
    translatedOr("call.outcome." + outcome, outcome));
}

export function directionMark(direction) {
  const label = translatedOr("call.direction." + direction, direction || "");
  return h("span", { class: ["dir", "dir-" + direction], title: label, "aria-label": label }, ARROWS[direction] || "·");
}

export function dispositionText(disposition) {
  return disposition ? translatedOr("call.disposition." + disposition, disposition) : "";
}

/** The customer's side of a stored call: who called in, or whom we called. */
export function customerNumber(row) {
  return row.direction === "outbound" ? row.callee : row.caller;
}

/** A click-to-call button; the document-wide handler in click_to_call.js does the rest. */
export function callButton({ phone, clientId, taskId, dnc = false, label = true, testid }) {
  if (!phone) return null;
  if (dnc) {
    // A do-not-call client is never dialled (the server refuses too): the button says why.
    return h("button", {
      type: "button", class: "btn btn-sm btn-call btn-warn btn-dnc", testid, disabled: true,
      dataset: { blocked: "do_not_call" }, title: t("client.dnc_hint"), "aria-label": t("client.dnc_hint"),
    }, "⛔", label && " " + t("client.dnc"));
  }
  const dataset = { action: "call", phone };
  if (clientId) dataset.clientId = clientId;
  if (taskId) dataset.taskId = taskId;
  if (dnc) dataset.dnc = "1";
  return h("button", {
    type: "button", class: ["btn", "btn-sm", "btn-call", dnc && "btn-warn"], testid, dataset,
    title: dnc ? t("client.dnc_hint") : t("action.call") + " " + formatNumber(phone),
  }, "☎", label && " " + t("action.call"));
}

/** Compact list of a client's last calls (newest first). */
export function callList(calls, { limit = 5, testid, itemTestid = "call-history-item" } = {}) {
  const rows = [...(calls || [])].sort((a, b) => String(b.started_at).localeCompare(String(a.started_at)));
  if (!rows.length) return h("div", { testid }, emptyState(t("calls.none"), null));
  const shown = rows.slice(0, limit);
  return h("ul", { class: "call-list", testid },
    shown.map((row) => h("li", { class: "call-item", testid: itemTestid, dataset: { id: row.id } },
      directionMark(row.direction),
      h("time", { class: "call-when", datetime: row.started_at }, formatShortDateTime(row.started_at)),
      outcomeChip(row.outcome),
      row.talk_seconds > 0 && h("span", { class: "call-talk", title: t("calls.talk") }, formatDuration(row.talk_seconds)),
      row.disposition && h("span", { class: "call-disp" }, dispositionText(row.disposition)),
      row.note && h("span", { class: "call-note-text", title: row.note }, row.note),
    )),
    rows.length > shown.length && h("li", { class: "call-more muted" }, t("calls.more", { count: rows.length - shown.length })),
  );
}

/** Open tasks (callbacks owed) with a call button each. */
export function taskList(tasks, { testid, clientLink = false, clientNames = {} } = {}) {
  const rows = [...(tasks || [])].sort((a, b) => String(a.due_at).localeCompare(String(b.due_at)));
  if (!rows.length) return h("div", { testid }, emptyState(t("tasks.none"), "tasks-empty"));
  return h("ul", { class: "task-list", testid },
    rows.map((task) => h("li", { class: "task", testid: "task-item", dataset: { id: task.id, phone: task.phone || "" } },
      h("div", { class: "task-main" },
        h("div", { class: "task-top" },
          // Callbacks are the common case; only other kinds need a label.
          task.kind !== "missed_call" && h("span", { class: "task-kind" }, translatedOr("tasks.kind." + task.kind, task.kind)),
          // An order's follow-up says what to do ("Check delivery of order TEA-1001").
          task.kind === "order_followup" && task.title && h("span", { class: "task-title", testid: "task-title" }, task.title),
          h("span", { class: "task-phone phone" }, formatNumber(task.phone)),
        ),
        h("div", { class: "task-sub muted" },
          task.due_at && t(task.kind === "missed_call" ? "tasks.since" : "tasks.due_short", { time: formatShortDateTime(task.ready_at || task.due_at) }),
          task.attempts > 1 && " · " + t("tasks.attempts", { count: task.attempts }),
          clientLink && task.client_id && [" · ", h("a", { href: `#/clients/${task.client_id}`, testid: "task-client" },
            clientNames[task.client_id] || t("tasks.open_client"))],
        ),
      ),
      callButton({ phone: task.phone, clientId: task.client_id, taskId: task.id, testid: "task-call" }),
    )),
  );
}
