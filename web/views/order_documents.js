// The order page's documents: invoice and offer PDFs of this order, made, downloaded, e-mailed.

import { documentsPanel, makeButtons } from "./document_list.js";

export function renderOrderDocuments(order, ctx) {
  return documentsPanel({ order_id: order.id }, "order-documents",
    (reload) => makeButtons(order.id, (doc) => { reload(); window.open(doc.pdf_url, "_blank", "noopener"); }));
}
