// Supervisors' live board (#/board): every operator's state and for how long,
// the call they are on (the CRM's client, direction, talk time, who listens
// in), today's counters, and the callers waiting in each queue. Starts from
// GET /api/board and follows the pushes: board.operator replaces a row,
// board.queue a queue, board.status the stale banner, agent.state the state
// chip; every (re)connect of the live link ("hello") fetches the board again,
// since pushes sent while the link was down are lost.
//
// From a row a supervisor listens / whispers / barges into the operator's
// call (POST /api/supervise: the supervisor's own phone rings) and pauses or
// readies the operator (POST /api/agents/{id}/state).

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { formatDuration, formatNumber, formatShortDateTime } from "../format.js";
import { emptyState, errorBanner, loading, panel, toast } from "../ui.js";
import { isPbxDown, lastAmiStatus, linkStatus, onLinkStatus, onLive } from "../live.js";
import { directionMark } from "./call_parts.js";
import { reasonLabel } from "./agent_state.js";
import { loadOutcomes, outcomeLabel } from "./outcome_buttons.js";

const STATES = ["offline", "ready", "paused", "ringing", "talking", "wrap_up"];
const SPY_MODES = ["listen", "whisper", "barge"];
const TOP_OUTCOMES = 3;
const TICK_MS = 1000;

function byName(a, b) {
  // offline operators sink to the bottom; otherwise rows keep their place by name,
  // so a glance finds the same person where they were
  const off = (a.state === "offline") - (b.state === "offline");
  return off || String(a.name || a.login).localeCompare(String(b.name || b.login)) || a.user_id - b.user_id;
}

/** Seconds from `iso` to now (never negative); null when `iso` is missing. */
function secondsSince(iso, now) {
  const at = Date.parse(iso);
  return Number.isNaN(at) ? null : Math.max(0, (now - at) / 1000);
}

