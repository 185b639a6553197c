// Shared bits of the order pages: a stage's name in the UI language, money, ages, shops.

import { api } from "../api.js";
import { h } from "../dom.js";
import { getLang, t } from "../i18n.js";

export function stageName(stage) {
  if (!stage) return "—";
  return (getLang() === "en" ? stage.name_en : stage.name_ru) || stage.code;
}

export function stageChip(stage) {
  const kind = (stage && stage.kind) || "open";
  return h("span", { class: ["chip", "stage-chip", "stage-" + kind], dataset: { stage: stage ? stage.code : "", status: stage ? stage.code : "" } }, stageName(stage));
}

/** "3 d", "5 h", "12 min" */
export function ageText(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds >= 86400) return t("pipeline.age_days", { n: Math.floor(seconds / 86400) });
  if (seconds >= 3600) return t("pipeline.age_hours", { n: Math.floor(seconds / 3600) });
  return t("pipeline.age_minutes", { n: Math.max(0, Math.floor(seconds / 60)) });
}

let shopsCache = null;
export async function loadShops() {
  if (!shopsCache) shopsCache = api("GET", "/shops").then((r) => r.items).catch((err) => { shopsCache = null; throw err; });
  return shopsCache;
}

export function loadStages(shopId) {
  return api("GET", `/shops/${shopId}/stages`).then((r) => r.items);
}

/** Ask for a tracking number (moves into "shipped"); resolves to the text, or null if cancelled. */
export function askTracking(openDialog, current) {
  return new Promise((resolve) => {
    let answered = false;
    const input = h("input", { name: "tracking_number", testid: "tracking-input", maxlength: "64", value: current || "", "aria-label": t("pipeline.tracking") });
    const form = h("form", { class: "form", onsubmit: (event) => { event.preventDefault(); answered = true; resolve(input.value.trim()); dlg.close(); } },
      h("label", { class: "field" }, h("span", { class: "field-label" }, t("pipeline.tracking")), input),
      h("div", { class: "form-actions" },
        h("button", { type: "submit", class: "btn btn-primary", testid: "tracking-save" }, t("pipeline.move")),
        h("button", { type: "button", class: "btn", onclick: () => dlg.close() }, t("action.cancel"))));
    const dlg = openDialog({ title: t("pipeline.tracking_title"), body: form, testid: "tracking-dialog", onClose: () => { if (!answered) resolve(null); } });
  });
}
