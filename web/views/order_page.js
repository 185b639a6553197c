// #/orders/<id>: one order — its items, client, stage with a move control, tracking number,
// the stage history, and the order's messages and documents.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { formatDateTime, formatMoney } from "../format.js";
import { emptyState, errorBanner, loading, openDialog, panel, serverText, toast } from "../ui.js";
import { renderOrderDocuments } from "./order_documents.js";
import { renderOrderMessages } from "./order_messages.js";
import { ageText, askTracking, loadStages, stageChip, stageName } from "./pipeline_common.js";

export function renderOrderPage(id, ctx) {
  const el = h("div", { class: "page order-page", testid: "order-page" }, loading());

  async function load() {
    try {
      const order = await api("GET", `/orders/${id}`);
      const stages = await loadStages(order.shop.id);
      mount(el, render(order, stages));
    } catch (err) {
      mount(el, errorBanner(serverText("error.code." + err.code, err.message), "order-load-error"));
    }
  }

  function render(order, stages) {
    const byCode = Object.fromEntries(stages.map((s) => [s.code, s]));
    const errors = h("div", { testid: "order-move-error" });
    const select = h("select", { testid: "order-stage-select", "aria-label": t("pipeline.move_to") },
      stages.filter((s) => s.active).map((s) => h("option", { value: s.code, selected: s.code === order.status }, stageName(s))));
    const tracking = h("input", { testid: "order-tracking", maxlength: "64", value: order.tracking_number || "", "aria-label": t("pipeline.tracking") });
    const save = h("button", { type: "button", class: "btn btn-primary", testid: "order-move", onclick: async () => {
      const change = { stage: select.value, tracking_number: tracking.value.trim() || null };
      if (select.value === "shipped" && !change.tracking_number && select.value !== order.status) {
        const asked = await askTracking(openDialog, "");
        if (asked === null) return;
        change.tracking_number = asked || null;
      }
      try {
        await api("POST", `/orders/${order.id}/stage`, { body: change });
        toast(t("pipeline.saved"), "success");
        load();
      } catch (err) {
        const text = err.status === 403 ? t("pipeline.move_forbidden", { stage: stageName(byCode[select.value]) }) : serverText("error.code." + err.code, err.message);
        mount(errors, errorBanner(text, "move-error"));
      }
    } }, t("action.save"));

    const items = (order.items || []).length === 0 ? emptyState(t("order.no_items"), "order-no-items")
      : h("table", { class: "table table-items", testid: "order-items" },
        h("thead", null, h("tr", null, h("th", null, t("order.sku")), h("th", null, t("order.item_name")),
          h("th", { class: "num" }, t("order.qty")), h("th", { class: "num" }, t("order.price")))),
        h("tbody", null, order.items.map((item) => h("tr", null, h("td", { class: "mono" }, item.sku || ""), h("td", null, item.name),
          h("td", { class: "num" }, String(item.qty)), h("td", { class: "num" }, formatMoney(item.price, order.currency))))));

    const history = (order.stage_history || []).length === 0 ? emptyState(t("pipeline.no_history"), "stage-history-empty")
      : h("ol", { class: "stage-history", testid: "stage-history" }, [...order.stage_history].reverse().map((row) =>
        h("li", { testid: "stage-history-row" },
          h("span", { class: "muted nowrap" }, formatDateTime(row.at)), " ",
          row.from_stage ? [stageName(byCode[row.from_stage] || { code: row.from_stage }), " → "] : "",
          h("strong", null, stageName(byCode[row.to_stage] || { code: row.to_stage })),
          row.user_name ? [" · ", row.user_name] : "",
          row.seconds_in_previous !== null && row.from_stage ? h("span", { class: "muted" }, " (", ageText(row.seconds_in_previous), ")") : "")));

    return h("div", null,
      h("div", { class: "page-head" },
        h("h1", { class: "page-title" }, t("pipeline.order_title", { number: order.number }), " ", stageChip(order.stage)),
        h("div", { class: "toolbar" }, h("a", { href: "#/pipeline", class: "btn btn-sm" }, t("pipeline.title")))),
      h("div", { class: "order-grid" },
        panel({ title: t("pipeline.summary"), testid: "order-summary" },
          h("dl", { class: "facts" },
            h("dt", null, t("order.shop")), h("dd", null, order.shop.name),
            h("dt", null, t("pipeline.client")), h("dd", null, h("a", { href: `#/clients/${order.client_id}`, testid: "order-client-link" }, order.client_name || t("pipeline.open_client"))),
            h("dt", null, t("order.total")), h("dd", { testid: "order-total" }, formatMoney(order.total, order.currency)),
            h("dt", null, t("order.created")), h("dd", null, formatDateTime(order.created_at)),
            h("dt", null, t("pipeline.tracking")), h("dd", { class: "mono", testid: "order-tracking-text" }, order.tracking_number || "—"))),
        panel({ title: t("pipeline.stage"), testid: "order-stage" }, errors,
          h("div", { class: "form-row" }, select, tracking, save)),
        panel({ title: t("order.items"), testid: "order-items-panel", flush: true }, items),
        panel({ title: t("pipeline.history"), testid: "order-history" }, history),
        renderOrderMessages(order, ctx), renderOrderDocuments(order, ctx)));
  }

  load();
  return { el };
}
