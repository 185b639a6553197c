// Settings › Backups (filled in by its feature).

import { h } from "../../dom.js";

export function renderBackupsSection(ctx) {
  return { el: h("div", { testid: "settings-backups-empty" }) };
}
