// Shared widgets: toasts, modal dialogs, labelled form fields with
// server-side field errors, status chips, empty and error states.

import { h, isSubmitChord, mount } from "./dom.js";
import { t } from "./i18n.js";

let toastRegion = null;

/**
 * A short message in the corner; kind: "info" | "success" | "error".
 * Toasts sit bottom right, moved left of the call cards while any is shown
 * (calls.css), and below the cards in the stacking order: they never cover
 * a card's buttons.
 */
export function toast(message, kind = "info") {
  if (!toastRegion || !toastRegion.isConnected) {
    toastRegion = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.appendChild(toastRegion);
  }
  const item = h("div", { class: ["toast", "toast-" + kind], testid: "toast" }, message);
  toastRegion.appendChild(item);
  setTimeout(() => item.classList.add("toast-leaving"), kind === "error" ? 6000 : 3000);
  setTimeout(() => item.remove(), kind === "error" ? 6400 : 3400);
}

// The page under open dialogs: made inert while one is open. The call cards
// and toasts live outside it, so a ringing call can be worked in mid-dialog.
const PAGE_ROOT = "app";
let openDialogs = 0;
let dialogBackdrop = null;

function pageBlocked(on) {
  openDialogs = Math.max(0, openDialogs + (on ? 1 : -1));
  const page = document.getElementById(PAGE_ROOT);
  if (page) page.inert = openDialogs > 0;
  if (openDialogs > 0 && !dialogBackdrop) {
    dialogBackdrop = h("div", { class: "dialog-backdrop", "aria-hidden": "true" });
    document.body.appendChild(dialogBackdrop);
  } else if (openDialogs === 0 && dialogBackdrop) {
    dialogBackdrop.remove();
    dialogBackdrop = null;
  }
}

/**
 * A modal dialog; Esc and the × button close it. Returns {dialog, close}.
 * `body` is a Node (usually a <form>).
 *
 * Not showModal(): that puts the dialog in the browser's top layer, above any
 * z-index, and makes the whole rest of the document inert — the call card
 * included. Instead the dialog is shown in place, over a backdrop, with the
 * page under it inert; the card stays above both (z-index order in app.css).
 */
export function openDialog({ title, body, testid, wide = false, onClose }) {
  const dialog = h("dialog", { class: ["dialog", wide && "dialog-wide"], testid },
    h("header", { class: "dialog-head" },
      h("h2", null, title),
      h("button", { type: "button", class: "icon-btn", "aria-label": t("action.close"), title: t("action.close") + " (Esc)", onclick: () => close() }, "×"),
    ),
    h("div", { class: "dialog-body" }, body),
  );
  function close() {
    if (dialog.open) dialog.close();
  }
  // Esc in the dialog (or with the focus nowhere) closes the topmost one, not a keystroke in a card.
  function onEscape(event) {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    const inside = dialog.contains(event.target) || event.target === document.body || event.target === document.documentElement;
    const open = document.querySelectorAll("dialog.dialog[open]");
    if (!inside || open[open.length - 1] !== dialog) return;
    event.preventDefault();
    close();
  }
  document.addEventListener("keydown", onEscape);
  dialog.addEventListener("close", () => {
    document.removeEventListener("keydown", onEscape);
    dialog.remove();
    pageBlocked(false);
    if (onClose) onClose();
  });
  document.body.appendChild(dialog);
  pageBlocked(true);
  dialog.show();
  const first = dialog.querySelector("input:not([type=hidden]), select, textarea");
  if (first) first.focus();
  else {
    dialog.tabIndex = -1;
    dialog.focus();
  }
  return { dialog, close };
}

