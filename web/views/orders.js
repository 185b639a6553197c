// Orders (#/orders list, #/orders/<id> page, #/pipeline board per shop).

import { h } from "../dom.js";
import { t } from "../i18n.js";

export function renderOrders(ctx) {
  return { el: h("div", { class: "page", testid: "orders-page" }, h("h1", { class: "page-title" }, t("nav.orders"))) };
}

export function renderOrderPage(id, ctx) {
  return { el: h("div", { class: "page", testid: "order-page" }) };
}

export function renderPipeline(ctx) {
  return { el: h("div", { class: "page", testid: "pipeline-page" }) };
}
