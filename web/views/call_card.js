// One screen-pop card: a call at this operator's phone and who is on the
// line. It follows the call — ringing → answered (talk timer) → ended (the
// after-call outcome form) — and knows when it should go away: someone else
// answered, the phone stopped ringing, the outcome was saved. A card the
// operator has started working in (typing a new client, picking one of
// several clients) stays until they close it.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { formatDuration, formatNumber } from "../format.js";
import { toast, translatedOr } from "../ui.js";
import { CLOCK_TICK_MS, localClock } from "./client_card.js";
import { newClientForm } from "./client_form.js";
import { candidateList, clientSections, outcomeForm } from "./call_card_parts.js";
import { outcomeButtons } from "./outcome_buttons.js";

const LEAVE_MS = 180;
// How long the card shows where the task went (next attempt at …) after an outcome button.
const RESULT_SHOWN_MS = 6000;
// Outcomes the PBX tells from the hangup cause: preselected among the outcome buttons.
const PBX_OUTCOMES = ["no_answer", "busy", "unavailable", "invalid_number"];

/**
 * createCallCard({message, me, ctx, hooks}) for the first message about a call
 * (usually call.ringing). hooks: onRemove(card), onExpand(card),
 * lookup(number) → {client, candidates} for calls the server did not look up.
 */
