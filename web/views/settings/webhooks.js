// Settings › Webhooks (filled in by its feature).

import { h } from "../../dom.js";

export function renderWebhooksSection(ctx) {
  return { el: h("div", { testid: "settings-webhooks-empty" }) };
}
