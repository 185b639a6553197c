// The client card's messages: every e-mail and SMS to this client with its delivery status.

export function renderCardMessages(client, { reload }) {
  return null;
}
