// The plans editor of the reports page: per operator, calls a day, confirmed orders a day and
// sales a day (the KPI column measures against them). One row, one Save; an empty box means
// "no plan" (null). The server validates; its field errors are shown under the boxes.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { clearFieldErrors, emptyState, errorBanner, loading, showFieldErrors, toast } from "../ui.js";

const FIELDS = [
  { name: "calls_per_day", step: "1" },
  { name: "confirmed_orders_per_day", step: "1" },
  { name: "sales_per_day", step: "0.01" },
];

/**
 * The editor's element and its load(); onSaved(item) runs after every successful save (the
 * page reloads the report so the KPI column follows).
 */
export function createPlansEditor({ onSaved }) {
  const body = h("div", { testid: "plans-body" }, loading());
  let destroyed = false;
  let controller = null;

  async function load() {
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const data = await api("GET", "/reports/plans", { signal: controller.signal });
      if (destroyed) return;
      const items = data.items || [];
      mount(body, items.length === 0 ? emptyState(t("reports.plans_none"), "plans-empty")
        : h("table", { class: "table table-plans", testid: "plans-table" },
          h("thead", null, h("tr", null,
            h("th", null, t("reports.col.name")),
            FIELDS.map((f) => h("th", { class: "num" }, t("reports.plan." + f.name))),
            h("th", { class: "col-actions" }, h("span", { class: "sr-only" }, t("common.actions"))))),
          h("tbody", null, items.map(row))));
    } catch (err) {
      if (!destroyed && err.name !== "AbortError" && err.status !== 401) mount(body, errorBanner(err.message, "plans-error"));
    }
  }

  function input(item, field) {
    const value = item[field.name];
    return h("td", { class: "num", dataset: { field: field.name } },
      h("input", { type: "number", min: "0", step: field.step, name: field.name, class: "plan-input",
        value: value === null || value === undefined ? "" : String(value),
        testid: "plan-" + field.name, "aria-label": `${t("reports.plan." + field.name)}: ${item.name || item.login}`,
        placeholder: "—" }));
  }

  function row(item) {
    const tr = h("tr", { testid: "plan-row", dataset: { userId: String(item.user_id) } },
      h("td", { testid: "plan-name" }, item.name || item.login),
      FIELDS.map((field) => input(item, field)),
      h("td", { class: "col-actions" }, h("button", { type: "button", class: "btn btn-sm btn-primary", testid: "plan-save",
        onclick: () => save(item, tr) }, t("action.save"))));
    tr.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && event.target instanceof HTMLInputElement) {
        event.preventDefault();
        save(item, tr);
      }
    });
    return tr;
  }

  function values(tr) {
    const read = (name) => tr.querySelector(`[name=${name}]`).value.trim();
    const number = (text) => (text === "" ? null : Number(text));
    return {
      calls_per_day: number(read("calls_per_day")),
      confirmed_orders_per_day: number(read("confirmed_orders_per_day")),
      sales_per_day: read("sales_per_day") === "" ? null : read("sales_per_day"),
    };
  }

  async function save(item, tr) {
    const button = tr.querySelector("[data-testid=plan-save]");
    clearFieldErrors(tr);
    const payload = values(tr);
    // a box the browser itself finds invalid (letters in a number box) reads as "" — say so
    // instead of saving "no plan" behind the supervisor's back
    const bad = FIELDS.find((f) => tr.querySelector(`[name=${f.name}]`).validity.badInput);
    if (bad) {
      showFieldErrors(tr, { [bad.name]: t("reports.plan_bad_number") });
      return;
    }
    button.disabled = true;
    try {
      const saved = await api("PUT", `/reports/plans/${item.user_id}`, { body: payload });
      if (destroyed) return;
      Object.assign(item, saved);
      toast(t("reports.plan_saved", { name: item.name || item.login }), "success");
      if (onSaved) onSaved(saved);
    } catch (err) {
      if (destroyed) return;
      if (err.status === 422 && Object.keys(err.fields).length) {
        const orphans = showFieldErrors(tr, err.fields);
        if (orphans.length) toast(orphans.join("; "), "error");
      } else if (err.status !== 401) {
        toast(err.message, "error");
      }
    } finally {
      button.disabled = false;
    }
  }

  return {
    el: body,
    load,
    destroy() {
      destroyed = true;
      if (controller) controller.abort();
    },
  };
}
