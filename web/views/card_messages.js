// The client card's messages: every e-mail and SMS to this client with its delivery status.

import { messagesPanel } from "./message_list.js";

export function renderCardMessages(client, { reload }) {
  return messagesPanel({ client_id: client.id }, "client-messages");
}
