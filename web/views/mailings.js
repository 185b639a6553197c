// Mailings (#/mailings: the segment builder, saved segments and the mailings;
// #/mailings/<id>: one mailing — compose, preview, test, start, report — in
// mailing_page.js). Supervisors and admins.

import { api } from "../api.js";
import { debounce, h, mount } from "../dom.js";
import { navigate } from "../router.js";
import { t } from "../i18n.js";
import { emptyState, errorBanner, field, loading, panel, showFieldErrors, toast } from "../ui.js";

export { renderMailing } from "./mailing_page.js";

// the builder's fields: [filter key, kind]
const FIELDS = [
  ["cities", "list"], ["regions", "list"], ["tags_all", "list"], ["tags_any", "list"],
  ["age_min", "int"], ["age_max", "int"], ["orders_min", "int"], ["orders_max", "int"],
  ["spent_min", "money"], ["spent_max", "money"], ["last_order_within_days", "int"],
  ["last_order_after", "date"], ["last_order_before", "date"], ["product", "text"],
  ["has_email", "bool"], ["has_phone", "bool"],
];

export function mailingStatus(status) {
  return h("span", { class: ["chip", "mailing-status-" + status], dataset: { status } },
    t("mailings.status." + status));
}

/** The builder's controls as a filter object (empty fields left out). */
function readFilter(controls) {
  const filter = {};
  for (const [key, kind] of FIELDS) {
    const raw = controls[key].value.trim();
    if (raw === "") continue;
    if (kind === "list") filter[key] = raw.split(",").map((s) => s.trim()).filter(Boolean);
    else if (kind === "int") filter[key] = Number.isInteger(Number(raw)) ? Number(raw) : raw;
    else if (kind === "bool") filter[key] = raw === "yes";
    else filter[key] = raw;
  }
  return filter;
}

function fillFilter(controls, filter) {
  for (const [key, kind] of FIELDS) {
    const value = filter[key];
    if (value === undefined) controls[key].value = "";
    else if (kind === "list") controls[key].value = value.join(", ");
    else if (kind === "bool") controls[key].value = value ? "yes" : "no";
    else controls[key].value = String(value);
  }
}

function control(key, kind) {
  if (kind === "bool") {
    return h("select", { name: key },
      h("option", { value: "" }, t("mailings.any")),
      h("option", { value: "yes" }, t("common.yes")),
      h("option", { value: "no" }, t("common.no")));
  }
  const type = kind === "date" ? "date" : kind === "int" ? "number" : "text";
  return h("input", { type, name: key, min: kind === "int" ? "0" : null,
    placeholder: kind === "list" ? t("mailings.list_hint") : null });
}

