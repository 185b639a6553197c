// The client card's documents: invoices and offers made for this client's orders, and making
// one for an order picked from the client's orders.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import { documentsPanel, makeButtons } from "./document_list.js";

export function renderCardDocuments(client, { reload }) {
  const orders = client.orders || [];
  return documentsPanel({ client_id: client.id }, "client-documents", (reloadList) => {
    if (orders.length === 0) return null;
    const holder = h("span");
    const select = h("select", { testid: "doc-order", "aria-label": t("documents.for_order") },
      orders.map((o) => h("option", { value: o.id }, t("documents.order_n", { number: o.number }))));
    const buttons = () => makeButtons(Number(select.value), () => reloadList());
    holder.append(buttons());
    select.addEventListener("change", () => holder.replaceChildren(buttons()));
    return h("span", { class: "doc-make-for" }, select, holder);
  });
}
