// Orders from every shop on the client card; a row expands to its items.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import { formatDateTime, formatMoney } from "../format.js";
import { api } from "../api.js";
import { emptyState, panel, statusChip } from "../ui.js";
import { openOrderDialog } from "./order_form.js";
import { stageChip } from "./pipeline_common.js";

/** The client's orders with their stage names and tracking numbers (the card's rows lack them). */
function fillStages(table, clientId) {
  api("GET", "/orders", { query: { client_id: clientId, limit: 500 } }).then((result) => {
    for (const order of result.items) {
      const row = table.querySelector(`tbody[data-id="${order.id}"]`);
      if (!row) continue;
      row.querySelector("[data-testid=order-stage]")?.replaceChildren(stageChip(order.stage));
      if (order.tracking_number) row.querySelector("[data-testid=order-tracking]")?.replaceChildren(order.tracking_number);
    }
  }).catch(() => {});
}

export function renderOrders(client, { reload }) {
  const orders = [...(client.orders || [])].sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));

  const addButton = h("button", {
    type: "button", class: "btn btn-sm", testid: "new-order",
    onclick: () => openOrderDialog({ clientId: client.id, onSaved: reload }),
  }, "+ ", t("order.new"));

  const body = orders.length === 0
    ? emptyState(t("order.none"), "orders-empty")
    : h("table", { class: "table table-orders" },
      h("thead", null, h("tr", null,
        h("th", { class: "col-toggle" }, h("span", { class: "sr-only" }, t("order.items"))),
        h("th", null, t("order.shop")),
        h("th", null, t("order.number")),
        h("th", null, t("order.status")),
        h("th", null, t("pipeline.tracking")),
        h("th", { class: "num" }, t("order.total")),
        h("th", null, t("order.created")),
        h("th", { class: "col-actions" }, h("span", { class: "sr-only" }, t("common.actions"))),
      )),
      orders.map((order) => orderRows(order, client, reload)),
    );

  if (orders.length) fillStages(body, client.id);
  return panel({ title: t("order.title_all", { count: orders.length }), tools: addButton, testid: "client-orders", flush: true }, body);
}

/** One <tbody> per order: the summary row and a hidden items row. */
function orderRows(order, client, reload) {
  const items = order.items || [];
  const itemsRow = h("tr", { class: "order-items", hidden: true, testid: "order-items" },
    h("td", { colspan: "8" },
      items.length === 0
        ? h("span", { class: "muted" }, t("order.no_items"))
        : h("table", { class: "table table-items" },
          h("thead", null, h("tr", null,
            h("th", null, t("order.sku")), h("th", null, t("order.item_name")),
            h("th", { class: "num" }, t("order.qty")), h("th", { class: "num" }, t("order.price")),
            h("th", { class: "num" }, t("order.sum")),
          )),
          h("tbody", null, items.map((item) => h("tr", null,
            h("td", { class: "mono" }, item.sku || ""),
            h("td", null, item.name || ""),
            h("td", { class: "num" }, item.qty ?? ""),
            h("td", { class: "num" }, formatMoney(item.price, order.currency)),
            h("td", { class: "num" }, formatMoney(Number(item.qty || 0) * Number(item.price || 0), order.currency)),
          ))),
        ),
    ),
  );
  const toggle = h("button", {
    type: "button", class: "icon-btn toggle", "aria-expanded": "false", testid: "order-toggle",
    title: t("order.show_items", { count: items.length }), "aria-label": t("order.show_items", { count: items.length }),
    onclick: () => {
      itemsRow.hidden = !itemsRow.hidden;
      toggle.setAttribute("aria-expanded", itemsRow.hidden ? "false" : "true");
      toggle.classList.toggle("open", !itemsRow.hidden);
    },
  }, "▸");

  return h("tbody", { class: "order", testid: "order-row", dataset: { id: order.id } },
    h("tr", null,
      h("td", { class: "col-toggle" }, toggle),
      h("td", null, (order.shop && order.shop.name) || "—"),
      h("td", { class: "mono nowrap" }, h("a", { href: `#/orders/${order.id}`, testid: "order-link" }, order.number || order.external_id || "—")),
      h("td", { testid: "order-stage" }, statusChip(order.status)),
      h("td", { class: "mono", testid: "order-tracking" }, order.tracking_number || ""),
      h("td", { class: "num nowrap" }, formatMoney(order.total, order.currency)),
      h("td", { class: "nowrap muted" }, formatDateTime(order.created_at)),
      h("td", { class: "col-actions" },
        h("button", {
          type: "button", class: "btn btn-sm btn-ghost", testid: "edit-order",
          onclick: () => openOrderDialog({ clientId: client.id, order, onSaved: reload }),
        }, t("action.edit")),
      ),
    ),
    itemsRow,
  );
}
