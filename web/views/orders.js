// Orders: #/orders (a list filtered by shop, stage and number, 50 a page), #/orders/<id> (the
// order page, order_page.js) and #/pipeline (the board, pipeline_board.js).

import { api } from "../api.js";
import { debounce, h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { formatDateTime, formatMoney } from "../format.js";
import { createPager, emptyState, errorBanner, panel } from "../ui.js";
import { loadShops, loadStages, stageChip, stageName } from "./pipeline_common.js";
import { exportButton } from "./export_xlsx.js";

export { renderOrderPage } from "./order_page.js";
export { renderPipeline } from "./pipeline_board.js";

const filters = { shop_id: "", stage: "", q: "" };

export function renderOrders(ctx) {
  const shop = h("select", { testid: "orders-shop", "aria-label": t("order.shop"), onchange: () => { filters.shop_id = shop.value; filters.stage = ""; fillStages(); pager.first(); } },
    h("option", { value: "" }, t("pipeline.all_shops")));
  const stage = h("select", { testid: "orders-stage", "aria-label": t("pipeline.stage"), onchange: () => { filters.stage = stage.value; pager.first(); } },
    h("option", { value: "" }, t("pipeline.all_stages")));
  const search = h("input", { type: "search", testid: "orders-search", value: filters.q, placeholder: t("pipeline.search_number"), "aria-label": t("pipeline.search_number"),
    oninput: debounce(() => { filters.q = search.value.trim(); pager.first(); }, 300) });
  const errors = h("div");

  async function fillStages() {
    mount(stage, h("option", { value: "" }, t("pipeline.all_stages")));
    if (!filters.shop_id) return;
    try {
      const stages = await loadStages(filters.shop_id);
      for (const s of stages) stage.append(h("option", { value: s.code, selected: s.code === filters.stage }, stageName(s)));
    } catch (err) {
      mount(errors, errorBanner(err.message, "orders-error"));
    }
  }

  const pager = createPager({
    testid: "orders-pager",
    load: ({ offset, limit, signal }) => api("GET", "/orders", { query: { ...filters, offset, limit }, signal }),
    empty: () => emptyState(t("pipeline.no_orders"), "orders-empty"),
    render: (items) => h("table", { class: "table", testid: "orders-table" },
      h("thead", null, h("tr", null, h("th", null, t("order.number")), h("th", null, t("order.shop")), h("th", null, t("pipeline.stage")),
        h("th", null, t("pipeline.tracking")), h("th", { class: "num" }, t("order.total")), h("th", null, t("order.created")))),
      h("tbody", null, items.map((o) => h("tr", { testid: "orders-row", dataset: { id: o.id } },
        h("td", { class: "mono" }, h("a", { href: `#/orders/${o.id}` }, o.number)),
        h("td", null, o.shop.name), h("td", null, stageChip(o.stage)),
        h("td", { class: "mono" }, o.tracking_number || ""),
        h("td", { class: "num nowrap" }, formatMoney(o.total, o.currency)),
        h("td", { class: "nowrap muted" }, formatDateTime(o.created_at)))))),
  });

  loadShops().then((shops) => {
    for (const s of shops) shop.append(h("option", { value: String(s.id), selected: String(s.id) === filters.shop_id }, s.name));
    fillStages();
  }).catch((err) => mount(errors, errorBanner(err.message, "orders-error")));

  pager.first();
  const el = h("div", { class: "page", testid: "orders-page" },
    h("div", { class: "page-head" }, h("h1", { class: "page-title" }, t("nav.orders")),
      h("div", { class: "toolbar" }, shop, stage, search, h("a", { href: "#/pipeline", class: "btn btn-sm", testid: "to-pipeline" }, t("pipeline.title")), exportButton("orders", () => filters))),
    errors, panel({ title: t("pipeline.list_title"), tools: pager.tools, testid: "orders-list", flush: true }, pager.body));
  return { el, destroy: () => pager.destroy() };
}
