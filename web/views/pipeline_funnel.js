// The funnel tab of #/pipeline (supervisors and admins): per stage the orders that reached it
// in the period, the conversion from the stage before, the median and average time spent in it;
// and per operator the moves they made.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { emptyState, errorBanner, loading, serverText } from "../ui.js";
import { ageText, stageName } from "./pipeline_common.js";

const PRESETS = ["today", "this_week", "this_month"];

export function renderFunnel(shopId) {
  const preset = h("select", { testid: "funnel-preset", "aria-label": t("pipeline.period"), onchange: () => load() },
    PRESETS.map((p) => h("option", { value: p, selected: p === "this_month" }, t("pipeline.preset." + p))));
  const body = h("div", { testid: "funnel-body" }, loading());
  let controller = null;

  async function load() {
    if (controller) controller.abort();
    controller = new AbortController();
    try {
      const report = await api("GET", "/reports/funnel", { query: { shop_id: shopId, preset: preset.value }, signal: controller.signal });
      mount(body, render(report));
    } catch (err) {
      if (err.name !== "AbortError") mount(body, errorBanner(serverText("error.code." + err.code, err.message), "funnel-error"));
    }
  }

  function render(report) {
    const pct = (v) => (v === null || v === undefined ? "—" : `${Math.round(v * 1000) / 10}%`);
    const stages = h("table", { class: "table funnel-table", testid: "funnel-table" },
      h("thead", null, h("tr", null, h("th", null, t("pipeline.stage")), h("th", { class: "num" }, t("pipeline.orders")),
        h("th", { class: "num" }, t("pipeline.conversion")), h("th", { class: "num" }, t("pipeline.median")), h("th", { class: "num" }, t("pipeline.average")))),
      h("tbody", null, report.stages.map((row) => h("tr", { testid: "funnel-row", dataset: { stage: row.code } },
        h("td", null, stageName(row)),
        h("td", { class: "num", testid: "funnel-orders" }, String(row.orders)),
        h("td", { class: "num" }, funnelBar(row.conversion ?? 1), pct(row.conversion)),
        h("td", { class: "num" }, ageText(row.median_seconds)),
        h("td", { class: "num" }, ageText(row.avg_seconds))))));
    const ops = report.operators.length === 0 ? emptyState(t("pipeline.no_moves"), "funnel-no-moves")
      : h("table", { class: "table", testid: "funnel-operators" },
        h("thead", null, h("tr", null, h("th", null, t("pipeline.operator")), h("th", { class: "num" }, t("pipeline.moves")),
          report.stages.map((s) => h("th", { class: "num" }, stageName(s))))),
        h("tbody", null, report.operators.map((op) => h("tr", null, h("td", null, op.name), h("td", { class: "num" }, String(op.moves)),
          report.stages.map((s) => h("td", { class: "num" }, String(op.stages[s.code] || 0)))))));
    return h("div", null, stages, h("h3", null, t("pipeline.by_operator")), ops);
  }

  load();
  return { el: h("div", { class: "funnel", testid: "funnel" }, h("div", { class: "toolbar" }, preset), body), destroy: () => controller && controller.abort() };
}

// The bar's width is a CSS variable set through the CSSOM: the policy allows no style attribute.
function funnelBar(share) {
  const bar = h("span", { class: "funnel-bar", testid: "funnel-bar" });
  bar.style.setProperty("--share", String(share));
  return bar;
}
