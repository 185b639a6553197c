// The workspace shown before a client is opened — the callbacks owed after
// missed calls, then the search hint — and the 404 view.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { onLive } from "../live.js";
import { errorBanner, loading, panel } from "../ui.js";
import { taskList } from "./call_parts.js";
import { exportButton } from "./export_xlsx.js";

const TASKS_SHOWN = 50;

const SHORTCUTS = [
  ["/", "shortcut.search"],
  ["↑ ↓  Enter", "shortcut.open"],
  ["Esc", "shortcut.clear"],
  ["Ctrl + Enter", "shortcut.submit"],
];

export function renderHome() {
  const tasks = callbacksPanel();
  return {
    destroy: tasks.destroy,
    el: h("div", { class: "home", testid: "home" },
      tasks.el,
      h("div", { class: "home-card" },
        h("h1", null, t("home.title")),
        h("p", { class: "muted" }, t("home.text")),
        h("a", { class: "btn btn-primary", href: "#/clients/new" }, "+ ", t("client.new")),
        " ", exportButton("clients"),
        h("h2", null, t("home.shortcuts")),
        h("dl", { class: "shortcuts" },
          SHORTCUTS.map(([keys, label]) => [h("dt", null, h("kbd", null, keys)), h("dd", null, t(label))]),
        ),
      ),
    ),
  };
}

export function renderNotFound() {
  return {
    title: t("notfound.title"),
    el: h("div", { class: "home", testid: "not-found" },
      h("div", { class: "home-card" },
        h("h1", null, t("notfound.title")),
        h("a", { href: "#/" }, t("notfound.back")),
      ),
    ),
  };
}

/** Open callback tasks, oldest first, each with a call button; refreshed when a call ends. */
function callbacksPanel() {
  const body = h("div", null, loading());
  const count = h("span", { class: "chip chip-muted", testid: "tasks-count" });
  const el = panel({ title: t("tasks.callbacks_title"), tools: count, testid: "tasks-panel", className: "home-tasks", flush: true }, body);
  let destroyed = false;

  async function load() {
    try {
      const data = await api("GET", "/tasks", { query: { status: "open", kind: "missed_call", limit: TASKS_SHOWN } });
      if (destroyed) return;
      count.textContent = String(data.total ?? (data.items || []).length);
      mount(body, taskList(data.items || [], { testid: "tasks-list", clientLink: true }));
    } catch (err) {
      if (destroyed || err.status === 401) return;
      mount(body, errorBanner(err.message, "tasks-error"));
    }
  }

  let timer = null;
  const later = () => { clearTimeout(timer); timer = setTimeout(load, 500); };
  const offs = [onLive("call.ended", later), onLive("tasks.changed", later)];
  load();
  return { el, destroy() { destroyed = true; clearTimeout(timer); offs.forEach((off) => off()); } };
}