export function renderBoard(ctx) {
  const el = h("div", { class: "page page-board", testid: "board-page" });
  const title = t("nav.board");
  if (!ctx.hasRole("supervisor")) {
    mount(el, errorBanner(t("error.forbidden"), "page-error"));
    return { el, title };
  }

  const operators = new Map(); // user_id -> OPERATOR
  const queues = new Map(); // name -> QUEUE
  const chosenReason = new Map(); // user_id -> reason picked in the row's select
  const busy = new Set(); // user_id with a request in flight
  let pauseReasons = [];
  let outcomeDefs = new Map();
  let status = { stale: false, stale_since: null };
  let ami = lastAmiStatus(); // the freshest of the board's and the pushes' AMI status
  let loaded = false;
  let destroyed = false;
  let loads = 0; // only the newest GET /api/board is drawn (a reconnect may overlap the first)

  const summary = h("div", { class: "board-summary", testid: "board-summary", "aria-live": "polite" });
  const staleBanner = h("div", { class: "banner banner-warn board-banner", role: "status", testid: "board-stale", hidden: true });
  const linkBanner = h("div", { class: "banner banner-error board-banner", role: "alert", testid: "board-offline", hidden: true });
  const operatorsBody = h("div", null, loading());
  const queuesBody = h("div", { class: "board-queues", testid: "board-queues" });

  mount(el,
    h("div", { class: "page-head" }, h("h1", { class: "page-title" }, title), summary),
    staleBanner, linkBanner,
    h("div", { class: "board-grid" },
      panel({ title: t("board.queues"), className: "board-queues-panel" }, queuesBody),
      panel({ title: t("board.operators"), flush: true, className: "board-operators-panel" }, operatorsBody),
    ),
  );

  // ---- the banners -------------------------------------------------------------------

  function paintBanners() {
    const since = status.stale_since ? formatShortDateTime(status.stale_since) : "";
    // stale while the link is down, and for a moment after it is back while the board resyncs
    const why = isPbxDown(ami && (ami.status || ami.state)) ? "board.stale_down" : "board.stale_resync";
    staleBanner.hidden = !status.stale;
    staleBanner.dataset.why = status.stale ? why.slice("board.stale_".length) : "";
    staleBanner.textContent = status.stale ? (since ? t(why + "_since", { time: since }) : t(why)) : "";
    const link = linkStatus();
    const down = link.live === "retrying" || link.live === "off";
    linkBanner.hidden = !down;
    linkBanner.textContent = down ? t("board.offline") : "";
    el.dataset.stale = status.stale || down ? "1" : "";
  }

  // ---- operators ---------------------------------------------------------------------

  function stateChip(op) {
    const state = STATES.includes(op.state) ? op.state : "offline";
    return h("span", { class: ["chip", "board-state", "board-state-" + state], testid: "board-state", dataset: { state } },
      h("span", { class: "board-dot", "aria-hidden": "true" }), t("agent.state." + state));
  }

  function stateCell(op) {
    const reason = op.state === "paused" && op.reason ? reasonLabel(op.reason) : null;
    // wrap-up counts down to its end; every other state counts up from its start
    const timer = op.state === "wrap_up" && op.wrap_up_until
      ? h("span", { class: "board-timer", testid: "board-since", dataset: { until: op.wrap_up_until, format: "board.left" } })
      : op.since && h("span", { class: "board-timer", testid: "board-since", dataset: { since: op.since, format: "board.for" } });
    return h("td", { class: "board-col-state" },
      stateChip(op),
      reason && h("span", { class: "board-reason", testid: "board-reason" }, reason),
      timer);
  }

  function callCell(op) {
    const call = op.call;
    if (!call) return h("td", { class: "board-col-call muted" }, "—");
    const who = call.client_id
      ? h("a", { href: `#/clients/${call.client_id}`, testid: "board-client" }, call.client_name || formatNumber(call.number) || t("pop.unknown_caller"))
      : h("span", { testid: "board-client" }, formatNumber(call.number) || t("pop.unknown_caller"));
    const spy = call.supervised_by;
    return h("td", { class: "board-col-call", dataset: { callKey: call.call_key } },
      h("div", { class: "board-call" },
        directionMark(call.direction),
        who,
        call.since && h("span", { class: "board-timer board-talk", testid: "board-talk", dataset: { since: call.since, format: "" } })),
      call.client_id && call.number && h("div", { class: "phone muted small" }, formatNumber(call.number)),
      spy && h("span", { class: ["chip", "chip-xs", "board-spy", "board-spy-" + spy.mode], testid: "board-supervised", dataset: { mode: spy.mode } },
        t("board.supervised", { name: spy.name || "", mode: t("board.mode." + spy.mode) })));
  }

  function todayCell(op) {
    const today = op.today || {};
    const top = Object.entries(today.outcomes || {}).filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, TOP_OUTCOMES);
    const figure = (key, value, testid) => h("span", { class: "board-figure", testid },
      h("span", { class: "board-figure-label" }, t(key)), h("b", null, value));
    return h("td", { class: "board-col-today", testid: "board-today" },
      h("div", { class: "board-figures" },
        figure("board.today.calls", today.calls ?? 0, "board-today-calls"),
        figure("board.today.answered", today.answered ?? 0, "board-today-answered"),
        figure("board.today.missed", today.missed ?? 0, "board-today-missed"),
        figure("board.today.talk", formatDuration(today.talk_seconds || 0), "board-today-talk")),
      h("div", { class: "muted small", testid: "board-today-split" },
        t("board.today.split", { inbound: today.inbound ?? 0, outbound: today.outbound ?? 0 })),
      top.length > 0 && h("div", { class: "board-outcomes", testid: "board-outcomes" },
        top.map(([code, n]) => h("span", { class: "chip chip-xs chip-muted", dataset: { outcome: code } },
          `${outcomeDefs.has(code) ? outcomeLabel(outcomeDefs.get(code)) : code} ${n}`))));
  }

  function actionsCell(op) {
    const waiting = busy.has(op.user_id);
    const name = op.name || op.login;
    const spyButtons = op.call && op.state === "talking" && h("div", { class: "board-spy-buttons", role: "group", "aria-label": t("board.spy_group", { name }) },
      SPY_MODES.map((mode) => h("button", {
        type: "button", class: "btn btn-sm", testid: "board-" + mode, disabled: waiting,
        title: t("board.hint." + mode), onclick: () => supervise(op, mode),
      }, t("board.action." + mode))));
    const reasons = pauseReasons.length ? pauseReasons : [op.reason].filter(Boolean);
    const picked = chosenReason.get(op.user_id) || reasons[0];
    const select = h("select", {
      class: "board-reason-select", testid: "board-pause-reason", "aria-label": t("board.pause_reason", { name }),
      disabled: waiting, onchange: (event) => chosenReason.set(op.user_id, event.target.value),
    }, reasons.map((reason) => h("option", { value: reason, selected: reason === picked }, reasonLabel(reason))));
    return h("td", { class: "board-col-actions" },
      spyButtons,
      h("div", { class: "board-state-buttons", role: "group", "aria-label": t("board.state_group", { name }) },
        reasons.length > 0 && select,
        reasons.length > 0 && h("button", {
          type: "button", class: "btn btn-sm btn-warn", testid: "board-pause", disabled: waiting,
          onclick: () => setState(op, "paused", select.value),
        }, t("board.action.pause")),
        h("button", {
          type: "button", class: "btn btn-sm", testid: "board-ready", disabled: waiting || op.state === "ready",
          onclick: () => setState(op, "ready"),
        }, t("board.action.ready"))));
  }

  function row(op) {
    return h("tr", { class: ["board-row", "board-row-" + op.state], testid: "board-operator-" + op.user_id, dataset: { state: op.state, userId: op.user_id } },
      h("td", { class: "board-col-name" },
        h("div", { class: "board-name", testid: "board-name" }, op.name || op.login),
        h("div", { class: "muted small" }, op.extension || t("board.no_phone"))),
      stateCell(op),
      callCell(op),
      todayCell(op),
      actionsCell(op));
  }

  function paintOperators() {
    if (!loaded || destroyed) return;
    const list = [...operators.values()].sort(byName);
    if (!list.length) {
      mount(operatorsBody, h("div", { testid: "board-operators" }, emptyState(t("board.operators_none"), "board-operators-empty")));
    } else {
      mount(operatorsBody, h("table", { class: "table table-board", testid: "board-operators" },
        h("thead", null, h("tr", null,
          h("th", null, t("board.col.operator")),
          h("th", null, t("board.col.state")),
          h("th", null, t("board.col.call")),
          h("th", null, t("board.col.today")),
          h("th", null, h("span", { class: "sr-only" }, t("common.actions"))))),
        h("tbody", null, list.map(row))));
    }
    paintSummary();
    tick();
  }

  /** Replace one operator's row in place, keeping the keyboard focus on the same control. */
  function paintOperator(userId) {
    const old = operatorsBody.querySelector(`tr[data-user-id="${CSS.escape(String(userId))}"]`);
    const op = operators.get(userId);
    if (!old || !op || needsReorder(old, op)) {
      paintOperators();
      return;
    }
    const focused = old.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
    const fresh = row(op);
    old.replaceWith(fresh);
    if (focused) {
      const again = fresh.querySelector(`[data-testid="${CSS.escape(focused)}"]`);
      if (again && !again.disabled) again.focus();
    }
    paintSummary();
    tick();
  }

  // going offline or coming back moves a row between the groups: the whole table is redrawn
  function needsReorder(oldRow, op) {
    return (oldRow.dataset.state === "offline") !== (op.state === "offline");
  }

  function paintSummary() {
    const count = (state) => [...operators.values()].filter((op) => op.state === state).length;
    const waiting = [...queues.values()].reduce((n, q) => n + (q.waiting || []).length, 0);
    summary.textContent = t("board.summary", {
      ready: count("ready"), talking: count("talking") + count("ringing"), paused: count("paused"), waiting,
    });
  }

  // ---- queues ------------------------------------------------------------------------

  function queueBlock(queue) {
    const waiting = [...(queue.waiting || [])].sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
    return h("section", { class: "board-queue", testid: "board-queue-" + queue.name, dataset: { queue: queue.name, waiting: waiting.length } },
      h("header", { class: "board-queue-head" },
        h("h3", { class: "board-queue-name" }, queue.name),
        h("span", { class: ["chip", waiting.length ? "chip-ringing" : "chip-muted"], testid: "board-queue-count" },
          t("board.queue.waiting", { n: waiting.length }))),
      h("div", { class: "muted small board-queue-facts" },
        h("span", { testid: "board-queue-members" }, t("board.queue.members", { ready: queue.members_ready ?? 0, total: queue.members ?? 0 })),
        queue.longest_since && h("span", { testid: "board-queue-longest" },
          t("board.queue.longest"), " ", h("span", { class: "board-timer", dataset: { since: queue.longest_since, format: "" } }))),
      waiting.length
        ? h("ol", { class: "board-waiting-list" }, waiting.map((caller) => h("li", { class: "board-waiting", testid: "board-waiting", dataset: { callKey: caller.call_key } },
          h("span", { class: "board-position" }, caller.position ?? ""),
          h("span", { class: "board-waiting-who" }, caller.client_name || formatNumber(caller.number) || t("pop.unknown_caller")),
          h("span", { class: "board-timer", dataset: { since: caller.since, format: "" } }))))
        : emptyState(t("board.queue.none"), "board-queue-empty"));
  }

  function paintQueues() {
    if (!loaded || destroyed) return;
    const list = [...queues.values()].sort((a, b) => String(a.name).localeCompare(String(b.name)));
    mount(queuesBody, list.length ? list.map(queueBlock) : emptyState(t("board.queues_none"), "board-queues-empty"));
    paintSummary();
    tick();
  }

  // ---- the one ticker ----------------------------------------------------------------

  function tick() {
    const now = Date.now();
    el.querySelectorAll(".board-timer").forEach((node) => {
      const { since, until, format } = node.dataset;
      const left = until ? Date.parse(until) : NaN;
      const seconds = until ? (Number.isNaN(left) ? null : Math.max(0, (left - now) / 1000)) : secondsSince(since, now);
      if (seconds === null) node.textContent = "";
      else node.textContent = format ? t(format, { time: formatDuration(seconds) }) : formatDuration(seconds);
    });
  }

  // ---- actions -----------------------------------------------------------------------

  async function supervise(op, mode) {
    if (busy.has(op.user_id)) return;
    busy.add(op.user_id);
    paintOperator(op.user_id);
    try {
      await api("POST", "/supervise", { body: { operator_id: op.user_id, mode } });
      toast(t("board.spy_ringing." + mode, { name: op.name || op.login }), "success");
    } catch (err) {
      if (err.status !== 401) toast(err.message || t("error.network"), "error");
    } finally {
      busy.delete(op.user_id);
      if (!destroyed) paintOperator(op.user_id);
    }
  }

  async function setState(op, state, reason) {
    if (busy.has(op.user_id)) return;
    busy.add(op.user_id);
    if (reason) chosenReason.set(op.user_id, reason);
    paintOperator(op.user_id);
    try {
      const body = state === "paused" ? { state, reason } : { state };
      const agent = await api("POST", `/agents/${op.user_id}/state`, { body });
      if (destroyed) return;
      if (agent) applyAgent(agent);
      if (agent && agent.pbx === "pending") toast(t("board.pbx_pending"), "info");
      else if (agent && agent.pbx === "refused") toast(t("board.pbx_refused"), "error");
    } catch (err) {
      if (err.status !== 401) toast(err.message || t("error.network"), "error");
    } finally {
      busy.delete(op.user_id);
      if (!destroyed) paintOperator(op.user_id);
    }
  }

  // ---- data and pushes ---------------------------------------------------------------

  function applyOperator(op) {
    if (!op || op.user_id === undefined) return;
    operators.set(op.user_id, op);
    if (loaded) paintOperator(op.user_id);
  }

  /** An agent.state push (or the answer to a pause) moves the state chip before the board's row comes. */
  function applyAgent(agent) {
    const op = agent && operators.get(agent.user_id);
    if (!op) return;
    const next = { ...op, state: agent.state, reason: agent.reason, since: agent.since, wrap_up_until: agent.wrap_up_until };
    if (next.state === op.state && next.reason === op.reason && next.since === op.since && next.wrap_up_until === op.wrap_up_until) return;
    applyOperator(next);
  }

  function applyQueue(queue) {
    if (!queue || !queue.name) return;
    queues.set(queue.name, queue);
    paintQueues();
  }

  function applyStatus(next) {
    status = { stale: !!next.stale, stale_since: next.stale_since || null };
    paintBanners();
  }

  async function load() {
    const mine = ++loads;
    try {
      const [data] = await Promise.all([
        api("GET", "/board"),
        loadOutcomes().then((defs) => { outcomeDefs = new Map(defs.map((d) => [d.code, d])); }).catch(() => {}),
      ]);
      if (destroyed || mine !== loads) return;
      operators.clear();
      queues.clear();
      (data.operators || []).forEach((op) => operators.set(op.user_id, op));
      (data.queues || []).forEach((q) => queues.set(q.name, q));
      pauseReasons = data.pause_reasons || [];
      if (data.ami) ami = data.ami;
      loaded = true;
      el.dataset.loaded = "1";
      applyStatus(data);
      paintOperators();
      paintQueues();
    } catch (err) {
      if (destroyed || mine !== loads || err.status === 401) return;
      mount(operatorsBody, errorBanner(err.status === 403 ? t("error.forbidden") : err.message, "page-error"));
    }
  }

  const offs = [
    onLive("hello", load),
    onLive("board.operator", (m) => applyOperator(m.operator)),
    onLive("board.queue", (m) => applyQueue(m.queue)),
    onLive("board.status", applyStatus),
    onLive("agent.state", (m) => applyAgent(m.agent)),
    onLive("ami.status", (m) => { if (m.ami) ami = m.ami; paintBanners(); }),
    onLinkStatus(paintBanners),
  ];
  const ticker = setInterval(tick, TICK_MS);
  paintBanners();
  load();

  return {
    el,
    title,
    destroy() {
      destroyed = true;
      clearInterval(ticker);
      offs.forEach((off) => off());
    },
  };
}
