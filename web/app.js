// Entry point: session bootstrap, the main layout (top bar, search sidebar,
// content area), hash routing between views, and — for the whole session —
// the live link, the screen pop and click-to-call.

import { api, setCsrfToken, onUnauthenticated } from "./api.js";
import { h, mount } from "./dom.js";
import { t, onLangChange, applyDocumentLang, setInitialLang } from "./i18n.js";
import { currentRoute, navigate } from "./router.js";
import { renderLogin } from "./views/login.js";
import { createTopbar } from "./views/topbar.js";
import { createSearch } from "./views/search.js";
import { renderHome, renderNotFound } from "./views/home.js";
import { renderClientCard } from "./views/client_card.js";
import { renderClientForm } from "./views/client_form.js";
import { renderImport } from "./views/import.js";
import { renderUsers } from "./views/users.js";
import { renderCalls } from "./views/calls.js";
import { renderLiveCalls } from "./views/live_calls.js";
import { renderTasks } from "./views/tasks.js";
import { renderArchive } from "./views/archive.js";
import { renderOutcomesAdmin } from "./views/outcomes_admin.js";
import { renderBoard } from "./views/board.js";
import { renderRecordingsMissing } from "./views/recordings_missing.js";
import { renderReports } from "./views/reports.js";
import { renderAudit } from "./views/audit.js";
import { renderSettings } from "./views/settings.js";
import { renderOrders, renderOrderPage, renderPipeline } from "./views/orders.js";
import { renderMailings, renderMailing } from "./views/mailings.js";
import { createScreenPop } from "./views/screen_pop.js";
import { connectLive, disconnectLive } from "./live.js";
import { installClickToCall } from "./click_to_call.js";

const root = document.getElementById("app");

const session = { user: null };
let shell = null; // {content, topbar, search}
let currentView = null; // {destroy?}
let searchQuery = "";
let screenPop = null; // lives across page changes and language switches, until logout

// What views embedded outside the page (the screen pop) may use; always the current shell.
const sessionCtx = {
  get user() { return session.user; },
  hasRole: (role) => hasRole(role),
  navigate: (hash) => navigate(hash),
  refreshSearch: () => shell && shell.search.refresh(),
};

const ROLE_RANK = { operator: 1, supervisor: 2, admin: 3 };

/** True when the signed-in user has at least `role`. */
export function hasRole(role) {
  return !!session.user && (ROLE_RANK[session.user.role] || 0) >= ROLE_RANK[role];
}

function setSession(payload) {
  session.user = payload.user;
  setCsrfToken(payload.csrf_token);
}

function destroyView() {
  if (currentView && currentView.destroy) currentView.destroy();
  currentView = null;
}

function destroyShell() {
  destroyView();
  if (shell) {
    searchQuery = shell.search.query();
    shell.topbar.destroy();
    shell.search.destroy();
  }
  shell = null;
}

function startLive() {
  connectLive(session.user);
  if (!screenPop) screenPop = createScreenPop({ me: session.user, ctx: sessionCtx });
}

function stopLive() {
  disconnectLive();
  if (screenPop) screenPop.destroy();
  screenPop = null;
}

function showLogin(message) {
  stopLive();
  destroyShell();
  session.user = null;
  setCsrfToken(null);
  document.title = t("app.title");
  mount(root, renderLogin({
    message,
    onLoggedIn: (payload) => {
      setSession(payload);
      setInitialLang(payload.user && payload.user.language);
      showApp();
    },
  }));
}

function showApp() {
  destroyShell();
  const topbar = createTopbar({
    user: session.user,
    hasRole,
    onLogout: logout,
  });
  const search = createSearch({ initialQuery: searchQuery });
  const content = h("main", { class: "content", id: "content", tabindex: "-1" });
  shell = { topbar, search, content };
  mount(root,
    h("div", { class: "shell" },
      topbar.el,
      h("div", { class: "workspace" },
        h("aside", { class: "sidebar", "aria-label": t("search.label") }, search.el),
        content,
      ),
    ),
  );
  renderRoute();
  startLive();
  import("./views/backup_alarm.js").then((m) => m.startBackupAlarm(root.querySelector(".shell"), session.user)); // backups
}

const VIEWS = {
  "home": () => renderHome(),
  "client": (params, ctx) => renderClientCard(params.id, ctx),
  "client-new": (params, ctx) => renderClientForm(null, ctx),
  "client-edit": (params, ctx) => renderClientForm(params.id, ctx),
  "calls": (params, ctx) => renderCalls(ctx),
  "live": (params, ctx) => renderLiveCalls(ctx),
  "import": (params, ctx) => renderImport(ctx),
  "users": (params, ctx) => renderUsers(ctx),
  "tasks": (params, ctx) => renderTasks(ctx),
  "archive": (params, ctx) => renderArchive(ctx),
  "outcomes": (params, ctx) => renderOutcomesAdmin(ctx),
  "board": (params, ctx) => renderBoard(ctx),
  "recordings": (params, ctx) => renderRecordingsMissing(ctx),
  "reports": (params, ctx) => renderReports(ctx),
  "audit": (params, ctx) => renderAudit(ctx),
  "orders": (params, ctx) => renderOrders(ctx),
  "order": (params, ctx) => renderOrderPage(params.id, ctx),
  "pipeline": (params, ctx) => renderPipeline(ctx),
  "mailings": (params, ctx) => renderMailings(ctx),
  "mailing": (params, ctx) => renderMailing(params.id, ctx),
  "settings": (params, ctx) => renderSettings(params.section, ctx),
};

function renderRoute() {
  if (!shell) return;
  destroyView();
  const route = currentRoute();
  const ctx = { user: session.user, hasRole, navigate, refreshSearch: () => shell && shell.search.refresh() };
  const make = VIEWS[route.name] || (() => renderNotFound());
  const view = make(route.params, ctx);
  currentView = view;
  mount(shell.content, view.el);
  shell.topbar.setRoute(route.name);
  shell.search.setActiveClient(route.name === "client" || route.name === "client-edit" ? Number(route.params.id) : null);
  document.title = view.title ? `${view.title} — ${t("app.title")}` : t("app.title");
}

async function logout() {
  try {
    await api("POST", "/logout", { quiet401: true });
  } catch {
    // The session is gone either way; the login screen is the right place.
  }
  searchQuery = "";
  showLogin();
}

function isTypingTarget(target) {
  return target instanceof HTMLElement &&
    (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

document.addEventListener("keydown", (event) => {
  if (!shell) return;
  if (event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !isTypingTarget(event.target)
      && !document.querySelector("dialog[open]")) {
    event.preventDefault();
    shell.search.focus();
  }
});

window.addEventListener("hashchange", renderRoute);
installClickToCall();

onUnauthenticated(() => {
  if (session.user) showLogin(t("login.expired"));
});

onLangChange(() => {
  if (session.user) showApp();
  else showLogin();
});

async function boot() {
  applyDocumentLang();
  try {
    const me = await api("GET", "/me", { quiet401: true });
    setSession(me);
    setInitialLang(me.user && me.user.language);
    showApp();
  } catch (err) {
    showLogin(err.status === 401 ? null : err.message);
  }
}

boot();
