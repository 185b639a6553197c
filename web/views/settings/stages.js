// Settings › Stages (filled in by its feature).

import { h } from "../../dom.js";

export function renderStagesSection(ctx) {
  return { el: h("div", { testid: "settings-stages-empty" }) };
}
