// The order page's documents: invoice and offer PDFs of this order, made, downloaded, e-mailed.

export function renderOrderDocuments(order, ctx) {
  return null;
}
