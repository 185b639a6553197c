// Outcome settings (#/outcomes, admins): the buttons operators press after a
// call — labels in Russian and English, whether the outcome is final, counts
// as a failed attempt on the redial ladder, archives, needs a callback time,
// which task follows it, its key and place —, add one's own, deactivate.
// Built-in outcomes may be relabelled but not removed.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { clearFieldErrors, emptyState, errorBanner, loading, panel, showFieldErrors, toast } from "../ui.js";
import { forgetOutcomes, outcomeLabel } from "./outcome_buttons.js";
import { TASK_KINDS, kindLabel } from "./task_card.js";

const FLAGS = ["final", "failed_attempt", "archives", "requires_next_at"];

export function renderOutcomesAdmin(ctx) {
  const body = h("div", null, loading());
  let destroyed = false;

  const el = h("div", { class: "page page-outcomes", testid: "outcomes-page" },
    h("div", { class: "page-head" }, h("h1", { class: "page-title" }, t("outcomes.admin_title"))),
    h("p", { class: "muted" }, t("outcomes.admin_text")),
    panel({ title: t("outcomes.admin_list"), flush: true }, body),
    panel({ title: t("outcomes.admin_add"), testid: "outcome-add-panel" }, addForm()),
  );

  if (!ctx.hasRole("admin")) {
    mount(el, errorBanner(t("error.code.forbidden"), "page-error"));
    return { el, title: t("outcomes.admin_title") };
  }

  async function load() {
    try {
      const data = await api("GET", "/outcomes");
      if (destroyed) return;
      const items = [...(data.items || [])].sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
      mount(body, items.length === 0 ? emptyState(t("outcomes.none"), "outcomes-empty")
        : h("table", { class: "table table-outcomes", testid: "outcomes-table" },
          h("thead", null, h("tr", null,
            h("th", null, t("outcomes.col.code")),
            h("th", null, t("outcomes.col.labels")),
            h("th", null, t("outcomes.col.flags")),
            h("th", null, t("outcomes.col.next_kind")),
            h("th", null, t("outcomes.col.key_position")),
            h("th", { class: "col-actions" }, h("span", { class: "sr-only" }, t("common.actions"))),
          )),
          h("tbody", null, items.map(row)),
        ));
    } catch (err) {
      if (!destroyed && err.status !== 401) mount(body, errorBanner(err.message, "page-error"));
    }
  }

  function changed() {
    forgetOutcomes();
    load();
  }

  function controls(item) {
    const input = (name, attrs = {}) => h("input", { type: "text", name, value: item[name] ?? "", testid: "outcome-field-" + name, "aria-label": t("outcomes.field." + name), ...attrs });
    const check = (name) => h("label", { class: "outcome-flag" },
      h("input", { type: "checkbox", name, checked: !!item[name], testid: "outcome-field-" + name }), " ", t("outcomes.field." + name));
    const kind = h("select", { name: "next_task_kind", testid: "outcome-field-next_task_kind", "aria-label": t("outcomes.field.next_task_kind") },
      h("option", { value: "" }, "—"),
      TASK_KINDS.map((k) => h("option", { value: k, selected: item.next_task_kind === k }, kindLabel(k))));
    return {
      labels: h("div", { class: "outcome-labels" },
        h("div", { dataset: { field: "label_ru" } }, input("label_ru", { placeholder: "RU", maxlength: "80" })),
        h("div", { dataset: { field: "label_en" } }, input("label_en", { placeholder: "EN", maxlength: "80" }))),
      flags: h("div", { class: "outcome-flags" }, FLAGS.map(check)),
      kind: h("div", { dataset: { field: "next_task_kind" } }, kind),
      keyPos: h("div", { class: "outcome-keypos" },
        h("div", { dataset: { field: "hotkey" } }, input("hotkey", { maxlength: "1", class: "input-key", placeholder: "1–9" })),
        h("div", { dataset: { field: "position" } }, input("position", { type: "number", min: "0", max: "999", class: "input-pos" }))),
    };
  }

  function values(scope) {
    const read = (name) => scope.querySelector(`[name=${name}]`);
    const data = {
      label_ru: read("label_ru").value.trim(), label_en: read("label_en").value.trim(),
      next_task_kind: read("next_task_kind").value || null,
      hotkey: read("hotkey").value.trim() || null,
      position: read("position").value === "" ? 0 : Number(read("position").value),
    };
    FLAGS.forEach((flag) => { data[flag] = read(flag).checked; });
    return data;
  }

  function row(item) {
    const c = controls(item);
    const save = h("button", { type: "button", class: "btn btn-sm btn-primary", testid: "outcome-save" }, t("action.save"));
    const toggle = h("button", { type: "button", class: "btn btn-sm", testid: item.active === false ? "outcome-activate" : "outcome-deactivate" },
      item.active === false ? t("outcomes.activate") : t("outcomes.deactivate"));
    const tr = h("tr", { testid: "outcome-row", dataset: { code: item.code, active: item.active === false ? "0" : "1" }, class: item.active === false ? "inactive" : null },
      h("td", null, h("code", null, item.code), item.builtin && h("div", { class: "muted small" }, t("outcomes.builtin")),
        h("div", { class: "small" }, outcomeLabel(item))),
      h("td", null, c.labels), h("td", null, c.flags), h("td", null, c.kind), h("td", null, c.keyPos),
      // a built-in outcome is relabelled, never removed: no button that would only be refused
      h("td", { class: "col-actions outcome-actions" }, save, !item.builtin && toggle),
    );
    save.addEventListener("click", async () => {
      clearFieldErrors(tr);
      save.disabled = true;
      try {
        await api("PATCH", `/outcomes/${encodeURIComponent(item.code)}`, { body: values(tr) });
        toast(t("outcomes.saved"), "success");
        changed();
      } catch (err) {
        if (err.status === 401) return;
        const orphans = showFieldErrors(tr, err.fields);
        if (orphans.length || !Object.keys(err.fields || {}).length) toast(err.message, "error");
      } finally {
        save.disabled = false;
      }
    });
    toggle.addEventListener("click", async () => {
      toggle.disabled = true;
      try {
        if (item.active === false) await api("PATCH", `/outcomes/${encodeURIComponent(item.code)}`, { body: { active: true } });
        else await api("DELETE", `/outcomes/${encodeURIComponent(item.code)}`);
        changed();
      } catch (err) {
        toggle.disabled = false;
        if (err.status === 401) return;
        toast(err.status === 409 ? t("outcomes.builtin_kept") : err.message, "error");
      }
    });
    return tr;
  }

  function addForm() {
    const code = h("input", { type: "text", name: "code", testid: "outcome-new-code", maxlength: "32", placeholder: "moved_abroad", pattern: "[a-z0-9_]{1,32}", "aria-label": t("outcomes.field.code") });
    const c = controls({ position: 100 });
    const error = h("div", { class: "form-error-slot" });
    const form = h("form", {
      class: "outcome-add", testid: "outcome-add", novalidate: true,
      onsubmit: async (event) => {
        event.preventDefault();
        clearFieldErrors(form);
        mount(error);
        const data = { code: code.value.trim(), ...values(form) };
        try {
          await api("POST", "/outcomes", { body: data });
          toast(t("outcomes.added"), "success");
          form.reset();
          changed();
        } catch (err) {
          if (err.status === 401) return;
          const orphans = showFieldErrors(form, err.fields);
          if (orphans.length || !Object.keys(err.fields || {}).length) mount(error, errorBanner(err.message));
        }
      },
    },
    error,
    h("div", { class: "outcome-add-grid" },
      h("div", { class: "field", dataset: { field: "code" } }, h("label", null, t("outcomes.field.code")), code),
      h("div", { class: "field" }, h("label", null, t("outcomes.col.labels")), c.labels),
      h("div", { class: "field" }, h("label", null, t("outcomes.col.flags")), c.flags),
      h("div", { class: "field" }, h("label", null, t("outcomes.col.next_kind")), c.kind),
      h("div", { class: "field" }, h("label", null, t("outcomes.col.key_position")), c.keyPos),
    ),
    h("button", { type: "submit", class: "btn btn-primary", testid: "outcome-add-submit" }, "+ ", t("outcomes.add")));
    // Each field's testid inside the add form says "new".
    form.querySelectorAll("[data-testid^=outcome-field-]").forEach((control) => {
      control.dataset.testid = control.dataset.testid.replace("outcome-field-", "outcome-new-");
    });
    return form;
  }

  load();
  return { el, title: t("outcomes.admin_title"), destroy() { destroyed = true; } };
}
