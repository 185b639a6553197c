// The call log (#/calls): every stored call, newest first, filtered by
// period, direction, outcome, "mine only" and (from a client card) client;
// 50 a page. Each row links to the client and can call the number back.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { formatDateTime, formatDuration, formatNumber } from "../format.js";
import { createPager, emptyState, panel, translatedOr } from "../ui.js";
import {
  DIRECTIONS, OUTCOMES, callButton, customerNumber, directionMark, dispositionText, outcomeChip,
} from "./call_parts.js";
import { onLive } from "../live.js";
import { recordingToggle } from "./recording_player.js";

const PAGE_SIZE = 50;
const PERIODS = ["today", "yesterday", "week", "month", "all"];
const DAY_MS = 86400000;

// Filters survive leaving the page and coming back within the session.
const remembered = { period: "week", direction: "", outcome: "", mine: false };

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate());
}

/** {since, until} as ISO instants for a period of the operator's own calendar. */
function periodRange(period, now = new Date()) {
  const today = startOfDay(now);
  switch (period) {
    case "today": return { since: today };
    case "yesterday": return { since: new Date(today.getTime() - DAY_MS), until: today };
    case "week": return { since: new Date(today.getTime() - 6 * DAY_MS) };
    case "month": return { since: new Date(today.getTime() - 29 * DAY_MS) };
    default: return {};
  }
}

function clientFilterFromHash() {
  const query = location.hash.split("?")[1] || "";
  const id = Number(new URLSearchParams(query).get("client_id"));
  return Number.isInteger(id) && id > 0 ? id : null;
}