/** Submit `form` on Ctrl+Enter from any of its controls. */
export function submitOnCtrlEnter(form) {
  form.addEventListener("keydown", (event) => {
    if (isSubmitChord(event)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  return form;
}

let fieldCounter = 0;

/**
 * A labelled control. `name` is the server's field name ("city", "phones.0");
 * the control gets data-testid="field-<name>" and the wrapper receives that
 * field's error message.
 */
export function field({ label, name, control, hint, required = false, className, testid }) {
  const id = "f" + ++fieldCounter;
  control.id = control.id || id;
  if (!control.dataset.testid) control.dataset.testid = testid || "field-" + name;
  if (required) control.required = true;
  return h("div", { class: ["field", className], dataset: { field: name } },
    h("label", { htmlFor: control.id }, label, required && h("span", { class: "req", "aria-hidden": "true" }, " *")),
    control,
    hint && h("div", { class: "hint" }, hint),
  );
}

// The server's generic field messages, in the UI language; specific ones
// (quoting the value) are shown as the server wrote them.
const GENERIC_FIELD_MESSAGES = { "is required": "form.required", "unknown field": "form.unknown_field" };

function localFieldMessage(message) {
  const text = String(message);
  return GENERIC_FIELD_MESSAGES[text] ? t(GENERIC_FIELD_MESSAGES[text]) : text;
}

export function clearFieldErrors(scope) {
  scope.querySelectorAll(".field-error").forEach((el) => el.remove());
  scope.querySelectorAll(".has-error").forEach((el) => el.classList.remove("has-error"));
  scope.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
}

/**
 * Put each {"name": "message"} under the element with data-field="name",
 * trying "phones.0.number" → "phones.0" → "phones". Returns messages that
 * found no home, for a summary at the top of the form.
 */
export function showFieldErrors(scope, fields) {
  clearFieldErrors(scope);
  const orphans = [];
  let firstControl = null;
  for (const [name, message] of Object.entries(fields || {})) {
    let target = null;
    const parts = name.split(".");
    while (parts.length && !target) {
      target = scope.querySelector(`[data-field="${CSS.escape(parts.join("."))}"]`);
      parts.pop();
    }
    if (!target) {
      orphans.push(`${name}: ${message}`);
      continue;
    }
    target.classList.add("has-error");
    target.appendChild(h("div", { class: "field-error", testid: "error-" + name, role: "alert" }, localFieldMessage(message)));
    const control = target.querySelector("input, select, textarea");
    if (control) {
      control.setAttribute("aria-invalid", "true");
      firstControl = firstControl || control;
    }
  }
  if (firstControl) firstControl.focus();
  return orphans;
}

/** A red banner for a form-level or page-level error. */
export function errorBanner(message, testid = "form-error") {
  return h("div", { class: "banner banner-error", role: "alert", testid }, message);
}

export const ORDER_STATUSES = ["new", "confirmed", "paid", "shipped", "delivered", "cancelled", "returned"];

export function statusChip(status) {
  const known = ORDER_STATUSES.includes(status);
  return h("span", { class: ["chip", "status-" + (known ? status : "other")], dataset: { status } },
    known ? t("status." + status) : status);
}

export function emptyState(text, testid) {
  return h("div", { class: "empty", testid }, text);
}

export function loading() {
  return h("div", { class: "loading", "aria-busy": "true" }, h("span", { class: "spinner" }), t("common.loading"));
}

/** A panel with a title bar, optional toolbar on the right and a body. */
export function panel({ title, tools, testid, className, flush = false }, ...children) {
  return h("section", { class: ["panel", className], testid },
    h("header", { class: "panel-head" }, h("h2", null, title), tools && h("div", { class: "panel-tools" }, tools)),
    h("div", { class: ["panel-body", flush && "flush"] }, children),
  );
}

/** Translate `key` (with `params`) if the catalogue has it, else show the raw value. */
export function translatedOr(key, raw, params) {
  const text = t(key, params);
  return text === key ? raw : text;
}

/**
 * A server text in the UI language. The server writes English sentences and
 * gives each a machine code; the catalogue's text for the code is shown when
 * there is one, the server's own words only when there is none.
 */
export function serverText(key, serverMessage, params) {
  return translatedOr(key, serverMessage, params);
}

/**
 * A field error in the UI language: `coded` is the field's entry of the
 * error's details.field_codes ({code, params}: the values the message quotes).
 */
export function fieldErrorText(message, coded) {
  if (coded && coded.code) return serverText("field_error." + coded.code, localFieldMessage(message), coded.params || {});
  return localFieldMessage(message);
}

/**
 * Why a CSV row was not imported, in the UI language: the reason's text and
 * the value the server's message quotes ('abc' is not a usable phone number…).
 */
export function importReasonText(row) {
  const quoted = /^'(.*?)'/.exec(String(row.message || ""));
  return {
    reason: serverText("import.reason." + row.reason, row.reason),
    value: quoted ? quoted[1] : "",
  };
}

/**
 * One page of a list at a time, with "from–to of total" and ← / → buttons.
 *
 * `load({offset, limit, signal})` fetches a page and resolves to {items, total};
 * `render(items, total)` returns the Node for a non-empty page; `empty()` the
 * Node shown when the page has no rows. Only the newest request paints: an
 * older one is aborted, and a page left (destroy) paints nothing. The buttons
 * are `<testid>-prev` / `<testid>-next`, the range `<testid>-range`.
 *
 * Returns {tools (the range and buttons, for a panel's toolbar), body,
 * offset (current), reload() (same page), first() (back to page one, e.g.
 * after a filter changed), destroy()}.
 */
export function createPager({ load, render, empty, pageSize = 50, testid }) {
  let offset = 0;
  let controller = null;
  let destroyed = false;

  const range = h("span", { class: "muted", testid: testid + "-range" });
  const prev = h("button", { type: "button", class: "btn btn-sm", testid: testid + "-prev", onclick: () => go(Math.max(0, offset - pageSize)) }, "← ", t("calls.prev"));
  const next = h("button", { type: "button", class: "btn btn-sm", testid: testid + "-next", onclick: () => go(offset + pageSize) }, t("calls.next"), " →");
  const body = h("div", null, loading());

  async function go(to) {
    offset = to;
    if (controller) controller.abort();
    const mine = new AbortController();
    controller = mine;
    try {
      const data = await load({ offset, limit: pageSize, signal: mine.signal });
      if (destroyed || mine !== controller) return;
      paint(data.items || [], data.total || 0);
    } catch (err) {
      if (destroyed || mine !== controller || err.name === "AbortError" || err.status === 401) return;
      mount(body, errorBanner(err.message, "page-error"));
    }
  }

  function paint(items, total) {
    range.textContent = total ? t("calls.range", { from: offset + 1, to: offset + items.length, total }) : "";
    prev.disabled = offset === 0;
    next.disabled = offset + items.length >= total;
    mount(body, items.length ? render(items, total) : empty());
  }

  return {
    tools: h("div", { class: "pager" }, range, prev, next),
    body,
    get offset() { return offset; },
    reload: () => go(offset),
    first: () => go(0),
    destroy() {
      destroyed = true;
      if (controller) controller.abort();
    },
  };
}
