// Settings › Webhooks (admins): the URLs the CRM POSTs its events to. Add one with the events
// it wants (its signing secret is shown once, right after), edit, disable, delete, ping it,
// and read its delivery log (status, answer code and text, duration) with a retry button.
// Everything shown from the server is put in as text, never as HTML.

import { api } from "../../api.js";
import { h, mount } from "../../dom.js";
import { formatDateTime } from "../../format.js";
import { t } from "../../i18n.js";
import { clearFieldErrors, emptyState, errorBanner, loading, panel, showFieldErrors, toast } from "../../ui.js";

const STATUSES = ["pending", "delivering", "delivered", "failed"];

export function renderWebhooksSection(ctx) {
  const list = h("div", null, loading());
  const secretSlot = h("div", { class: "webhook-secret-slot" });
  const logSlot = h("div", { class: "webhook-log-slot" });
  let events = [];
  let destroyed = false;
  let shownLog = null;
  let addEventsSlot = null;

  const el = h("div", { class: "webhooks-settings", testid: "settings-webhooks-section" },
    h("p", { class: "muted" }, t("webhooks.intro")),
    secretSlot,
    panel({ title: t("webhooks.list"), flush: true }, list),
    panel({ title: t("webhooks.add"), testid: "webhook-add-panel" }, addForm()),
    logSlot,
  );

  function eventBoxes(chosen, prefix) {
    return h("fieldset", { class: "webhook-events", dataset: { field: "events" } },
      h("legend", null, t("webhooks.field.events")),
      ["*", ...events].map((name) => h("label", { class: "webhook-event" },
        h("input", { type: "checkbox", name: "event", value: name, checked: chosen.includes(name), testid: `${prefix}-event-${name}` }),
        " ", name === "*" ? t("webhooks.all_events") : h("code", null, name))));
  }

  function chosenEvents(scope) {
    return [...scope.querySelectorAll("input[name=event]:checked")].map((box) => box.value);
  }

  async function load() {
    try {
      const data = await api("GET", "/webhooks");
      if (destroyed) return;
      events = data.events || [];
      mount(list, data.items.length === 0 ? emptyState(t("webhooks.none"), "webhooks-empty")
        : h("table", { class: "table table-webhooks", testid: "webhooks-table" },
          h("thead", null, h("tr", null,
            h("th", null, t("webhooks.col.url")), h("th", null, t("webhooks.col.events")),
            h("th", null, t("webhooks.col.deliveries")), h("th", null, t("webhooks.col.secret")),
            h("th", { class: "col-actions" }, h("span", { class: "sr-only" }, t("common.actions"))))),
          h("tbody", null, data.items.map(row))));
      rebuildAddEvents();
    } catch (err) {
      if (!destroyed && err.status !== 401) mount(list, errorBanner(err.message, "page-error"));
    }
  }

  function counts(item) {
    const d = item.deliveries || {};
    return h("div", { class: "webhook-counts" }, STATUSES.filter((s) => d[s]).map((s) =>
      h("span", { class: ["chip", "delivery-" + s], dataset: { status: s } }, `${t("webhooks.status." + s)}: ${d[s]}`)));
  }

  function row(item) {
    const button = (key, testid, onClick, extra = "") => {
      const b = h("button", { type: "button", class: "btn btn-sm " + extra, testid }, t(key));
      b.addEventListener("click", async () => {
        b.disabled = true;
        try { await onClick(); } catch (err) { if (err.status !== 401) toast(err.message, "error"); } finally { b.disabled = false; }
      });
      return b;
    };
    const tr = h("tr", { testid: "webhook-row", dataset: { id: String(item.id), active: item.active ? "1" : "0" }, class: item.active ? null : "inactive" },
      h("td", { class: "webhook-url" }, h("div", { testid: "webhook-url" }, item.url),
        item.description && h("div", { class: "muted small" }, item.description),
        !item.active && h("div", { class: "muted small" }, t("webhooks.disabled")),
        item.failing_since && h("div", { class: "webhook-failing small", testid: "webhook-failing" }, t("webhooks.failing_since", { at: formatDateTime(item.failing_since) }))),
      h("td", null, item.events.map((e) => h("code", { class: "webhook-event-name" }, e === "*" ? t("webhooks.all_events") : e))),
      h("td", null, counts(item)),
      h("td", null, h("code", null, item.secret)),
      h("td", { class: "col-actions webhook-actions" },
        button("webhooks.ping", "webhook-ping", async () => {
          await api("POST", `/webhooks/${item.id}/ping`);
          toast(t("webhooks.pinged"), "success");
          await showLog(item);
        }),
        button("webhooks.log", "webhook-show-log", () => showLog(item)),
        button("webhooks.edit", "webhook-edit", async () => mount(tr.querySelector(".webhook-url"), editForm(item))),
        button(item.active ? "webhooks.disable" : "webhooks.enable", item.active ? "webhook-disable" : "webhook-enable", async () => {
          await api("PATCH", `/webhooks/${item.id}`, { body: { active: !item.active } });
          await load();
        }),
        button("webhooks.delete", "webhook-delete", async () => {
          if (!window.confirm(t("webhooks.delete_confirm", { url: item.url }))) return;
          await api("DELETE", `/webhooks/${item.id}`);
          if (shownLog === item.id) mount(logSlot);
          toast(t("webhooks.deleted"), "success");
          await load();
        }, "btn-danger"),
      ));
    return tr;
  }

  function editForm(item) {
    const url = h("input", { type: "url", name: "url", value: item.url, maxlength: "2000", testid: "webhook-edit-url", "aria-label": t("webhooks.field.url") });
    const description = h("input", { type: "text", name: "description", value: item.description || "", maxlength: "300", "aria-label": t("webhooks.field.description") });
    const form = h("form", { class: "webhook-edit", testid: "webhook-edit-form", novalidate: true },
      h("div", { dataset: { field: "url" } }, url), h("div", { dataset: { field: "description" } }, description),
      eventBoxes(item.events, "webhook-edit"),
      h("button", { type: "submit", class: "btn btn-sm btn-primary", testid: "webhook-edit-save" }, t("action.save")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearFieldErrors(form);
      try {
        await api("PATCH", `/webhooks/${item.id}`, { body: { url: url.value.trim(), description: description.value, events: chosenEvents(form) } });
        toast(t("webhooks.saved"), "success");
        await load();
      } catch (err) {
        if (err.status === 401) return;
        const orphans = showFieldErrors(form, err.fields);
        if (orphans.length || !Object.keys(err.fields || {}).length) toast(err.message, "error");
      }
    });
    return form;
  }

  function rebuildAddEvents() {
    if (addEventsSlot) mount(addEventsSlot, eventBoxes(chosenEvents(addEventsSlot), "webhook-new"));
  }

  function addForm() {
    const url = h("input", { type: "url", name: "url", maxlength: "2000", placeholder: "https://shop.example.com/crm-hook", testid: "webhook-new-url", "aria-label": t("webhooks.field.url") });
    const description = h("input", { type: "text", name: "description", maxlength: "300", testid: "webhook-new-description", "aria-label": t("webhooks.field.description"), placeholder: t("webhooks.field.description") });
    addEventsSlot = h("div", null);
    const form = h("form", { class: "webhook-add", testid: "webhook-add", novalidate: true },
      h("label", { class: "field" }, h("span", { class: "field-label" }, t("webhooks.field.url")), h("div", { dataset: { field: "url" } }, url)),
      h("label", { class: "field" }, h("span", { class: "field-label" }, t("webhooks.field.description")), h("div", { dataset: { field: "description" } }, description)),
      addEventsSlot,
      h("button", { type: "submit", class: "btn btn-primary", testid: "webhook-add-submit" }, t("webhooks.add_button")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearFieldErrors(form);
      try {
        const made = await api("POST", "/webhooks", { body: { url: url.value.trim(), events: chosenEvents(form), description: description.value || null } });
        form.reset();
        showSecret(made);
        await load();
      } catch (err) {
        if (err.status === 401) return;
        const orphans = showFieldErrors(form, err.fields);
        if (orphans.length || !Object.keys(err.fields || {}).length) toast(err.message, "error");
      }
    });
    return form;
  }

  function showSecret(made) {
    mount(secretSlot, h("div", { class: "webhook-secret", role: "alert", testid: "webhook-secret" },
      h("strong", null, t("webhooks.secret_once")), " ",
      h("code", { testid: "webhook-secret-value" }, made.secret), " ",
      h("button", { type: "button", class: "btn btn-sm", onclick: () => mount(secretSlot) }, t("webhooks.secret_done"))));
  }

  async function showLog(item, status = "") {
    shownLog = item.id;
    const filter = h("select", { testid: "webhook-log-filter", "aria-label": t("webhooks.log_filter") },
      h("option", { value: "" }, t("webhooks.log_all")),
      STATUSES.map((s) => h("option", { value: s, selected: s === status }, t("webhooks.status." + s))));
    filter.addEventListener("change", () => showLog(item, filter.value));
    const refresh = h("button", { type: "button", class: "btn btn-sm", testid: "webhook-log-refresh", onclick: () => showLog(item, filter.value) }, t("webhooks.refresh"));
    const body = h("div", null, loading());
    mount(logSlot, panel({ title: t("webhooks.log_title", { url: item.url }), tools: [filter, refresh], testid: "webhook-log", flush: true }, body));
    try {
      const data = await api("GET", `/webhooks/${item.id}/deliveries?limit=50${status ? "&status=" + status : ""}`);
      if (destroyed || shownLog !== item.id) return;
      mount(body, data.items.length === 0 ? emptyState(t("webhooks.log_none"), "webhook-log-empty")
        : h("table", { class: "table table-deliveries", testid: "webhook-log-table" },
          h("thead", null, h("tr", null, ["created", "event", "status", "code", "response", "duration", ""].map((c) =>
            h("th", null, c ? t("webhooks.log_col." + c) : "")))),
          h("tbody", null, data.items.map((d) => deliveryRow(item, d, filter)))));
    } catch (err) {
      if (err.status !== 401) mount(body, errorBanner(err.message, "page-error"));
    }
  }

  function deliveryRow(item, d, filter) {
    const retry = h("button", { type: "button", class: "btn btn-sm", testid: "delivery-retry" }, t("webhooks.retry"));
    retry.addEventListener("click", async () => {
      retry.disabled = true;
      try {
        await api("POST", `/webhook-deliveries/${d.id}/retry`);
        toast(t("webhooks.retried"), "success");
        await showLog(item, filter.value);
      } catch (err) {
        retry.disabled = false;
        if (err.status !== 401) toast(err.message, "error");
      }
    });
    return h("tr", { testid: "delivery-row", dataset: { status: d.status, id: String(d.id) } },
      h("td", null, formatDateTime(d.created_at)),
      h("td", null, h("code", null, d.event_type)),
      h("td", null, h("span", { class: ["chip", "delivery-" + d.status], testid: "delivery-status" }, t("webhooks.status." + d.status)),
        h("div", { class: "muted small" }, t("webhooks.attempts", { n: d.attempts }))),
      h("td", { testid: "delivery-code" }, d.last_status == null ? "—" : String(d.last_status)),
      h("td", { class: "delivery-response" }, h("div", { class: "small", testid: "delivery-response" }, (d.last_response || "").slice(0, 300)),
        d.last_error && h("div", { class: "muted small", testid: "delivery-error" }, d.last_error)),
      h("td", null, d.duration_ms == null ? "—" : t("webhooks.ms", { n: d.duration_ms })),
      h("td", null, d.status === "delivering" ? null : retry));
  }

  load();
  return { el, destroy: () => { destroyed = true; } };
}
