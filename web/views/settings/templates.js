// Settings › Templates (admins): the wording of each customer notification per shop (or for
// every shop), event, channel and language, with a live preview, the placeholders the event
// knows and a warning for unknown ones; each channel is switched on or off here. The preview
// is shown as text (its HTML part is never inserted into the page).

import { api } from "../../api.js";
import { debounce, h, mount } from "../../dom.js";
import { t } from "../../i18n.js";
import { errorBanner, loading, panel, toast, translatedOr } from "../../ui.js";

export function renderTemplatesSection(ctx) {
  const state = { shopId: "", event: "order_shipped", channel: "email", lang: "ru", data: null };
  let destroyed = false;
  const shopSelect = h("select", { testid: "tpl-shop", name: "shop" }, h("option", { value: "" }, t("templates.all_shops")));
  const eventSelect = h("select", { testid: "tpl-event", name: "event" });
  const channelSelect = h("select", { testid: "tpl-channel", name: "channel" },
    ["email", "sms"].map((c) => h("option", { value: c }, t("messages.channel." + c))));
  const langSelect = h("select", { testid: "tpl-lang", name: "lang" },
    ["ru", "en"].map((l) => h("option", { value: l }, l.toUpperCase())));
  const subject = h("input", { type: "text", testid: "tpl-subject", name: "subject", maxlength: 300 });
  const subjectRow = h("label", { class: "tpl-field" }, t("templates.subject"), subject);
  const body = h("textarea", { testid: "tpl-body", name: "body", rows: 10, maxlength: 20000 });
  const enabled = h("input", { type: "checkbox", testid: "tpl-enabled", name: "enabled" });
  const source = h("span", { class: "chip", testid: "tpl-source" });
  const placeholders = h("div", { class: "tpl-placeholders", testid: "tpl-placeholders" });
  const configured = h("div", { class: "tpl-configured" });
  const previewSubject = h("div", { class: "tpl-preview-subject", testid: "tpl-preview-subject" });
  const previewBody = h("pre", { class: "tpl-preview-body", testid: "tpl-preview-body" });
  const previewNote = h("div", { class: "tpl-preview-note", testid: "tpl-preview-note" });
  const save = h("button", { type: "submit", class: "btn btn-primary", testid: "tpl-save" }, t("templates.save"));
  const reset = h("button", { type: "button", class: "btn", testid: "tpl-reset" }, t("templates.reset"));
  const form = h("form", { class: "tpl-form", testid: "tpl-form" },
    h("div", { class: "tpl-pickers" },
      h("label", null, t("templates.shop"), shopSelect),
      h("label", null, t("templates.event"), eventSelect),
      h("label", null, t("templates.channel"), channelSelect),
      h("label", null, t("templates.lang"), langSelect),
    ),
    h("div", { class: "tpl-state" }, h("label", { class: "tpl-enabled" }, enabled, " ", t("templates.enabled")), source),
    configured,
    subjectRow,
    h("label", { class: "tpl-field" }, t("templates.body"), body),
    h("div", { class: "tpl-hint muted" }, t("templates.placeholders_hint")),
    placeholders,
    h("div", { class: "tpl-actions" }, save, reset),
  );
  const list = h("div", null, loading());
  const el = h("div", { class: "templates-settings", testid: "settings-templates-section" },
    h("p", { class: "muted" }, t("templates.intro")),
    list,
    h("div", { class: "tpl-columns" },
      panel({ title: t("templates.editor"), testid: "tpl-editor" }, form),
      panel({ title: t("templates.preview"), testid: "tpl-preview" }, previewSubject, previewBody, previewNote)),
  );

  function current() {
    return state.data && state.data.items.find((i) => i.event === state.event && i.channel === state.channel && i.lang === state.lang);
  }

  function fill() {
    const item = current();
    if (!item) return;
    subject.value = item.subject || "";
    body.value = item.body;
    enabled.checked = item.enabled;
    subjectRow.hidden = state.channel !== "email";
    source.textContent = t("templates.source." + item.source);
    source.dataset.source = item.source;
    const names = state.data.placeholders[state.event] || [];
    mount(placeholders, names.map((name) => h("button", {
      type: "button", class: "btn btn-sm btn-ghost mono", testid: "tpl-placeholder", dataset: { name },
      title: translatedOr("templates.ph." + name, name),
      onclick: () => { insertAtCursor(body, `{${name}}`); preview(); },
    }, `{${name}}`)));
    const ok = state.channel === "email" ? state.data.email_configured : state.data.sms_configured;
    mount(configured, ok ? null : h("div", { class: "banner banner-warn", testid: "tpl-not-configured" },
      t(state.channel === "email" ? "templates.email_not_configured" : "templates.sms_not_configured")));
    preview();
  }

  function overview() {
    const rows = [];
    for (const event of Object.keys(state.data.placeholders)) {
      const cells = ["email", "sms"].map((channel) => {
        const item = state.data.items.find((i) => i.event === event && i.channel === channel && i.lang === state.lang);
        return h("td", null, h("button", {
          type: "button", class: ["chip", item.enabled ? "chip-on" : "chip-off"], testid: `tpl-cell-${event}-${channel}`,
          onclick: () => { state.event = event; state.channel = channel; eventSelect.value = event; channelSelect.value = channel; fill(); },
        }, item.enabled ? t("templates.on") : t("templates.off")));
      });
      rows.push(h("tr", null, h("th", null, translatedOr("messages.event." + event, event)), cells));
    }
    mount(list, h("table", { class: "table table-templates", testid: "tpl-overview" },
      h("thead", null, h("tr", null, h("th", null, t("templates.event")), h("th", null, t("messages.channel.email")), h("th", null, t("messages.channel.sms")))),
      h("tbody", null, rows)));
  }

  async function load() {
    try {
      const data = await api("GET", "/notification-templates", { query: { shop_id: state.shopId } });
      if (destroyed) return;
      state.data = data;
      if (!eventSelect.options.length) {
        mount(eventSelect, Object.keys(data.placeholders).map((e) => h("option", { value: e }, translatedOr("messages.event." + e, e))));
        eventSelect.value = state.event;
      }
      overview();
      fill();
    } catch (err) {
      if (!destroyed && err.status !== 401) mount(list, errorBanner(err.message, "page-error"));
    }
  }

  const preview = debounce(async () => {
    try {
      const out = await api("POST", "/notification-templates/preview", { body: {
        event: state.event, channel: state.channel, lang: state.lang,
        subject: state.channel === "email" ? subject.value : null, body: body.value || " " } });
      if (destroyed) return;
      previewSubject.textContent = out.subject || "";
      previewBody.textContent = out.body;
      const notes = [];
      if (out.unknown.length) notes.push(h("div", { class: "banner banner-warn", testid: "tpl-unknown" },
        t("templates.unknown", { names: out.unknown.map((n) => `{${n}}`).join(", ") })));
      if (out.segments) notes.push(h("div", { class: "muted", testid: "tpl-segments" }, t("templates.segments", { count: out.segments })));
      mount(previewNote, notes);
    } catch (err) {
      if (!destroyed && err.status !== 401) mount(previewNote, errorBanner(err.message, "tpl-preview-error"));
    }
  }, 250);

  async function store(payload) {
    try {
      state.data = await api("PUT", "/notification-templates", { body: {
        shop_id: state.shopId ? Number(state.shopId) : null, event: state.event,
        channel: state.channel, lang: state.lang, ...payload } });
      toast(t("templates.saved"), "success");
      overview();
      fill();
    } catch (err) {
      if (err.status !== 401) toast(err.message, "error");
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    store({ subject: state.channel === "email" ? subject.value : null, body: body.value, enabled: enabled.checked });
  });
  reset.addEventListener("click", () => store({ reset: true }));
  body.addEventListener("input", preview);
  subject.addEventListener("input", preview);
  shopSelect.addEventListener("change", () => { state.shopId = shopSelect.value; load(); });
  eventSelect.addEventListener("change", () => { state.event = eventSelect.value; fill(); });
  channelSelect.addEventListener("change", () => { state.channel = channelSelect.value; fill(); });
  langSelect.addEventListener("change", () => { state.lang = langSelect.value; overview(); fill(); });

  api("GET", "/shops").then((data) => {
    if (destroyed) return;
    for (const shop of data.items) shopSelect.append(h("option", { value: String(shop.id) }, shop.name));
  }).catch(() => {});
  load();
  return { el, destroy() { destroyed = true; } };
}

function insertAtCursor(area, text) {
  const start = area.selectionStart ?? area.value.length;
  const end = area.selectionEnd ?? start;
  area.value = area.value.slice(0, start) + text + area.value.slice(end);
  area.selectionStart = area.selectionEnd = start + text.length;
  area.focus();
}
