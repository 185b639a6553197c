// #/recordings: placeholder until the view is written.

import { h } from "../dom.js";
import { t } from "../i18n.js";

export function renderRecordingsMissing(ctx) {
  const el = h("div", { class: "page", testid: "recordings-page" }, h("h1", { class: "page-title" }, t("nav.calls")));
  return { el, title: t("nav.calls") };
}