export function renderMailings(ctx) {
  let destroyed = false;
  let editing = null; // the saved segment being edited
  const controls = {};
  const countEl = h("strong", { class: "segment-count", testid: "segment-count", "aria-live": "polite" }, "…");
  const nameInput = h("input", { type: "text", name: "name", maxlength: "200" });
  const form = h("form", { class: "segment-form", testid: "segment-form", novalidate: true },
    field({ label: t("mailings.segment_name"), name: "name", control: nameInput }),
    h("div", { class: "segment-grid" }, FIELDS.map(([key, kind]) => {
      controls[key] = control(key, kind);
      return field({ label: t("mailings.f." + key), name: "filter." + key, control: controls[key],
        testid: "filter-" + key });
    })),
    h("div", { class: "segment-foot" },
      h("span", null, t("mailings.count_label"), " ", countEl),
      h("button", { type: "submit", class: "btn btn-primary", testid: "segment-save" }, t("mailings.segment_save")),
      h("button", { type: "button", class: "btn", testid: "segment-new", onclick: () => { editing = null; form.reset(); recount(); } },
        t("mailings.segment_clear")),
      h("button", { type: "button", class: "btn", testid: "segment-mailing", onclick: () => createMailing(null, readFilter(controls)) },
        t("mailings.new_from_filter"))),
  );
  const segmentsBody = h("div", null, loading());
  const mailingsBody = h("div", null, loading());

  const el = h("div", { class: "page page-mailings", testid: "mailings-page" },
    h("div", { class: "page-head" }, h("h1", { class: "page-title" }, t("nav.mailings"))),
    panel({ title: t("mailings.builder"), testid: "segment-builder" },
      h("p", { class: "muted" }, t("mailings.builder_text")), form),
    panel({ title: t("mailings.segments"), flush: true, testid: "segments-panel" }, segmentsBody),
    panel({ title: t("mailings.list"), flush: true, testid: "mailings-panel" }, mailingsBody),
  );
  if (!ctx.hasRole("supervisor")) {
    mount(el, errorBanner(t("error.code.forbidden"), "page-error"));
    return { el, title: t("nav.mailings") };
  }

  let countSeq = 0;
  const recount = debounce(async () => {
    const seq = ++countSeq;
    try {
      const data = await api("POST", "/segments/count", { body: { filter: readFilter(controls) } });
      if (destroyed || seq !== countSeq) return;
      showFieldErrors(form, {});
      countEl.textContent = String(data.count);
    } catch (err) {
      if (destroyed || seq !== countSeq) return;
      countEl.textContent = "—";
      if (err.details && err.details.fields) showFieldErrors(form, err.details.fields);
    }
  }, 300);
  form.addEventListener("input", recount);
  form.addEventListener("change", recount);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = { name: nameInput.value, filter: readFilter(controls) };
    try {
      if (editing) await api("PUT", "/segments/" + editing, { body });
      else editing = (await api("POST", "/segments", { body })).id;
      toast(t("mailings.segment_saved"), "success");
      loadSegments();
    } catch (err) {
      if (err.details && err.details.fields) showFieldErrors(form, err.details.fields);
      else toast(err.message, "error");
    }
  });

  async function createMailing(segment, filter) {
    try {
      const mailing = await api("POST", "/mailings", { body: {
        name: segment ? segment.name : (nameInput.value.trim() || t("mailings.untitled")),
        segment_id: segment ? segment.id : null, filter: segment ? {} : filter,
        subject: "", body: t("mailings.default_body"),
      } });
      navigate("#/mailings/" + mailing.id);
    } catch (err) {
      if (err.details && err.details.fields) showFieldErrors(form, err.details.fields);
      else toast(err.message, "error");
    }
  }

  async function loadSegments() {
    try {
      const data = await api("GET", "/segments");
      if (destroyed) return;
      mount(segmentsBody, data.items.length === 0 ? emptyState(t("mailings.no_segments"), "segments-empty")
        : h("table", { class: "table", testid: "segments-table" },
          h("tbody", null, data.items.map((s) => h("tr", { dataset: { id: s.id } },
            h("td", null, s.name),
            h("td", { class: "col-actions" },
              h("button", { type: "button", class: "btn btn-small", testid: "segment-edit", onclick: () => {
                editing = s.id; nameInput.value = s.name; fillFilter(controls, s.filter); recount();
              } }, t("mailings.edit")),
              h("button", { type: "button", class: "btn btn-small", testid: "segment-to-mailing",
                onclick: () => createMailing(s) }, t("mailings.new_mailing")),
              h("button", { type: "button", class: "btn btn-small btn-danger", testid: "segment-delete", onclick: async () => {
                await api("DELETE", "/segments/" + s.id);
                if (editing === s.id) editing = null;
                loadSegments();
              } }, t("mailings.delete"))))))));
    } catch (err) {
      if (!destroyed && err.status !== 401) mount(segmentsBody, errorBanner(err.message, "page-error"));
    }
  }

  async function loadMailings() {
    try {
      const data = await api("GET", "/mailings");
      if (destroyed) return;
      mount(mailingsBody, data.items.length === 0 ? emptyState(t("mailings.none"), "mailings-empty")
        : h("table", { class: "table", testid: "mailings-table" },
          h("thead", null, h("tr", null,
            ["name", "status", "channel", "recipients", "sent", "failed", "skipped"].map((c) => h("th", null, t("mailings.col." + c))))),
          h("tbody", null, data.items.map((m) => h("tr", { dataset: { id: m.id }, testid: "mailing-row" },
            h("td", null, h("a", { href: "#/mailings/" + m.id }, m.name)),
            h("td", null, mailingStatus(m.status)),
            h("td", null, t("mailings.channel." + m.channel)),
            h("td", { class: "num" }, m.recipients ?? "—"),
            h("td", { class: "num" }, (m.counts.sent || 0) + (m.counts.delivered || 0)),
            h("td", { class: "num" }, m.counts.failed || 0),
            h("td", { class: "num" }, m.counts.skipped || 0))))));
    } catch (err) {
      if (!destroyed && err.status !== 401) mount(mailingsBody, errorBanner(err.message, "page-error"));
    }
  }

  recount();
  loadSegments();
  loadMailings();
  return { el, title: t("nav.mailings"), destroy() { destroyed = true; recount.cancel(); } };
}
