// Documents (invoice and offer PDFs) shared by the client card and the order page: the list with
// open / e-mail buttons, and the "make" buttons of an order. Server values go in as text only.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { formatShortDateTime } from "../format.js";
import { t } from "../i18n.js";
import { emptyState, errorBanner, loading, openDialog, panel, toast } from "../ui.js";

function sendDialog(doc, reload) {
  const input = h("input", { type: "email", name: "email", testid: "doc-send-email", placeholder: t("documents.send_to_hint") });
  const error = h("div");
  const button = h("button", { type: "submit", class: "btn btn-primary", testid: "doc-send-submit" }, t("documents.send"));
  let dialog;
  const form = h("form", {
    class: "form", onsubmit: async (event) => {
      event.preventDefault();
      button.disabled = true;
      try {
        const email = input.value.trim();
        const sent = await api("POST", `/documents/${doc.id}/send`, { body: email ? { email } : {} });
        toast(t("documents.sent", { to: sent.to }), "success");
        dialog.close();
        reload();
      } catch (err) {
        button.disabled = false;
        if (err.status !== 401) mount(error, errorBanner(err.message, "doc-send-error"));
      }
    },
  }, h("p", { class: "muted" }, t("documents.send_text")), input, error, h("div", { class: "form-actions" }, button));
  dialog = openDialog({ title: t("documents.send_title", { number: doc.number }), body: form, testid: "doc-send-dialog" });
}

function documentRow(doc, reload) {
  return h("li", { class: "doc-row", testid: "document-row", dataset: { id: doc.id, kind: doc.kind } },
    h("span", { class: ["chip", "doc-kind-" + doc.kind] }, t("documents.kind." + doc.kind)),
    h("a", { class: "doc-number mono", href: doc.pdf_url, target: "_blank", rel: "noopener", testid: "document-open" }, doc.number),
    h("span", { class: "doc-total" }, doc.total + " " + doc.currency),
    h("time", { class: "muted", datetime: doc.created_at }, formatShortDateTime(doc.created_at)),
    doc.sent_to && h("span", { class: "muted doc-sent", testid: "document-sent" }, "✉ " + doc.sent_to),
    h("span", { class: "doc-tools" },
      h("a", { class: "btn btn-sm", href: doc.pdf_url + "?download=1", testid: "document-download" }, t("documents.download")),
      h("button", { type: "button", class: "btn btn-sm", testid: "document-send", onclick: () => sendDialog(doc, reload) }, t("documents.send"))),
  );
}

/** Buttons making an invoice / offer PDF of `orderId`; `made(doc)` after each. */
export function makeButtons(orderId, made) {
  const make = (kind) => async (event) => {
    event.target.disabled = true;
    try {
      const doc = await api("POST", `/orders/${orderId}/documents`, { body: { kind } });
      toast(t("documents.made", { number: doc.number }), "success");
      made(doc);
    } catch (err) {
      if (err.status !== 401) toast(err.message, "error");
    } finally {
      event.target.disabled = false;
    }
  };
  return h("span", { class: "doc-make" },
    h("button", { type: "button", class: "btn btn-sm", testid: "make-invoice", onclick: make("invoice") }, t("documents.make_invoice")),
    h("button", { type: "button", class: "btn btn-sm", testid: "make-offer", onclick: make("offer") }, t("documents.make_offer")));
}

/** The documents panel for `query` ({client_id} or {order_id}), with `tools(reload)` on top. */
export function documentsPanel(query, testid, tools) {
  const body = h("div", null, loading());
  async function load() {
    try {
      const data = await api("GET", "/documents", { query });
      mount(body, data.items.length === 0 ? emptyState(t("documents.none"), `${testid}-empty`)
        : h("ul", { class: "doc-list", testid: "document-list" }, data.items.map((d) => documentRow(d, load))));
    } catch (err) {
      if (err.status !== 401) mount(body, errorBanner(err.message, `${testid}-error`));
    }
  }
  load();
  return panel({ title: t("documents.title"), tools: tools && tools(load), testid, className: "panel-documents", flush: true }, body);
}
