// Top bar: brand, navigation, PBX (AMI) link status, the live link's
// status, user, language, logout.

import { h } from "../dom.js";
import { t, getLang, setLang, LANGUAGES } from "../i18n.js";
import { isPbxDown, lastAmiStatus, liveState, onLive, onLiveState } from "../live.js";
import { ringToggle } from "../ring.js";
import { translatedOr } from "../ui.js";
import { createNextTask } from "./next_task.js";
import { createAgentState } from "./agent_state.js";

const HEALTH_EVERY_MS = 15000;

/** <select data-testid="lang-switch"> bound to the UI language. */
export function languageSwitch() {
  return h("select", {
    class: "lang-switch", testid: "lang-switch", "aria-label": t("lang.label"), title: t("lang.label"),
    onchange: (event) => setLang(event.target.value),
  }, LANGUAGES.map((code) => h("option", { value: code, selected: code === getLang() }, t("lang." + code))));
}

/** The AMI dot; polls GET /api/health (no auth needed) and follows ami.status pushes. */
function amiIndicator() {
  const dot = h("span", { class: "dot" });
  const label = h("span", { class: "ami-label" });
  const el = h("div", { class: "ami", testid: "ami-status", role: "status", dataset: { status: "unknown" } }, dot, label);
  let timer = null;
  let stopped = false;

  function show(status, detail) {
    el.dataset.status = status;
    const text = translatedOr("ami.status." + status, status);
    // a PBX out of reach is said in words: calls cannot be placed
    label.textContent = isPbxDown(status) ? t("screen.pbx_down") : t("ami.short");
    el.title = detail ? `${t("ami.title")}: ${text} — ${detail}` : `${t("ami.title")}: ${text}`;
    el.setAttribute("aria-label", el.title);
  }

  async function poll() {
    try {
      const response = await fetch("/api/health", { credentials: "same-origin", headers: { Accept: "application/json" } });
      const data = await response.json();
      const ami = (data && data.ami) || {};
      show(ami.status || "unknown", ami.last_error);
    } catch {
      show("unreachable", t("ami.unreachable"));
    }
    if (!stopped) timer = setTimeout(poll, HEALTH_EVERY_MS);
  }

  function pushed(message) {
    const ami = message.ami || {};
    show(ami.status || ami.state || "unknown", ami.last_error);
  }

  const known = lastAmiStatus();
  if (known) show(known.status || known.state || "unknown", known.last_error);
  else show("unknown");
  poll();
  const offs = [onLive("hello", pushed), onLive("ami.status", pushed)];
  return { el, destroy: () => { stopped = true; clearTimeout(timer); offs.forEach((off) => off()); } };
}

/** Shown only while the live link is down: calls will not pop up until it is back. */
function liveIndicator() {
  const el = h("div", { class: "live-link", testid: "live-link", role: "status", hidden: true },
    h("span", { class: "live-link-icon", "aria-hidden": "true" }, "⟳"), t("screen.offline"));
  function show(state) {
    el.dataset.state = state;
    el.hidden = state !== "retrying";
    el.title = t("live.link_down_hint");
  }
  show(liveState());
  return { el, destroy: onLiveState(show) };
}

export function createTopbar({ user, hasRole, onLogout }) {
  const links = [
    { route: ["home", "client", "client-new", "client-edit"], hash: "#/", label: t("nav.clients"), show: true },
    { route: ["calls"], hash: "#/calls", label: t("nav.calls"), show: true, testid: "nav-calls" },
    { route: ["orders", "order", "pipeline"], hash: "#/orders", label: t("nav.orders"), show: true, testid: "nav-orders" },
    { route: ["tasks", "archive", "outcomes"], hash: "#/tasks", label: t("nav.tasks"), show: true, testid: "nav-tasks" },
    { route: ["live"], hash: "#/live", label: t("nav.live"), show: hasRole("supervisor"), testid: "nav-live" },
    { route: ["board"], hash: "#/board", label: t("nav.board"), show: hasRole("supervisor"), testid: "nav-board" },
    { route: ["reports"], hash: "#/reports", label: t("nav.reports"), show: hasRole("supervisor"), testid: "nav-reports" },
    { route: ["import"], hash: "#/import", label: t("nav.import"), show: hasRole("supervisor"), testid: "nav-import" },
    { route: ["mailings", "mailing"], hash: "#/mailings", label: t("nav.mailings"), show: hasRole("supervisor"), testid: "nav-mailings" },
    { route: ["users"], hash: "#/users", label: t("nav.users"), show: hasRole("admin"), testid: "nav-users" },
    { route: ["settings"], hash: "#/settings", label: t("nav.settings"), show: hasRole("admin"), testid: "nav-settings" },
    { route: ["audit"], hash: "#/audit", label: t("nav.audit"), show: hasRole("supervisor"), testid: "nav-audit" },
  ].filter((link) => link.show);

  const anchors = links.map((link) => ({
    link,
    el: h("a", { href: link.hash, class: "nav-link", testid: link.testid || "nav-clients" }, link.label),
  }));
  const ami = amiIndicator();
  const liveLink = liveIndicator();
  const nextTask = createNextTask({ user });
  const agentState = createAgentState({ user });
  const ring = ringToggle();

  const el = h("header", { class: "topbar" },
    h("a", { class: "brand", href: "#/", title: t("app.name") },
      h("span", { class: "brand-mark", "aria-hidden": "true" }, "☎"),
      h("span", { class: "brand-name" }, t("app.name")),
    ),
    h("nav", { class: "nav", "aria-label": t("nav.label") }, anchors.map((a) => a.el)),
    agentState.el,
    nextTask.el,
    h("div", { class: "topbar-spacer" }),
    liveLink.el,
    ami.el,
    ring.el,
    h("div", { class: "user", testid: "current-user" },
      h("span", { class: "user-name" }, user.name || user.login),
      h("span", { class: "user-role" }, translatedOr("role." + user.role, user.role) + (user.extension ? ` · ${user.extension}` : "")),
    ),
    languageSwitch(),
    h("button", { type: "button", class: "btn btn-ghost", testid: "logout", onclick: onLogout }, t("action.logout")),
  );

  return {
    el,
    setRoute(name) {
      for (const { link, el: a } of anchors) {
        const active = link.route.includes(name);
        a.classList.toggle("active", active);
        if (active) a.setAttribute("aria-current", "page");
        else a.removeAttribute("aria-current");
      }
    },
    destroy: () => { agentState.destroy(); nextTask.destroy(); ami.destroy(); liveLink.destroy(); ring.destroy(); },
  };
}
