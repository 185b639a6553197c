// The client card's documents: invoices and offers made for this client's orders.

export function renderCardDocuments(client, { reload }) {
  return null;
}
