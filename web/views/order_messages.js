// The order page's messages: what was sent to the customer about this order.

import { messagesPanel } from "./message_list.js";

export function renderOrderMessages(order, ctx) {
  return messagesPanel({ order_id: order.id }, "order-messages");
}
