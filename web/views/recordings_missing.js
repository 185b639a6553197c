// #/recordings (supervisors): calls whose recording never came from the PBX or
// could not be processed — when, who, which client, the error and how many
// attempts — with Retry, which sends the recording back to the pipeline now.
// A recording is never lost silently: it stays here until it is ready.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { formatDateTime, formatNumber } from "../format.js";
import { emptyState, loading, panel, serverText, toast } from "../ui.js";
import { customerNumber, directionMark } from "./call_parts.js";
import { recordingStatus } from "./recording_player.js";

const PAGE_SIZE = 50;

export function renderRecordingsMissing(ctx) {
  if (!ctx.hasRole("supervisor")) {
    const el = h("div", { class: "page", testid: "recordings-page" }, emptyState(t("error.code.forbidden"), "recordings-forbidden"));
    return { el, title: t("recordings.title") };
  }
  let offset = 0;
  let controller = null;
  const range = h("span", { class: "muted", testid: "recordings-range" });
  const prev = h("button", { type: "button", class: "btn btn-sm", testid: "recordings-prev", onclick: () => load(Math.max(0, offset - PAGE_SIZE)) }, "← ", t("calls.prev"));
  const next = h("button", { type: "button", class: "btn btn-sm", testid: "recordings-next", onclick: () => load(offset + PAGE_SIZE) }, t("calls.next"), " →");
  const body = h("div", null, loading());
  const el = h("div", { class: "page page-recordings", testid: "recordings-page" },
    h("div", { class: "page-head" },
      h("h1", { class: "page-title" }, t("recordings.title")),
      h("button", { type: "button", class: "btn btn-sm", testid: "recordings-refresh", onclick: () => load(offset) }, "⟳ ", t("calls.refresh")),
    ),
    h("p", { class: "muted" }, t("recordings.intro")),
    panel({ title: t("recordings.list_title"), tools: [range, prev, next], flush: true, testid: "recordings-panel" }, body),
  );

  async function load(to) {
    offset = to;
    if (controller) controller.abort();
    controller = new AbortController();
    const { signal } = controller;
    try {
      const page = await api("GET", "/recordings/missing", { query: { limit: PAGE_SIZE, offset }, signal });
      if (signal.aborted) return;
      if (page.items.length === 0 && offset > 0) return load(Math.max(0, offset - PAGE_SIZE));
      range.textContent = page.total ? `${offset + 1}–${offset + page.items.length} / ${page.total}` : "";
      prev.disabled = offset === 0;
      next.disabled = offset + page.items.length >= page.total;
      mount(body, page.items.length ? table(page.items) : emptyState(t("recordings.list_empty"), "recordings-empty"));
    } catch (err) {
      if (err.name === "AbortError") return;
      mount(body, emptyState(serverText("error.code." + err.code, err.message), "recordings-load-error"));
    }
  }

  async function retry(call, button) {
    button.disabled = true;
    try {
      await api("POST", `/recordings/${call.id}/retry`);
      toast(t("recordings.retried"), "success");
      load(offset);
    } catch (err) {
      button.disabled = false;
      toast(t("recordings.retry_failed") + ": " + serverText("error.code." + err.code, err.message), "error");
    }
  }

  function operator(call) {
    return call.answered_by_name || call.placed_by_name || call.answered_by || call.placed_by || "—";
  }

  function table(items) {
    return h("table", { class: "table table-calls", testid: "recordings-table" },
      h("thead", null, h("tr", null,
        h("th", { class: "col-dir" }, h("span", { class: "sr-only" }, t("calls.direction"))),
        h("th", null, t("recordings.col.when")),
        h("th", null, t("recordings.col.number")),
        h("th", null, t("recordings.col.client")),
        h("th", null, t("recordings.col.operator")),
        h("th", null, t("recordings.col.status")),
        h("th", null, t("recordings.col.error")),
        h("th", { class: "num" }, t("recordings.col.attempts")),
        h("th", { class: "col-actions" }, h("span", { class: "sr-only" }, t("common.actions"))),
      )),
      h("tbody", null, items.map((call) => {
        const button = h("button", { type: "button", class: "btn btn-sm", testid: "recording-retry" }, t("recordings.retry"));
        button.addEventListener("click", () => retry(call, button));
        return h("tr", { testid: "recording-row", dataset: { id: call.id, status: call.recording && call.recording.status } },
          h("td", { class: "col-dir" }, directionMark(call.direction)),
          h("td", { class: "nowrap" }, h("time", { datetime: call.started_at }, formatDateTime(call.started_at))),
          h("td", { class: "nowrap phone" }, formatNumber(customerNumber(call)) || "—"),
          h("td", null, call.client_id
            ? h("a", { href: `#/clients/${call.client_id}`, testid: "recording-client" }, call.client_name || t("calls.open_client"))
            : h("span", { class: "muted" }, t("calls.no_client"))),
          h("td", { class: "nowrap", testid: "recording-operator" }, operator(call)),
          h("td", null, recordingStatus(call.recording)),
          h("td", { class: "recordings-error", testid: "recording-error" }, call.error || "—"),
          h("td", { class: "num", testid: "recording-attempts" }, String(call.attempts)),
          h("td", { class: "col-actions" }, button),
        );
      })),
    );
  }

  load(0);
  return {
    el,
    title: t("recordings.title"),
    destroy() { if (controller) controller.abort(); },
  };
}
