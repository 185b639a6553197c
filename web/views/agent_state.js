// The operator's state in the top bar: a label in the state's colour with the
// time since it began ("Готов · 12:03", "Пауза: обед · 0:15", "Разговор",
// "Постобработка 0:42"); one click toggles ready/pause, the ▾ menu picks a
// pause reason or offline. Keys: F9 toggles ready/pause, Alt+1…9 pauses with
// the n-th reason. Follows agent.state pushes (the phone, Asterisk, wrap-up).
// Shown to operators and to anyone with a phone (staff without one have none).

import { api } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { onLive } from "../live.js";
import { toast, translatedOr } from "../ui.js";

const COLOURS = {
  offline: "#6b7686", ready: "#1f9d55", paused: "#c77c02",
  ringing: "#2f7fd8", talking: "#c2410c", wrap_up: "#7c5cc4",
};
const TICK_MS = 1000;

function clock(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  const mm = String(Math.floor(s / 60) % 60);
  const ss = String(s % 60).padStart(2, "0");
  return hours ? `${hours}:${mm.padStart(2, "0")}:${ss}` : `${mm}:${ss}`;
}

export function reasonLabel(reason) {
  return translatedOr("agent.reason." + reason, reason);
}

/** The label of an agent (from GET /api/agents or a push) at `now`. */
export function agentLabel(agent, now = Date.now()) {
  const state = agent.state || "offline";
  const name = t("agent.state." + state);
  const elapsed = agent.since ? (now - Date.parse(agent.since)) / 1000 : null;
  if (state === "paused") {
    const head = agent.reason ? `${name}: ${reasonLabel(agent.reason)}` : name;
    return elapsed === null ? head : `${head} · ${clock(elapsed)}`;
  }
  if (state === "wrap_up") {
    if (agent.wrap_up_until) return `${name} ${clock((Date.parse(agent.wrap_up_until) - now) / 1000)}`;
    return elapsed === null ? name : `${name} ${clock(elapsed)}`;
  }
  if (state === "ringing" || state === "talking") return name;
  return elapsed === null ? name : `${name} · ${clock(elapsed)}`;
}

/** Whether the user has a state to show: operators, and anyone with a phone. */
export function isAgent(user) {
  return user.role === "operator" || !!user.extension;
}

