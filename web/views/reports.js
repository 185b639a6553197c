// #/reports: placeholder until the view is written.

import { h } from "../dom.js";
import { t } from "../i18n.js";

export function renderReports(ctx) {
  const el = h("div", { class: "page", testid: "reports-page" }, h("h1", { class: "page-title" }, t("nav.reports")));
  return { el, title: t("nav.reports") };
}
