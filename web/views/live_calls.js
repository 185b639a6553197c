// Supervisors' live board (#/live): every call in the building right now —
// who is calling, whose phones ring, who is talking and for how long. Starts
// from GET /api/calls/live, then follows the pushes for all calls.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { formatDuration, formatNumber } from "../format.js";
import { emptyState, errorBanner, loading, panel } from "../ui.js";
import { onLive, watchAllCalls } from "../live.js";
import { directionMark, outcomeChip } from "./call_parts.js";

// An ended call stays on the board for a moment, so a glance catches how it ended.
const ENDED_VISIBLE_MS = 20000;

export function renderLiveCalls(ctx) {
  const el = h("div", { class: "page page-live", testid: "live-page" });
  if (!ctx.hasRole("supervisor")) {
    mount(el, errorBanner(t("error.forbidden"), "page-error"));
    return { el, title: t("live.title") };
  }

  const calls = new Map(); // key -> {call, name, clientId, endedAt}
  const summary = h("div", { class: "live-summary", testid: "live-summary" });
  const body = h("div", null, loading());
  let destroyed = false;
  let loaded = false;

  mount(el,
    h("div", { class: "page-head" }, h("h1", { class: "page-title" }, t("live.title")), summary),
    panel({ title: t("live.now"), flush: true }, body),
  );

  function upsert(call, extra = {}) {
    if (!call || !call.key) return;
    const entry = calls.get(call.key) || { name: null, clientId: null, endedAt: null };
    entry.call = { ...(entry.call || {}), ...call };
    if (extra.client) {
      entry.name = extra.client.name;
      entry.clientId = extra.client.id;
    } else if (call.client_id) {
      entry.name = call.client_name;
      entry.clientId = call.client_id;
    } else if (call.client_candidates > 1 && !entry.name) {
      entry.name = t("pop.several_clients");
    } else if (extra.candidates && extra.candidates.length > 1 && !entry.name) {
      entry.name = t("pop.several_clients");
    }
    if (call.ended_at && !entry.endedAt) {
      entry.endedAt = Date.now();
      setTimeout(() => { calls.delete(call.key); paint(); }, ENDED_VISIBLE_MS);
    }
    calls.set(call.key, entry);
    paint();
  }

  function stateOf(entry) {
    if (entry.endedAt || entry.call.ended_at) return "ended";
    return entry.call.answered_by ? "talking" : "ringing";
  }

  function paint() {
    if (destroyed || !loaded) return;
    const entries = [...calls.values()].sort((a, b) => String(b.call.started_at).localeCompare(String(a.call.started_at)));
    const active = entries.filter((e) => stateOf(e) !== "ended");
    const waiting = active.filter((e) => stateOf(e) === "ringing").length;
    summary.textContent = t("live.summary", { total: active.length, waiting, talking: active.length - waiting });
    if (!entries.length) {
      mount(body, h("div", { testid: "live-calls" }, emptyState(t("live.none"), "live-empty")));
      return;
    }
    mount(body, h("table", { class: "table table-live", testid: "live-calls" },
      h("thead", null, h("tr", null,
        h("th", { class: "col-state" }, t("live.state")),
        h("th", { class: "col-dir" }, h("span", { class: "sr-only" }, t("calls.direction"))),
        h("th", null, t("live.customer")),
        h("th", null, t("live.operators")),
        h("th", { class: "num col-timer" }, t("live.duration")),
      )),
      h("tbody", null, entries.map(row)),
    ));
    tick();
  }

  function row(entry) {
    const call = entry.call;
    const state = stateOf(entry);
    const answered = call.answered_by;
    const rung = (call.operators_rung || []).filter((op) => !answered || op.endpoint !== answered.endpoint);
    return h("tr", { testid: "live-call", class: "live-" + state, dataset: { callKey: call.key, state } },
      h("td", { class: "nowrap" }, state === "ended"
        ? outcomeChip(call.outcome)
        : h("span", { class: ["chip", state === "ringing" ? "chip-ringing" : "chip-ok"] },
          state === "ringing" ? t("live.ringing") : t("live.talking"))),
      h("td", { class: "col-dir" }, directionMark(call.direction)),
      h("td", null,
        // the CRM's client by name; the PBX's caller-ID text only as a tooltip
        h("div", { class: "live-name", testid: "live-client", title: (call.direction !== "outbound" && call.caller_name) || undefined }, entry.clientId
          ? h("a", { href: `#/clients/${entry.clientId}` }, entry.name || t("calls.open_client"))
          : entry.name || t("pop.unknown_caller")),
        h("div", { class: "phone muted" }, formatNumber(call.customer_number) || "—"),
      ),
      h("td", null,
        answered && h("div", { class: "live-answered", testid: "live-operator", title: answered.endpoint }, answered.name || answered.endpoint),
        rung.length > 0 && h("div", { class: "muted small", title: rung.map((op) => op.endpoint).join(", ") },
          t(state === "ringing" ? "live.ringing_at" : "live.also_rang", { names: rung.map((op) => op.name || op.endpoint).join(", ") })),
      ),
      h("td", { class: "num nowrap live-timer", dataset: { since: call.answered_at || call.started_at, ended: state === "ended" ? "1" : "" } },
        state === "ended" ? formatDuration(call.talk_seconds) : ""),
    );
  }

  function tick() {
    body.querySelectorAll("td.live-timer").forEach((cell) => {
      if (cell.dataset.ended) return;
      const since = Date.parse(cell.dataset.since);
      cell.textContent = Number.isNaN(since) ? "" : formatDuration((Date.now() - since) / 1000);
    });
  }

  async function load() {
    try {
      const data = await api("GET", "/calls/live");
      if (destroyed) return;
      const keep = [...calls.values()].filter((e) => e.endedAt);
      calls.clear();
      keep.forEach((e) => calls.set(e.call.key, e));
      loaded = true;
      (data.items || []).forEach((call) => upsert(call));
      paint();
    } catch (err) {
      if (destroyed || err.status === 401) return;
      mount(body, errorBanner(err.status === 403 ? t("error.forbidden") : err.message, "page-error"));
    }
  }

  const offs = [
    onLive("hello", load), // after a reconnect: what happened meanwhile
    onLive("call.started", (m) => upsert(m.call)),
    onLive("call.ringing", (m) => upsert(m.call, m)),
    onLive("call.answered", (m) => upsert(m.call)),
    onLive("call.ended", (m) => upsert(m.call)),
  ];
  const ticker = setInterval(tick, 1000);
  watchAllCalls();
  load();

  return {
    el,
    title: t("live.title"),
    destroy() {
      destroyed = true;
      clearInterval(ticker);
      offs.forEach((off) => off());
    },
  };
}
