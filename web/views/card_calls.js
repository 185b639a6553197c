// Calls and open callback tasks on the client card (card.calls: the last 20,
// card.tasks: the open ones).

import { h } from "../dom.js";
import { t } from "../i18n.js";
import { formatDuration, formatNumber, formatShortDateTime } from "../format.js";
import { emptyState, panel } from "../ui.js";
import { customerNumber, directionMark, dispositionText, outcomeChip, taskList } from "./call_parts.js";
import { recordingToggle } from "./recording_player.js";

export function renderCalls(client) {
  const calls = [...(client.calls || [])].sort((a, b) => String(b.started_at).localeCompare(String(a.started_at)));
  const all = h("a", { class: "btn btn-sm btn-ghost", href: `#/calls?client_id=${client.id}`, testid: "client-all-calls" }, t("calls.all_of_client"));
  const body = calls.length === 0
    ? emptyState(t("calls.none"), "client-calls-empty")
    : h("table", { class: "table table-calls" },
      h("thead", null, h("tr", null,
        h("th", { class: "col-dir" }, h("span", { class: "sr-only" }, t("calls.direction"))),
        h("th", null, t("calls.when")),
        h("th", null, t("calls.number")),
        h("th", null, t("calls.outcome")),
        h("th", { class: "num" }, t("calls.talk")),
        h("th", null, t("calls.operator")),
        h("th", null, t("calls.disposition")),
        h("th", { class: "col-recording" }, h("span", { class: "sr-only" }, t("recordings.column"))),
      )),
      h("tbody", null, calls.map((row) => h("tr", { testid: "client-call", dataset: { id: row.id, outcome: row.outcome } },
        h("td", { class: "col-dir" }, directionMark(row.direction)),
        h("td", { class: "nowrap" }, h("time", { datetime: row.started_at }, formatShortDateTime(row.started_at))),
        h("td", { class: "nowrap phone" }, formatNumber(customerNumber(row))),
        h("td", null, outcomeChip(row.outcome)),
        h("td", { class: "num nowrap" }, row.talk_seconds ? formatDuration(row.talk_seconds) : "—"),
        h("td", { class: "nowrap mono" }, row.answered_by || row.placed_by || "—"),
        h("td", { class: "call-outcome-cell" },
          row.disposition && h("div", { class: "call-disp" }, dispositionText(row.disposition)),
          row.note && h("div", { class: "call-note-text muted", title: row.note }, row.note),
        ),
        h("td", { class: "col-recording" }, recordingToggle(row.recording, { callId: row.id })),
      ))),
    );
  return panel({ title: t("calls.title_count", { count: calls.length }), tools: calls.length ? all : null, testid: "client-calls", flush: true }, body);
}

export function renderTasks(client) {
  const tasks = client.tasks || [];
  return panel({ title: t("tasks.open_title"), testid: "client-tasks", className: tasks.length ? "panel-attention" : null },
    taskList(tasks, { testid: "client-tasks-list" }),
  );
}
