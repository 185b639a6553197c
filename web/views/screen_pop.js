// The screen pop: a layer over every page where a card opens by itself when
// this operator's phone rings, newest on top. It routes the live call
// messages to the right card and decides which calls are this operator's
// business (supervisors watching every call also hear about other phones).
// While one of its cards rings (inbound, not hidden by the operator) the
// ringer plays the ring, blinks the title and shows a desktop notification.
// After the live link comes back the server sends the calls ringing at or in
// progress with this phone again, so a call that rang meanwhile still pops.

import { api } from "../api.js";
import { h } from "../dom.js";
import { t, onLangChange } from "../i18n.js";
import { isWatchingAll, onLive } from "../live.js";
import { takeRecentOriginate } from "../click_to_call.js";
import { createRinger } from "../ring.js";
import { toast } from "../ui.js";
import { createCallCard } from "./call_card.js";

// The name of who took the call arrives just after "stopped ringing".
const TAKEN_TOAST_WAIT_MS = 1500;
const TAB_CHANNEL = "callcenter.screen-pop";

/** Start the screen pop for `me` ({id, ...}); returns {destroy()}. */
export function createScreenPop({ me, ctx }) {
  const layer = h("div", { class: "pop-layer", testid: "pop-layer" });
  document.body.appendChild(layer);
  const cards = new Map();     // call key -> card
  const takenPending = new Map(); // call key -> timer of the generic "taken elsewhere" toast
  const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(TAB_CHANNEL) : null;
  const ringer = createRinger();

  /** What rings is read from the cards themselves: any change of theirs is followed at once. */
  function syncRing() {
    const ringing = [...layer.querySelectorAll("[data-testid=call-card][data-state=ringing]")]
      .filter((el) => !el.hidden && el.dataset.direction !== "outbound")
      .map((el) => {
        const name = el.querySelector("[data-testid=call-client-name]");
        return { key: el.dataset.callKey, name: name ? name.textContent : "" };
      });
    ringer.set(ringing);
  }
  const ringWatch = new MutationObserver(syncRing);
  ringWatch.observe(layer, {
    subtree: true, childList: true, characterData: true, attributes: true,
    attributeFilter: ["data-state", "data-direction", "hidden"],
  });

  const hooks = {
    lookup,
    onExpand: (card) => {
      // One expanded card at a time keeps the name readable at a glance.
      cards.forEach((other) => { if (other !== card) other.collapse(true); });
    },
    onRemove: (card, byOperator) => {
      if (cards.get(card.key) === card) cards.delete(card.key);
      if (byOperator && channel) channel.postMessage({ type: "dismissed", key: card.key });
    },
  };

  function isMe(person) {
    return !!person && person.user_id === me.id;
  }

  function rungHere(message) {
    if (!isWatchingAll()) return true;
    const call = message.call || {};
    // a call dialled on my own softphone pops my card although my phone never rang
    return (call.operators_rung || []).some(isMe) || isMe(call.placed_by);
  }

  function open(message) {
    const card = createCallCard({ message, me, ctx, hooks });
    cards.forEach((other) => other.collapse(true));
    cards.set(card.key, card);
    layer.prepend(card.el);
    return card;
  }

  function live(key) {
    const card = cards.get(key);
    return card && !card.removed ? card : null;
  }

  function onRinging(message) {
    if (!rungHere(message)) return;
    const existing = live(message.call_key);
    if (existing) {
      existing.ringing(message);
      return;
    }
    const card = open(message);
    const call = message.call || {};
    if (call.direction === "outbound" && !message.number_e164 && !call.customer_number) {
      const dialled = takeRecentOriginate();
      if (dialled) seedFromClick(card, dialled);
    }
  }

  async function seedFromClick(card, dialled) {
    card.seed({ number: dialled.number });
    if (!dialled.clientId) return;
    try {
      const client = await api("GET", `/clients/${dialled.clientId}`);
      if (!card.removed) card.seed({ client });
    } catch {
      // The number is enough to go on; the client appears once the call connects.
    }
  }

  function onAnswered(message) {
    const mine = isMe(message.answered_by);
    let card = live(message.call_key);
    if (!card) {
      const waiting = takenPending.get(message.call_key);
      if (waiting && !mine) {
        clearTimeout(waiting);
        takenPending.delete(message.call_key);
        const name = message.answered_by && message.answered_by.name;
        toast(name ? t("pop.taken_by", { name }) : t("pop.state.answered_elsewhere"), "info");
      }
      if (!mine) return;
      // A call I am in without a card yet (the page was reloaded, the link came back): open it now.
      card = open(message);
    }
    // the server repeats a call I am in after a reconnect: the talk timer keeps running
    if (mine && card.state === "answered") return;
    if (mine) card.answeredByMe(message);
    else card.answeredElsewhere(message);
  }

  function onStopped(message) {
    const card = live(message.call_key);
    if (!card) return;
    const gone = card.stopped(message);
    if (gone && message.reason === "answered_elsewhere") {
      takenPending.set(message.call_key, setTimeout(() => {
        takenPending.delete(message.call_key);
        toast(t("pop.state.answered_elsewhere"), "info");
      }, TAKEN_TOAST_WAIT_MS));
    }
  }

  function onEnded(message) {
    const call = message.call || {};
    const mine = isMe(call.answered_by);
    let card = live(message.call_key);
    if (!card) {
      if (!mine) return;
      card = open(message);
    }
    card.ended(message, mine);
  }

  /** Who owns `number`: one client (full card), several (summaries) or nobody. */
  async function lookup(number) {
    try {
      const data = await api("GET", "/clients", { query: { q: number, limit: 10 } });
      const hits = (data.items || []).filter((c) => c.matched_on === "phone"
        || (c.phones || []).some((p) => p.e164 === number));
      if (hits.length === 1) return { client: await api("GET", `/clients/${hits[0].id}`), candidates: [] };
      return { client: null, candidates: hits.length > 1 ? hits : [] };
    } catch {
      return null;
    }
  }

  /**
   * After the link comes back: calls that ended while it was down have missed
   * their call.ended; the call log tells which, so their cards move on.
   */
  async function catchUp() {
    const stale = [...cards.values()].filter((card) => !card.removed && (card.state === "ringing" || card.state === "answered"));
    if (!stale.length) return;
    const since = stale.map((card) => card.call.started_at).filter(Boolean).sort()[0];
    let rows;
    try {
      rows = (await api("GET", "/calls", { query: { since, limit: 100 } })).items || [];
    } catch {
      return; // The operator can still close the cards by hand.
    }
    for (const card of stale) {
      const row = rows.find((r) => r.linkedid && r.linkedid === card.call.linkedid);
      if (!row || card.removed) continue;
      const mine = row.answered_by_user_id === me.id;
      card.ended({
        call_key: card.key,
        call: {
          id: row.id, outcome: row.outcome, talk_seconds: row.talk_seconds, ended_at: row.ended_at,
          answered_by: row.answered_by ? { endpoint: row.answered_by, user_id: row.answered_by_user_id, name: null } : null,
        },
      }, mine);
    }
  }

  let greeted = false;
  function onHello() {
    if (greeted) catchUp();
    greeted = true;
  }

  if (channel) {
    channel.onmessage = (event) => {
      const data = event.data || {};
      if (data.type === "dismissed") {
        const card = live(data.key);
        if (card && card.state === "ended") card.remove();
      }
    };
  }

  const offs = [
    onLive("hello", onHello),
    onLive("call.ringing", onRinging),
    onLive("call.answered", onAnswered),
    onLive("call.stopped", onStopped),
    onLive("call.ended", onEnded),
    onLangChange(() => cards.forEach((card) => card.repaint())),
  ];

  return {
    destroy() {
      offs.forEach((off) => off());
      ringWatch.disconnect();
      ringer.destroy();
      takenPending.forEach((timer) => clearTimeout(timer));
      cards.forEach((card) => card.remove());
      cards.clear();
      if (channel) channel.close();
      layer.remove();
    },
  };
}
