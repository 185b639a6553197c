// The order page's messages: what was sent to the customer about this order.

export function renderOrderMessages(order, ctx) {
  return null;
}