/** createAgentState({user}) → {el, destroy()}; an empty element for staff with no phone. */
export function createAgentState({ user }) {
  if (!isAgent(user)) return { el: h("span", { hidden: true, testid: "agent-state-none" }), destroy() {} };
  let agent = { user_id: user.id, state: "offline", reason: null, since: null, chosen: "offline" };
  let reasons = [];
  let lastReason = null;
  let busy = false;
  let destroyed = false;

  const dot = h("span", { class: "agent-state-dot", "aria-hidden": "true" });
  const label = h("span", { class: "agent-state-label", testid: "agent-state-label" });
  Object.assign(label.style, { maxWidth: "190px", overflow: "hidden", textOverflow: "ellipsis", whiteSpace: "nowrap" });
  const toggle = h("button", {
    type: "button", class: "btn btn-sm agent-state-toggle", testid: "agent-state-toggle",
    "aria-keyshortcuts": "F9", onclick: () => toggleReady(),
  }, dot, label);
  const menuButton = h("button", {
    type: "button", class: "btn btn-sm agent-state-more", testid: "agent-state-menu",
    "aria-haspopup": "menu", "aria-expanded": "false", title: t("agent.menu"),
    onclick: () => (menu.hidden ? openMenu() : closeMenu()),
  }, "▾");
  const menu = h("div", { class: "agent-state-reasons", role: "menu", testid: "agent-reasons", hidden: true });
  const el = h("div", { class: "agent-state", testid: "agent-state", role: "group", dataset: { state: "offline" } },
    toggle, menuButton, menu);

  // the look lives here, set through the CSSOM (allowed by the page's CSP)
  Object.assign(el.style, { position: "relative", display: "inline-flex", alignItems: "center", gap: "2px" });
  Object.assign(toggle.style, { color: "#fff", border: "0", display: "inline-flex", alignItems: "center", gap: "6px", fontVariantNumeric: "tabular-nums" });
  Object.assign(menuButton.style, { color: "#fff", border: "0" });
  Object.assign(dot.style, { width: "8px", height: "8px", borderRadius: "50%", background: "#fff", opacity: ".85" });
  Object.assign(menu.style, {
    position: "absolute", top: "calc(100% + 4px)", left: "0", zIndex: "50", minWidth: "240px",
    background: "#fff", color: "#1b2430", borderRadius: "6px", padding: "4px",
    boxShadow: "0 6px 24px rgba(0,0,0,.25)",
  });

  function render() {
    const state = agent.state || "offline";
    el.dataset.state = state;
    el.dataset.reason = agent.reason || "";
    label.textContent = agentLabel(agent);
    const colour = COLOURS[state] || COLOURS.offline;
    toggle.style.background = colour;
    menuButton.style.background = colour;
    const keys = reasons.slice(0, 9).map((r, i) => `Alt+${i + 1} — ${reasonLabel(r)}`).join("\n");
    toggle.title = `${t("agent.toggle_hint")}${keys ? "\n" + keys : ""}`;
    toggle.setAttribute("aria-label", `${t("agent.title")}: ${label.textContent}`);
  }

  function item(text, testid, onpick, key) {
    const button = h("button", {
      type: "button", role: "menuitem", class: "agent-reason", testid,
      onclick: () => { closeMenu(); onpick(); },
    }, text, key ? h("kbd", { class: "agent-reason-key" }, key) : null);
    Object.assign(button.style, {
      display: "flex", justifyContent: "space-between", gap: "12px", width: "100%", textAlign: "left",
      background: "transparent", border: "0", padding: "6px 10px", borderRadius: "4px", cursor: "pointer", color: "inherit",
      whiteSpace: "nowrap", alignItems: "center",
    });
    return button;
  }

  function openMenu() {
    menu.replaceChildren(
      item(t("agent.action.ready"), "agent-ready", () => choose("ready"), "F9"),
      ...reasons.map((reason, i) => item(`${t("agent.state.paused")}: ${reasonLabel(reason)}`,
        "agent-reason-" + reason, () => choose("paused", reason), i < 9 ? `Alt+${i + 1}` : null)),
      item(t("agent.action.offline"), "agent-offline", () => choose("offline")),
    );
    menu.hidden = false;
    menuButton.setAttribute("aria-expanded", "true");
    const first = menu.querySelector("button");
    if (first) first.focus();
  }

  function closeMenu() {
    menu.hidden = true;
    menuButton.setAttribute("aria-expanded", "false");
  }

  function apply(next) {
    if (!next || next.user_id !== user.id) return;
    agent = next;
    if (agent.chosen === "paused" && agent.chosen_reason) lastReason = agent.chosen_reason;
    render();
  }

  async function choose(state, reason) {
    if (busy) return;
    busy = true;
    try {
      const body = state === "paused" ? { state, reason: reason || lastReason || reasons[0] } : { state };
      const answer = await api("POST", "/agents/me/state", { body });
      if (destroyed) return;
      apply(answer);
      if (answer.pbx === "pending") toast(t("agent.pbx_pending"), "info");
      else if (answer.pbx === "refused") toast(t("agent.pbx_refused"), "error");
    } catch (err) {
      toast(err.message || t("error.network"), "error");
    } finally {
      busy = false;
    }
  }

  function toggleReady() {
    const chosen = agent.chosen || agent.state;
    if (chosen === "ready") choose("paused", lastReason || reasons[0]);
    else choose("ready");
  }

  async function load() {
    try {
      const data = await api("GET", "/agents");
      if (destroyed || !data) return;
      reasons = data.pause_reasons || [];
      const mine = (data.items || []).find((a) => a.user_id === user.id);
      if (mine) apply(mine);
      else render();
    } catch {
      render();
    }
  }

  function onKey(event) {
    if (event.key === "F9" && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      toggleReady();
      return;
    }
    if (event.altKey && !event.ctrlKey && !event.metaKey && /^Digit[1-9]$/.test(event.code)) {
      const reason = reasons[Number(event.code.slice(5)) - 1];
      if (reason) {
        event.preventDefault();
        choose("paused", reason);
      }
      return;
    }
    if (event.key === "Escape" && !menu.hidden) closeMenu();
  }

  function onOutside(event) {
    if (!menu.hidden && !el.contains(event.target)) closeMenu();
  }

  document.addEventListener("keydown", onKey);
  document.addEventListener("click", onOutside);
  const offs = [
    onLive("agent.state", (message) => apply(message.agent)),
    onLive("hello", () => load()),  // after a reconnect: what changed meanwhile
  ];
  const timer = setInterval(() => { if (!destroyed) label.textContent = agentLabel(agent); }, TICK_MS);
  render();
  load();

  return {
    el,
    destroy() {
      destroyed = true;
      clearInterval(timer);
      document.removeEventListener("keydown", onKey);
      document.removeEventListener("click", onOutside);
      offs.forEach((off) => off());
    },
  };
}