export function renderCalls(ctx) {
  const filters = { ...remembered, clientId: clientFilterFromHash() };
  const pager = createPager({
    testid: "calls", pageSize: PAGE_SIZE, load: fetchPage, render: table,
    empty: () => emptyState(t("calls.none_found"), "calls-empty"),
  });

  const select = (name, values, prefix, allLabel) => h("select", {
    testid: "calls-filter-" + name, "aria-label": t("calls.filter." + name),
    onchange: (event) => { filters[name] = event.target.value; remembered[name] = event.target.value; pager.first(); },
  },
    allLabel && h("option", { value: "" }, allLabel),
    values.map((value) => h("option", { value, selected: filters[name] === value }, translatedOr(prefix + value, value))),
  );
  const mine = h("input", {
    type: "checkbox", id: "calls-mine", testid: "calls-filter-mine", checked: filters.mine,
    onchange: (event) => { filters.mine = event.target.checked; remembered.mine = filters.mine; pager.first(); },
  });
  const clientChip = h("span", { class: "filter-chip-slot" });

  const el = h("div", { class: "page page-calls", testid: "calls-page" },
    h("div", { class: "page-head" },
      h("h1", { class: "page-title" }, t("calls.title")),
      h("button", { type: "button", class: "btn btn-sm", testid: "calls-refresh", onclick: () => pager.reload() }, "⟳ ", t("calls.refresh")),
      ctx.hasRole("supervisor") && h("a", { class: "btn btn-sm btn-ghost", href: "#/recordings", testid: "calls-missing-recordings" }, t("recordings.link")),
    ),
    h("div", { class: "filters", role: "group", "aria-label": t("calls.filters") },
      h("label", { class: "filter" }, h("span", null, t("calls.filter.period")), select("period", PERIODS, "calls.period.", null)),
      h("label", { class: "filter" }, h("span", null, t("calls.filter.direction")), select("direction", DIRECTIONS, "call.direction.", t("calls.any"))),
      h("label", { class: "filter" }, h("span", null, t("calls.filter.outcome")), select("outcome", OUTCOMES, "call.outcome.", t("calls.any"))),
      h("div", { class: "filter filter-check" }, mine, h("label", { htmlFor: "calls-mine" }, t("calls.filter.mine"))),
      clientChip,
    ),
    panel({ title: t("calls.log"), tools: pager.tools, flush: true }, pager.body),
  );

  function paintClientChip() {
    mount(clientChip, filters.clientId && h("span", { class: "chip chip-tag filter-chip", testid: "calls-filter-client" },
      t("calls.filter.client", { id: filters.clientId }),
      h("button", {
        type: "button", class: "chip-x", "aria-label": t("action.remove"), title: t("action.remove"),
        onclick: () => { filters.clientId = null; history.replaceState(null, "", "#/calls"); paintClientChip(); pager.first(); },
      }, "×"),
    ));
  }

  function fetchPage({ offset, limit, signal }) {
    const period = periodRange(filters.period);
    const query = {
      since: period.since && period.since.toISOString(), until: period.until && period.until.toISOString(),
      direction: filters.direction, outcome: filters.outcome, client_id: filters.clientId,
      operator_id: filters.mine ? ctx.user.id : null, limit, offset,
    };
    return api("GET", "/calls", { query, signal });
  }

  function table(items) {
    return h("table", { class: "table table-calls", testid: "calls-table" },
      h("thead", null, h("tr", null,
        h("th", { class: "col-dir" }, h("span", { class: "sr-only" }, t("calls.direction"))),
        h("th", null, t("calls.when")),
        h("th", null, t("calls.number")),
        h("th", null, t("calls.client")),
        h("th", null, t("calls.operator")),
        h("th", null, t("calls.outcome")),
        h("th", { class: "num" }, t("calls.wait")),
        h("th", { class: "num" }, t("calls.talk")),
        h("th", null, t("calls.disposition")),
        h("th", { class: "col-recording" }, h("span", { class: "sr-only" }, t("recordings.column"))),
        h("th", { class: "col-actions" }, h("span", { class: "sr-only" }, t("common.actions"))),
      )),
      h("tbody", null, items.map(row)),
    );
  }

  // The operator by name; the softphone's channel (PJSIP/102) only as a tooltip, or as
  // the text when no user has that phone.
  function operatorCell(call) {
    const endpoint = call.answered_by || call.placed_by;
    if (!endpoint) return "—";
    const name = call.answered_by ? call.answered_by_name : call.placed_by_name;
    if (endpoint === ctx.user.extension) return h("span", { title: endpoint, testid: "call-operator" }, t("calls.you"));
    if (name) return h("span", { title: endpoint, testid: "call-operator" }, name);
    return h("span", { class: "mono", testid: "call-operator" }, endpoint);
  }

  // The CRM's client by name; the PBX's caller-ID text only as a tooltip.
  function clientCell(call) {
    const raw = call.direction !== "outbound" && call.caller_name ? call.caller_name : undefined;
    if (!call.client_id) return h("span", { class: "muted", title: raw, testid: "call-client" }, t("calls.no_client"));
    return h("a", { href: `#/clients/${call.client_id}`, testid: "call-client-link", title: raw },
      call.client_name || t("calls.open_client"));
  }

  function row(call) {
    const number = customerNumber(call);
    return h("tr", { testid: "call-row", dataset: { id: call.id, outcome: call.outcome, direction: call.direction } },
      h("td", { class: "col-dir" }, directionMark(call.direction)),
      h("td", { class: "nowrap" }, h("time", { datetime: call.started_at }, formatDateTime(call.started_at))),
      h("td", { class: "nowrap" }, h("div", { class: "phone call-number-cell" }, formatNumber(number) || "—")),
      h("td", { class: "call-client-cell" }, clientCell(call)),
      h("td", { class: "nowrap" }, operatorCell(call)),
      h("td", null, outcomeChip(call.outcome)),
      h("td", { class: "num nowrap" }, call.wait_seconds != null ? formatDuration(call.wait_seconds) : "—"),
      h("td", { class: "num nowrap" }, call.talk_seconds ? formatDuration(call.talk_seconds) : "—"),
      h("td", { class: "call-outcome-cell" },
        call.disposition && h("div", { class: "call-disp" }, dispositionText(call.disposition)),
        call.note && h("div", { class: "call-note-text muted", title: call.note }, call.note),
      ),
      h("td", { class: "col-recording" }, recordingToggle(call.recording, { callId: call.id })),
      h("td", { class: "col-actions" }, number && number.startsWith("+") && callButton({ phone: number, clientId: call.client_id, label: false, testid: "call-back" })),
    );
  }

  // A call that ends while the log is open shows up without a manual refresh.
  // Not while a recording is open under a row: the reload would stop it mid-sentence.
  const offEnded = onLive("call.ended", () => { if (pager.offset === 0 && !el.querySelector(".rec-detail-row")) setTimeout(pager.reload, 300); });

  paintClientChip();
  pager.first();
  return {
    el,
    title: t("calls.title"),
    destroy() {
      offEnded();
      pager.destroy();
    },
  };
}
