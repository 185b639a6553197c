// The empty workspace shown before a client is opened, and the 404 view.

import { h } from "../dom.js";
import { t } from "../i18n.js";

const SHORTCUTS = [
  ["/", "shortcut.search"],
  ["↑ ↓  Enter", "shortcut.open"],
  ["Esc", "shortcut.clear"],
  ["Ctrl + Enter", "shortcut.submit"],
];

export function renderHome() {
  return {
    el: h("div", { class: "home", testid: "home" },
      h("div", { class: "home-card" },
        h("h1", null, t("home.title")),
        h("p", { class: "muted" }, t("home.text")),
        h("a", { class: "btn btn-primary", href: "#/clients/new" }, "+ ", t("client.new")),
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
