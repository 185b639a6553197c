// Settings (#/settings, #/settings/<section>, admins): one page with a section per part of the
// shop's set-up. Each section is its own module exporting render(ctx) → {el, destroy?}.

import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { errorBanner } from "../ui.js";
import { renderStagesSection } from "./settings/stages.js";
import { renderTemplatesSection } from "./settings/templates.js";
import { renderRequisitesSection } from "./settings/requisites.js";
import { renderWebhooksSection } from "./settings/webhooks.js";
import { renderBackupsSection } from "./settings/backups.js";

// [section key, i18n key of its tab, render]; the first is the default
const SECTIONS = [
  ["stages", "settings.tab.stages", renderStagesSection],
  ["templates", "settings.tab.templates", renderTemplatesSection],
  ["requisites", "settings.tab.requisites", renderRequisitesSection],
  ["webhooks", "settings.tab.webhooks", renderWebhooksSection],
  ["backups", "settings.tab.backups", renderBackupsSection],
];

export function renderSettings(sectionKey, ctx) {
  const section = SECTIONS.find(([key]) => key === sectionKey) || SECTIONS[0];
  const body = h("div", { class: "settings-body", testid: `settings-${section[0]}` });
  const el = h("div", { class: "page page-settings", testid: "settings-page" },
    h("div", { class: "page-head" }, h("h1", { class: "page-title" }, t("settings.title"))),
    h("nav", { class: "tabs settings-tabs", "aria-label": t("settings.title") },
      ...SECTIONS.map(([key, label]) => h("a", {
        href: `#/settings/${key}`, class: key === section[0] ? "tab active" : "tab",
        "aria-current": key === section[0] ? "page" : null, testid: `settings-tab-${key}`,
      }, t(label)))),
    body,
  );
  if (!ctx.hasRole("admin")) {
    mount(body, errorBanner(t("error.code.forbidden"), "page-error"));
    return { el, title: t("settings.title") };
  }
  const view = section[2](ctx);
  mount(body, view.el);
  return { el, title: `${t(section[1])} — ${t("settings.title")}`, destroy: () => view.destroy && view.destroy() };
}