export function createCallCard({ message, me, ctx, hooks }) {
  const key = message.call_key;
  let call = message.call || {};
  let number = message.number_e164 || message.number || call.customer_number || null;
  let client = message.client || null;
  let candidates = message.candidates || [];
  // The server looks the number up for call.ringing; other first messages need our own lookup.
  let lookedUp = "client" in message && !!(message.number_e164 || message.number);
  let state = "ringing";
  let endNote = null;     // why a kept card stopped ringing
  let callId = null;
  let linkedClientId = null; // chosen or created by the operator, to attach to the stored call
  let engaged = false;
  let collapsed = false;
  let since = Date.now();
  let removed = false;
  let createForm = null;
  let outcome = null;
  let buttons = null; // the one-click outcomes (GET /api/outcomes) above the form
  let clock = null;
  let clockTimer = null;

  const stateLabel = h("span", { class: "pop-state-label" });
  const timer = h("span", { class: "pop-timer", testid: "call-timer" });
  const collapseButton = h("button", {
    type: "button", class: "icon-btn", testid: "call-collapse", onclick: () => setCollapsed(!collapsed),
  });
  const closeButton = h("button", {
    type: "button", class: "icon-btn", testid: "call-close", title: t("action.close"), "aria-label": t("action.close"),
    onclick: onCloseClick,
  }, "×");
  const head = h("header", { class: "pop-head" },
    h("div", { class: "pop-state", testid: "call-state", role: "status" }, h("span", { class: "pop-dot", "aria-hidden": "true" }), stateLabel, timer),
    h("div", { class: "pop-tools" }, collapseButton, closeButton),
  );
  const who = h("div", { class: "pop-who" });
  const afterSlot = h("div", { class: "pop-after" });
  const body = h("div", { class: "pop-body" });
  const foot = h("footer", { class: "pop-foot" });
  const el = h("article", {
    class: "pop-card", testid: "call-card", role: "region", "aria-label": t("pop.aria"),
    dataset: { callKey: key, state, direction: call.direction || "inbound" },
  }, head, who, h("div", { class: "pop-scroll" }, afterSlot, body), foot);
  el.addEventListener("input", () => { engaged = true; });

  const ticker = setInterval(paintTimer, 1000);

  // ---- painting -----------------------------------------------------------

  function displayName() {
    if (client) return client.name || t("client.unnamed");
    if (candidates.length > 1) return t("pop.several_clients");
    if (!number && call.direction === "outbound") return t("pop.outbound_connecting");
    const callerName = call.direction === "inbound" && call.caller_name;
    return callerName || t("pop.unknown_caller");
  }

  function paintState() {
    el.dataset.state = state;
    el.dataset.direction = call.direction || "inbound";
    const outbound = call.direction === "outbound";
    let label;
    if (state === "ringing") label = outbound ? t("pop.state.outbound_ringing") : t("pop.state.ringing");
    else if (state === "answered") label = t("pop.state.answered");
    else if (endNote) label = endNote;
    else label = t("pop.state.ended");
    stateLabel.textContent = label;
    paintTimer();
  }

  function paintTimer() {
    if (state === "ringing" || state === "answered") timer.textContent = formatDuration((Date.now() - since) / 1000);
    else if (state === "ended" && call.talk_seconds > 0) timer.textContent = t("pop.talked", { time: formatDuration(call.talk_seconds) });
    else timer.textContent = "";
  }

  function paintWho() {
    clearInterval(clockTimer);
    // a client of another operator (own-clients-only): the server sends only the name and whose client it is
    const restricted = !!(client && client.restricted);
    clock = client && !restricted ? localClock(client, { testid: "call-local-time" }) : null;
    if (clock) clockTimer = setInterval(clock.tick, CLOCK_TICK_MS);
    const sub = restricted
      ? t("pop.client_of", { name: (client.assigned_operator && client.assigned_operator.name) || "—" })
      : client ? [client.company, client.city].filter(Boolean).join(" · ") : "";
    mount(who,
      h("div", { class: "pop-id" },
        h("h2", { class: ["pop-name", !client && "pop-name-unknown"], testid: "call-client-name" }, displayName()),
        h("div", { class: "pop-number phone", testid: "call-number" }, number ? formatNumber(number) : "—"),
        sub && h("div", { class: "pop-sub" }, sub),
        client && (client.do_not_call || (client.tags || []).length > 0) && h("div", { class: "pop-badges" },
          client.do_not_call && h("span", { class: "chip chip-danger" }, "⛔ ", t("client.dnc")),
          (client.tags || []).map((tag) => h("span", { class: "chip chip-tag" }, tag)),
        ),
        !client && number && candidates.length === 0 && h("div", { class: "pop-badges" },
          h("span", { class: "chip chip-muted" }, t("pop.not_in_base"))),
      ),
      clock && clock.el,
    );
  }

  function paintBody() {
    if (client && client.restricted) {
      mount(body, h("div", { class: "pop-wait muted", testid: "call-restricted" }, t("pop.restricted_hint")));
      mount(foot);
    } else if (client) {
      mount(body, clientSections(client));
      mount(foot, h("a", {
        class: "btn btn-primary", href: `#/clients/${client.id}`, testid: "call-open-card",
        onclick: () => setCollapsed(true),
      }, t("pop.open_card")));
    } else if (candidates.length > 1) {
      mount(body, candidateList(candidates, pick));
      mount(foot);
    } else if (number) {
      if (!createForm) createForm = newClientForm({ ctx, initial: newClientValues(), onSaved: created, testid: "call-new-client-form" });
      mount(body, h("section", { class: "pop-section" },
        h("h3", { class: "pop-section-title" }, t("pop.new_client_title")), createForm));
      mount(foot);
    } else {
      mount(body, h("div", { class: "pop-wait muted" }, t("pop.connecting_hint")));
      mount(foot);
    }
  }

  function newClientValues() {
    const values = { phones: [{ number, label: "mobile" }] };
    if (call.direction === "inbound" && call.caller_name) values.name = call.caller_name;
    return values;
  }

  function paintAll() {
    paintState();
    paintWho();
    paintBody();
    collapseButton.textContent = collapsed ? "▸" : "▾";
    collapseButton.title = collapsed ? t("pop.expand") : t("pop.collapse");
    collapseButton.setAttribute("aria-label", collapseButton.title);
    collapseButton.setAttribute("aria-expanded", collapsed ? "false" : "true");
    el.classList.toggle("collapsed", collapsed);
  }

  // ---- operator actions ---------------------------------------------------

  function setCollapsed(on) {
    collapsed = on;
    el.classList.toggle("collapsed", on);
    collapseButton.textContent = on ? "▸" : "▾";
    collapseButton.title = on ? t("pop.expand") : t("pop.collapse");
    collapseButton.setAttribute("aria-label", collapseButton.title);
    collapseButton.setAttribute("aria-expanded", on ? "false" : "true");
    if (!on && hooks.onExpand) hooks.onExpand(card);
  }

  function onCloseClick() {
    if (state === "ringing" || state === "answered") {
      // The call is still on: hide the card; it comes back for the outcome.
      el.hidden = true;
      return;
    }
    remove(true);
  }

  async function pick(summary) {
    engaged = true;
    try {
      client = await api("GET", `/clients/${summary.id}`);
      candidates = [];
      linkedClientId = client.id;
      paintWho();
      paintBody();
      linkCall();
    } catch (err) {
      if (err.status !== 401) toast(err.message, "error");
      paintBody();
    }
  }

  async function created(saved) {
    engaged = true;
    client = saved;
    linkedClientId = saved.id;
    createForm = null;
    paintWho();
    paintBody();
    linkCall();
  }

  /** Attach the stored call to the client the operator chose or created. */
  async function linkCall() {
    if (!callId || !linkedClientId) return;
    try {
      await api("PATCH", `/calls/${callId}`, { body: { client_id: linkedClientId } });
    } catch (err) {
      if (err.status !== 401) toast(t("pop.link_failed", { message: err.message }), "error");
    }
  }

  function showOutcome() {
    if (outcome) return;
    outcome = outcomeForm({
      canSave: () => (callId ? null : t("pop.call_not_stored")),
      save: async ({ disposition, note }) => {
        const payload = { disposition };
        if (note) payload.note = note;
        const clientId = linkedClientId || (client && client.id);
        if (clientId) payload.client_id = clientId;
        await api("PATCH", `/calls/${callId}`, { body: payload });
        toast(t("pop.outcome_saved"), "success");
        remove(true);
      },
    });
    buttons = outcomeButtons({
      callId,
      clientId: linkedClientId || (client && client.id) || null,
      preselect: PBX_OUTCOMES.includes(call.outcome) ? call.outcome : null,
      note: () => { const text = outcome.el.querySelector("textarea"); return text ? text.value : ""; },
      scope: el,
      resolveCall: findStoredCall,
      testid: "call-outcome-buttons",
      onSaved: ({ text }) => {
        toast(text, "success");
        outcome.el.hidden = true;
        setTimeout(() => remove(true), RESULT_SHOWN_MS);
      },
    });
    mount(afterSlot, buttons.el, outcome.el);
    // Wrapping up starts here, unless the operator is typing somewhere else.
    const active = document.activeElement;
    const typing = active instanceof HTMLElement && !el.contains(active)
      && (active.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(active.tagName));
    if (!typing) outcome.focus();
  }

  /** The stored call's id when call.ended came before its row was written: the log by linkedid. */
  async function findStoredCall() {
    for (let attempt = 0; attempt < 6 && !callId && !removed; attempt += 1) {
      if (attempt) await new Promise((resolve) => setTimeout(resolve, 500));
      if (!call.linkedid || !call.started_at) return null;
      const rows = (await api("GET", "/calls", { query: { since: call.started_at, limit: 100 } })).items || [];
      const row = rows.find((r) => r.linkedid === call.linkedid);
      if (row) {
        callId = row.id;
        linkCall();
      }
    }
    return callId;
  }

  // ---- the call's messages ------------------------------------------------

  function adopt(message) {
    if (message.call) call = { ...call, ...message.call };
    if (!number && call.customer_number) {
      number = call.customer_number;
      if (!client && !lookedUp) lookup();
    }
    if (!client && message.client) client = message.client;
    if (!client && message.candidates && message.candidates.length) candidates = message.candidates;
  }

  async function lookup() {
    lookedUp = true;
    if (!hooks.lookup || !number) return;
    const found = await hooks.lookup(number);
    if (removed || !found) return;
    if (!client && found.client) client = found.client;
    if (!client && found.candidates.length) candidates = found.candidates;
    paintWho();
    paintBody();
  }

  const card = {
    key,
    el,
    get state() { return state; },
    get call() { return call; },
    get removed() { return removed; },
    get engaged() { return engaged; },

    /** Seed from what the operator clicked (click-to-call): the number and client we dial. */
    seed({ number: dialled, client: known }) {
      if (!number && dialled) number = dialled;
      if (!client && known) client = known;
      lookedUp = true;
      paintWho();
      paintBody();
    },

    ringing(message) {
      adopt(message);
      if (state !== "answered" && state !== "ended") {
        state = "ringing";
      }
      paintAll();
    },

    answeredByMe(message) {
      adopt(message);
      state = "answered";
      endNote = null;
      since = Date.now();
      el.hidden = false;
      paintAll();
    },

    /** Someone else took the call; returns true when the card went away. */
    answeredElsewhere(message) {
      adopt(message);
      if (state !== "ringing") return false;
      const name = message.answered_by && message.answered_by.name;
      if (!engaged) {
        remove();
        return true;
      }
      state = "ended";
      endNote = name ? t("pop.taken_by", { name }) : t("pop.state.answered_elsewhere");
      paintAll();
      return false;
    },

    /** My phone stopped ringing; returns true when the card went away. */
    stopped(message) {
      if (state !== "ringing") return false;
      if (!engaged) {
        remove();
        return true;
      }
      state = "ended";
      endNote = translatedOr("pop.stop." + message.reason, t("pop.state.missed"));
      paintAll();
      return false;
    },

    ended(message, mine) {
      adopt(message);
      if (message.call && message.call.id) callId = message.call.id;
      if (buttons) buttons.setCall(callId);
      // a call I placed (click-to-call) gets its outcome also when nobody answered
      const placedByMe = !!(call.placed_by && me && call.placed_by.user_id === me.id);
      if (mine || state === "answered" || placedByMe) {
        state = "ended";
        endNote = null;
        el.hidden = false;
        paintAll();
        setCollapsed(false);
        showOutcome();
      } else if (engaged) {
        state = "ended";
        if (!endNote) endNote = t("pop.state.missed");
        paintAll();
      } else {
        remove();
        return;
      }
      linkCall();
    },

    collapse(on) { setCollapsed(on); },

    remove,

    /** Repaint in the current language (keeps typed text in the forms). */
    repaint() {
      if (!removed) paintAll();
    },
  };

  /** Take the card away; `byOperator`: they closed it or saved its outcome (other tabs follow). */
  function remove(byOperator = false) {
    if (removed) return;
    removed = true;
    state = "closed";
    el.dataset.state = "closed";
    clearInterval(ticker);
    clearInterval(clockTimer);
    if (buttons) buttons.destroy();
    el.classList.add("leaving");
    setTimeout(() => el.remove(), LEAVE_MS);
    if (hooks.onRemove) hooks.onRemove(card, byOperator);
  }

  paintAll();
  if (!lookedUp && number) lookup();
  return card;
}
