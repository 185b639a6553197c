// Create / edit a client. Sends only changed fields on edit; shows the
// server's field errors in place, and on 409 duplicate_client lists the
// existing card(s) with "Open existing card" and "Create anyway" (force).
// The same form, compact and prefilled, is the screen pop's new-client form.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { utcOffset, isValidTimeZone } from "../format.js";
import { TIMEZONE_GROUPS, ALL_TIMEZONES } from "../timezones.js";
import {
  clearFieldErrors, errorBanner, field, loading, showFieldErrors, submitOnCtrlEnter, toast, translatedOr,
} from "../ui.js";
import { contactRows } from "./contact_rows.js";

const PHONE_LABELS = ["mobile", "work", "home", "other"];
const EMAIL_LABELS = ["personal", "work", "other"];

export function renderClientForm(id, ctx) {
  const el = h("div", { class: "page page-form" }, loading());
  let destroyed = false;

  async function load() {
    const [client, operators] = await Promise.all([
      id ? api("GET", `/clients/${id}`) : Promise.resolve(null),
      ctx.hasRole("admin") ? api("GET", "/users").then((d) => d.items || []).catch(() => null) : Promise.resolve(null),
    ]);
    return { client, operators };
  }

  load().then(({ client, operators }) => {
    if (destroyed) return;
    document.title = `${client ? t("client.edit_title") : t("client.new")} — ${t("app.title")}`;
    mount(el, buildForm(client, operators, ctx));
  }).catch((err) => {
    if (destroyed || err.status === 401) return;
    mount(el, errorBanner(err.status === 404 ? t("client.not_found") : err.message, "page-error"));
  });

  return { el, title: id ? t("client.edit_title") : t("client.new"), destroy() { destroyed = true; } };
}

/**
 * A new-client form to embed elsewhere (the screen pop): `initial` prefills
 * fields ({phones: [{number, label}], name}), `onSaved(card)` replaces the
 * navigation to the new card, and it does not take the focus by itself.
 */
export function newClientForm({ ctx, initial, onSaved, testid }) {
  return buildForm(null, null, ctx, { initial, onSaved, testid, compact: true, autofocus: false });
}

function buildForm(client, operators, ctx, options = {}) {
  const original = client ? snapshot(client) : null;
  const v = original || {
    name: "", company: "", city: "", region: "", timezone: "", tags: [], birthday: null,
    do_not_call: false, notes: "", assigned_operator_id: null, phones: [{ number: "", label: "mobile" }],
    emails: [], ...(options.initial || {}),
  };

  const input = (name, attrs = {}) => h("input", { type: "text", name, value: v[name] || "", autocomplete: "off", ...attrs });
  const nameInput = input("name");
  const companyInput = input("company");
  const cityInput = input("city");
  const regionInput = input("region");
  const tagsInput = h("input", { type: "text", name: "tags", value: v.tags.join(", "), autocomplete: "off" });
  const birthdayInput = h("input", { type: "date", name: "birthday", value: v.birthday || "" });
  const dncInput = h("input", { type: "checkbox", name: "do_not_call", checked: v.do_not_call, testid: "field-do_not_call", id: "f-dnc" });
  const notesInput = h("textarea", { name: "notes", rows: "4", value: v.notes || "" });
  const timezoneSelect = timezonePicker(v.timezone);
  const operatorSelect = operators && h("select", { name: "assigned_operator_id" },
    h("option", { value: "" }, t("client.no_operator")),
    operators.filter((u) => u.active !== false || u.id === v.assigned_operator_id)
      .map((u) => h("option", { value: u.id, selected: u.id === v.assigned_operator_id }, `${u.name} (${u.login})`)),
  );

  const phones = contactRows({
    name: "phones", valueKey: "number", rows: v.phones, labels: PHONE_LABELS, labelPrefix: "phone_label.",
    inputType: "tel", placeholder: "+7 900 000-00-00", addText: t("client.add_phone"), title: t("field.phones"),
  });
  const emails = contactRows({
    name: "emails", valueKey: "email", rows: v.emails, labels: EMAIL_LABELS, labelPrefix: "email_label.",
    inputType: "email", placeholder: "name@example.com", addText: t("client.add_email"), title: t("field.emails"),
  });

  const topSlot = h("div", { class: "form-messages" });
  const saveButton = h("button", { type: "submit", class: "btn btn-primary", testid: "save-client", title: "Ctrl+Enter" }, t("action.save"));
  const cancelHref = client ? `#/clients/${client.id}` : "#/";

  const form = submitOnCtrlEnter(h("form", {
    class: ["form", "form-client", options.compact && "form-compact"], testid: options.testid || "client-form", novalidate: true,
    onsubmit: (e) => { e.preventDefault(); save(false); },
  },
    !options.compact && h("header", { class: "form-head" },
      h("h1", null, client ? t("client.edit_title") : t("client.new")),
      client && h("div", { class: "muted" }, client.name),
    ),
    topSlot,
    h("div", { class: "form-columns" },
      h("fieldset", { class: "form-section" },
        h("legend", null, t("client.section_main")),
        field({ label: t("field.name"), name: "name", control: nameInput, required: true }),
        field({ label: t("field.company"), name: "company", control: companyInput }),
        h("div", { class: "field-row" },
          field({ label: t("field.city"), name: "city", control: cityInput, className: "grow" }),
          field({ label: t("field.region"), name: "region", control: regionInput, className: "grow" }),
        ),
        h("div", { class: "field-row" },
          field({ label: t("field.timezone"), name: "timezone", control: timezoneSelect, className: "grow" }),
          field({ label: t("field.birthday"), name: "birthday", control: birthdayInput }),
        ),
        field({ label: t("field.tags"), name: "tags", control: tagsInput, hint: t("client.tags_hint") }),
        operatorSelect && field({ label: t("field.assigned_operator"), name: "assigned_operator_id", control: operatorSelect }),
        h("div", { class: "field field-check", dataset: { field: "do_not_call" } },
          dncInput, h("label", { htmlFor: "f-dnc" }, t("field.do_not_call")),
          h("div", { class: "hint" }, t("client.dnc_hint")),
        ),
      ),
      h("fieldset", { class: "form-section" },
        h("legend", null, t("client.section_contacts")),
        phones.el,
        emails.el,
        field({ label: t("field.notes"), name: "notes", control: notesInput }),
      ),
    ),
    h("footer", { class: "form-foot" },
      saveButton,
      !options.compact && h("a", { class: "btn btn-ghost", href: cancelHref, testid: "cancel" }, t("action.cancel")),
      h("span", { class: "hint" }, t("form.shortcut_hint")),
    ),
  ));
  if (options.autofocus !== false) queueMicrotask(() => nameInput.focus());

  function values() {
    const tags = [...new Set(tagsInput.value.split(",").map((s) => s.trim()).filter(Boolean))];
    const result = {
      name: nameInput.value.trim(),
      company: companyInput.value.trim(),
      city: cityInput.value.trim(),
      region: regionInput.value.trim(),
      timezone: timezoneSelect.value || null,
      tags,
      birthday: birthdayInput.value || null,
      do_not_call: dncInput.checked,
      notes: notesInput.value,
      phones: phones.read(),
      emails: emails.read(),
    };
    if (operatorSelect) result.assigned_operator_id = operatorSelect.value ? Number(operatorSelect.value) : null;
    return result;
  }

  function body(force) {
    const current = values();
    if (!original) {
      const created = { ...current, force };
      if (!created.timezone) delete created.timezone;
      return created;
    }
    const changed = {};
    for (const [key, value] of Object.entries(current)) {
      if (JSON.stringify(value) !== JSON.stringify(original[key] ?? null) && !(isBlank(value) && isBlank(original[key]))) {
        changed[key] = value;
      }
    }
    if (force) changed.force = true;
    return changed;
  }

  async function save(force) {
    clearFieldErrors(form);
    mount(topSlot);
    phones.compact();
    emails.compact();
    const payload = body(force);
    if (client && Object.keys(payload).filter((k) => k !== "force").length === 0) {
      location.hash = `#/clients/${client.id}`;
      return;
    }
    saveButton.disabled = true;
    try {
      const saved = client
        ? await api("PATCH", `/clients/${client.id}`, { body: payload })
        : await api("POST", "/clients", { body: payload });
      toast(client ? t("client.saved") : t("client.created_toast"), "success");
      ctx.refreshSearch();
      if (options.onSaved) options.onSaved(saved);
      else location.hash = `#/clients/${saved.id}`;
    } catch (err) {
      if (err.status === 401) return;
      if (err.status === 409 && err.code === "duplicate_client") {
        mount(topSlot, duplicateWarning(err, () => save(true), !!client));
        topSlot.querySelector("a, button").focus();
        return;
      }
      const orphans = showFieldErrors(form, err.fields);
      if (!Object.keys(err.fields).length || orphans.length) {
        mount(topSlot, errorBanner([err.message, ...orphans].join(" · ")));
      }
    } finally {
      saveButton.disabled = false;
    }
  }

  return form;
}

