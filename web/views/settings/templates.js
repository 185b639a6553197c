// Settings › Templates (filled in by its feature).

import { h } from "../../dom.js";

export function renderTemplatesSection(ctx) {
  return { el: h("div", { testid: "settings-templates-empty" }) };
}
