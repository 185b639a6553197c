// Settings › Requisites: a shop's legal details for its invoices and offers (checked by the
// server: INN, KPP, BIK and the accounts' keys), and its logo, stamp and signature images.

import { api } from "../../api.js";
import { h, mount } from "../../dom.js";
import { t } from "../../i18n.js";
import { clearFieldErrors, errorBanner, field, loading, showFieldErrors, toast } from "../../ui.js";

const FIELDS = ["legal_name", "inn", "kpp", "ogrn", "address", "phone", "email", "bank_name", "bik",
  "account", "corr_account", "director", "accountant", "invoice_prefix"];
const VAT_RATES = ["none", "0", "10", "20"];
const IMAGES = ["logo", "stamp", "signature"];

function imageBox(shopId, kind, url, onSaved) {
  const preview = url ? h("img", { src: url, alt: t("documents.image." + kind), class: "req-preview", testid: `req-preview-${kind}` })
    : h("div", { class: "req-preview empty muted", testid: `req-preview-${kind}` }, t("documents.no_image"));
  const input = h("input", { type: "file", accept: "image/png,image/jpeg", testid: `req-upload-${kind}` });
  input.addEventListener("change", async () => {
    if (!input.files.length) return;
    const form = new FormData();
    form.append("file", input.files[0]);
    try {
      onSaved(await api("POST", `/shops/${shopId}/requisites/${kind}`, { form }));
      toast(t("documents.image_saved"), "success");
    } catch (err) {
      if (err.status !== 401) toast(err.message, "error");
    }
  });
  return h("div", { class: "req-image", testid: `req-image-${kind}` },
    h("div", { class: "req-image-title" }, t("documents.image." + kind)), preview,
    h("label", { class: "btn btn-sm" }, t("documents.upload"), input));
}

export function renderRequisitesSection(ctx) {
  const shopSelect = h("select", { testid: "req-shop", "aria-label": t("documents.shop") });
  const body = h("div", null, loading());
  const el = h("div", { class: "requisites", testid: "settings-requisites" },
    h("div", { class: "field" }, h("label", null, t("documents.shop")), shopSelect), body);

  function renderForm(data) {
    const shopId = data.shop_id;
    const controls = {};
    const rows = FIELDS.map((name) => {
      controls[name] = h("input", { name, value: data[name] || "", autocomplete: "off" });
      return field({ label: t("documents.f." + name), name, control: controls[name], testid: "req-" + name });
    });
    controls.vat_rate = h("select", { name: "vat_rate" },
      VAT_RATES.map((r) => h("option", { value: r, selected: data.vat_rate === r }, t("documents.vat." + r))));
    rows.push(field({ label: t("documents.f.vat_rate"), name: "vat_rate", control: controls.vat_rate, testid: "req-vat_rate" }));
    const error = h("div");
    const save = h("button", { type: "submit", class: "btn btn-primary", testid: "req-save" }, t("action.save"));
    const form = h("form", {
      class: "form req-form", testid: "req-form", novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        clearFieldErrors(form);
        mount(error);
        save.disabled = true;
        const payload = Object.fromEntries(Object.entries(controls).map(([k, c]) => [k, c.value]));
        try {
          renderForm(await api("PUT", `/shops/${shopId}/requisites`, { body: payload }));
          toast(t("documents.saved"), "success");
        } catch (err) {
          save.disabled = false;
          if (err.status === 401) return;
          const fields = err.fields;
          const orphans = showFieldErrors(form, fields);
          mount(error, errorBanner(orphans.length || !Object.keys(fields).length ? err.message : t("documents.fix_fields"), "req-error"));
        }
      },
    }, h("div", { class: "req-grid" }, rows), error, h("div", { class: "form-actions" }, save));
    const images = h("div", { class: "req-images" },
      IMAGES.map((kind) => imageBox(shopId, kind, data.images[kind], renderForm)));
    mount(body, form, h("h3", null, t("documents.images")), images);
  }

  async function loadShop() {
    mount(body, loading());
    try {
      renderForm(await api("GET", `/shops/${shopSelect.value}/requisites`));
    } catch (err) {
      if (err.status !== 401) mount(body, errorBanner(err.message, "req-load-error"));
    }
  }

  api("GET", "/shops").then((data) => {
    if (!data.items.length) {
      mount(body, h("div", { class: "empty", testid: "req-no-shops" }, t("documents.no_shops")));
      return;
    }
    mount(shopSelect, data.items.map((s) => h("option", { value: s.id }, s.name)));
    shopSelect.addEventListener("change", loadShop);
    loadShop();
  }).catch((err) => { if (err.status !== 401) mount(body, errorBanner(err.message, "req-load-error")); });
  return { el };
}
