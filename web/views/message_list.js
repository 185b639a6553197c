// The list of e-mails and SMS to a customer, shared by the client card and the order page:
// channel, status chip, time, the error if any, and a "send again" button for staff on failed
// or skipped messages. Everything from the server is put in as text, never as HTML.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { formatShortDateTime } from "../format.js";
import { t } from "../i18n.js";
import { emptyState, errorBanner, loading, panel, toast, translatedOr } from "../ui.js";

export function messageStatusChip(status) {
  return h("span", { class: ["chip", "msg-status", "msg-status-" + status], dataset: { status }, testid: "message-status" },
    translatedOr("messages.status." + status, status));
}

function messageRow(message, canRetry, reload) {
  const when = message.sent_at || message.created_at;
  const retry = canRetry && (message.status === "failed" || message.status === "skipped")
    && h("button", {
      type: "button", class: "btn btn-sm", testid: "message-retry",
      onclick: async (event) => {
        event.target.disabled = true;
        try {
          await api("POST", `/messages/${message.id}/retry`);
          toast(t("messages.retried"), "success");
          reload();
        } catch (err) {
          event.target.disabled = false;
          if (err.status !== 401) toast(err.message, "error");
        }
      },
    }, t("messages.retry"));
  return h("li", { class: "msg-row", testid: "message-row", dataset: { id: message.id, status: message.status, channel: message.channel } },
    h("div", { class: "msg-head" },
      h("span", { class: ["chip", "msg-channel"] }, t("messages.channel." + message.channel)),
      messageStatusChip(message.status),
      h("span", { class: "msg-event" }, message.event ? translatedOr("messages.event." + message.event, message.event) : t("messages.kind." + message.kind)),
      h("time", { class: "msg-time muted", datetime: when }, formatShortDateTime(when)),
      h("span", { class: "msg-to mono muted" }, message.to || "—"),
      retry,
    ),
    message.subject && h("div", { class: "msg-subject", testid: "message-subject" }, message.subject),
    h("details", { class: "msg-body" }, h("summary", null, t("messages.text")), h("pre", null, message.body)),
    message.attachments && message.attachments.length > 0 && h("div", { class: "msg-files muted" }, "📎 ", message.attachments.join(", ")),
    message.error && h("div", { class: "msg-error", testid: "message-error" },
      translatedOr("messages.reason." + message.error, message.error)),
  );
}

/** A panel listing the messages for `query` ({client_id} or {order_id}). */
export function messagesPanel(query, testid) {
  const body = h("div", null, loading());
  let count = 0;
  const title = h("span", null, t("messages.title"));
  async function load() {
    try {
      const data = await api("GET", "/messages", { query });
      count = data.items.length;
      title.textContent = t("messages.title_count", { count });
      mount(body, count === 0 ? emptyState(t("messages.none"), `${testid}-empty`)
        : h("ul", { class: "msg-list" }, data.items.map((m) => messageRow(m, data.can_retry, load))));
    } catch (err) {
      if (err.status !== 401) mount(body, errorBanner(err.message, `${testid}-error`));
    }
  }
  load();
  return panel({ title, testid, className: "panel-messages", flush: true }, body);
}
