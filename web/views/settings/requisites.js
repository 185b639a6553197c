// Settings › Requisites (filled in by its feature).

import { h } from "../../dom.js";

export function renderRequisitesSection(ctx) {
  return { el: h("div", { testid: "settings-requisites-empty" }) };
}