function duplicateWarning(err, forceSave, editing) {
  const matches = err.details.matches || [];
  return h("div", { class: "banner banner-warn", role: "alert", testid: "duplicate-warning" },
    h("strong", null, t("client.duplicate_title")),
    h("ul", { class: "dup-list" }, matches.map((match) => h("li", { testid: "duplicate-match" },
      h("span", { class: "dup-name" }, match.name),
      h("span", { class: "muted" }, ` — ${translatedOr("search.matched." + match.matched_on, match.matched_on)}: ${match.value ?? ""}`),
      h("a", { class: "btn btn-sm", href: `#/clients/${match.id}`, testid: "open-existing" }, t("client.open_existing")),
    ))),
    h("button", { type: "button", class: "btn btn-sm btn-warn", testid: "create-anyway", onclick: forceSave },
      editing ? t("client.save_anyway") : t("client.create_anyway")),
  );
}

function timezonePicker(current) {
  const now = new Date();
  const option = (zone) => h("option", { value: zone, selected: zone === current },
    `${translatedOr("tz." + zone, zone)} (${isValidTimeZone(zone) ? utcOffset(zone, now) : "?"})`);
  return h("select", { name: "timezone" },
    h("option", { value: "" }, t("client.timezone_unset")),
    current && !ALL_TIMEZONES.includes(current) && option(current),
    TIMEZONE_GROUPS.map((group) => h("optgroup", { label: t("tzgroup." + group.group) }, group.zones.map(option))),
  );
}

function snapshot(client) {
  return {
    name: client.name || "",
    company: client.company || "",
    city: client.city || "",
    region: client.region || "",
    timezone: client.timezone || null,
    tags: client.tags || [],
    birthday: client.birthday || null,
    do_not_call: !!client.do_not_call,
    notes: client.notes || "",
    assigned_operator_id: client.assigned_operator ? client.assigned_operator.id : null,
    phones: (client.phones || []).map((p) => ({ number: p.number || p.e164, label: p.label || "" })),
    emails: (client.emails || []).map((e) => ({ email: e.email, label: e.label || "" })),
  };
}

function isBlank(value) {
  return value === null || value === undefined || value === "" || (Array.isArray(value) && value.length === 0);
}
