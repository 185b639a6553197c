// The body of a screen-pop card: what the operator needs while the phone is
// ringing (orders from every shop, last calls, open callbacks, notes), the
// list to pick from when several clients share the number, and the
// after-call outcome form.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import { formatDate, formatMoney, formatNumber, formatShortDateTime } from "../format.js";
import { emptyState, statusChip, submitOnCtrlEnter, translatedOr } from "../ui.js";
import { DISPOSITIONS, callList, taskList } from "./call_parts.js";

const ORDERS_SHOWN = 4;
const CALLS_SHOWN = 4;
const NOTES_SHOWN = 2;

function section(title, testid, ...children) {
  return h("section", { class: "pop-section", testid },
    h("h3", { class: "pop-section-title" }, title),
    children,
  );
}

/** Orders, last calls, open tasks and notes of a known client. */
export function clientSections(client) {
  const orders = [...(client.orders || [])].sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
  const notes = [...(client.activities || [])].sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
  const tasks = client.tasks || [];
  return [
    tasks.length > 0 && section(t("tasks.open_title"), "call-tasks", taskList(tasks)),
    section(t("order.title_all", { count: orders.length }), "call-orders",
      orders.length === 0
        ? emptyState(t("order.none"), null)
        : h("ul", { class: "pop-orders" },
          orders.slice(0, ORDERS_SHOWN).map((order) => h("li", { class: "pop-order", testid: "call-order", dataset: { id: order.id, status: order.status } },
            statusChip(order.status),
            h("span", { class: "pop-order-shop" }, (order.shop && order.shop.name) || "—"),
            h("span", { class: "pop-order-no mono" }, "№ " + (order.number || order.external_id || order.id)),
            h("span", { class: "pop-order-total num" }, formatMoney(order.total, order.currency)),
            h("span", { class: "pop-order-date muted" }, formatDate(order.created_at)),
          )),
          orders.length > ORDERS_SHOWN && h("li", { class: "pop-more muted" }, t("calls.more", { count: orders.length - ORDERS_SHOWN })),
        ),
    ),
    section(t("pop.last_calls"), "call-history", callList(client.calls, { limit: CALLS_SHOWN })),
    tasks.length === 0 && section(t("tasks.open_title"), "call-tasks", emptyState(t("tasks.none"), null)),
    (client.notes || notes.length > 0) && section(t("notes.title"), "call-notes",
      client.notes && h("div", { class: "standing-note" }, client.notes),
      notes.slice(0, NOTES_SHOWN).map((note) => h("div", { class: "pop-note" },
        h("span", { class: "pop-note-meta muted" },
          formatShortDateTime(note.created_at), " · ", (note.author && note.author.name) || t("history.system")),
        h("div", { class: "note-text" }, note.text),
      )),
    ),
  ];
}

/** Several clients have this number: the operator says which one is calling. */
export function candidateList(candidates, onPick) {
  return h("section", { class: "pop-section pop-candidates", testid: "call-candidates" },
    h("h3", { class: "pop-section-title" }, t("pop.candidates_title", { count: candidates.length })),
    h("ul", { class: "pop-candidate-list" }, candidates.map((client) => {
      const sub = [client.company, client.city, (client.phones || []).map((p) => p.display || formatNumber(p.e164)).join(", ")]
        .filter(Boolean).join(" · ");
      return h("li", null,
        h("button", {
          type: "button", class: "pop-candidate", testid: "call-candidate", dataset: { id: client.id },
          disabled: !!client.restricted, // another operator's client: it cannot be opened here
          onclick: (event) => { event.currentTarget.disabled = true; onPick(client); },
        },
          h("span", { class: "pop-candidate-name" }, client.name || t("client.unnamed")),
          sub && h("span", { class: "pop-candidate-sub muted" }, sub),
          client.do_not_call && h("span", { class: "chip chip-danger chip-xs" }, t("client.dnc_short")),
        ),
      );
    })),
  );
}

/**
 * The after-call form: disposition + note. `save({disposition, note})`
 * returns a promise; a rejection's message is shown under the form.
 */
export function outcomeForm({ save, canSave }) {
  const select = h("select", { testid: "call-disposition", id: "pop-disp-" + Math.random().toString(36).slice(2), required: true },
    h("option", { value: "" }, t("pop.disposition_choose")),
    DISPOSITIONS.map((code) => h("option", { value: code }, translatedOr("call.disposition." + code, code))),
  );
  const note = h("textarea", { testid: "call-note", rows: "3", placeholder: t("pop.note_placeholder"), "aria-label": t("pop.note") });
  const error = h("div", { class: "field-error", role: "alert", testid: "call-outcome-error", hidden: true });
  const button = h("button", { type: "submit", class: "btn btn-primary", testid: "call-save-outcome", title: "Ctrl+Enter" }, t("pop.save_outcome"));

  function fail(message, control) {
    error.textContent = message;
    error.hidden = false;
    if (control) control.focus();
  }

  const form = submitOnCtrlEnter(h("form", {
    class: "pop-outcome", testid: "call-outcome", novalidate: true,
    onsubmit: async (event) => {
      event.preventDefault();
      error.hidden = true;
      if (!select.value) return fail(t("pop.disposition_required"), select);
      const blocked = canSave();
      if (blocked) return fail(blocked);
      button.disabled = true;
      try {
        await save({ disposition: select.value, note: note.value.trim() });
      } catch (err) {
        fail(err.message);
      } finally {
        button.disabled = false;
      }
    },
  },
    h("h3", { class: "pop-section-title" }, t("pop.outcome_title")),
    h("div", { class: "field" }, h("label", { htmlFor: select.id }, t("pop.disposition")), select),
    h("div", { class: "field" }, note),
    error,
    h("div", { class: "pop-outcome-foot" }, button, h("span", { class: "hint" }, t("form.shortcut_hint"))),
  ));
  return { el: form, focus: () => select.focus() };
}
