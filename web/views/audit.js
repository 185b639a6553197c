// #/audit: placeholder until the view is written.

import { h } from "../dom.js";
import { t } from "../i18n.js";

export function renderAudit(ctx) {
  const el = h("div", { class: "page", testid: "audit-page" }, h("h1", { class: "page-title" }, t("nav.audit")));
  return { el, title: t("nav.audit") };
}
