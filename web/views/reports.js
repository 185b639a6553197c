// #/reports (supervisors and admins): a period (today, yesterday, this week, this month or
// from–to dates, local dates in the call centre's timezone), two tabs — operators and queues —
// each with its charts, its sortable figures table with a totals row, and CSV / XLSX exports
// of the same report; under the operators' table the plans the KPI column measures against.
//
// The chosen period and tab live in the page's own hash query (#/reports?preset=this_week&tab=
// queues), rewritten with replaceState: a reload, a link or a language switch keeps them.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { getLang, t } from "../i18n.js";
import { emptyState, errorBanner, loading, panel, showFieldErrors, clearFieldErrors } from "../ui.js";
import { COLORS, chartBox, drawChart, paletteColor } from "./reports_charts.js";
import { createPlansEditor } from "./reports_plans.js";
import { operatorColumns, queueColumns, reportTable } from "./reports_table.js";

const PRESETS = ["today", "yesterday", "this_week", "this_month"];
const TABS = ["operators", "queues"];
const DATE = /^\d{4}-\d{2}-\d{2}$/;

// the column each table was last sorted by, for the rest of the session
const sortMemory = { operators: null, queues: null };

function readState() {
  const query = new URLSearchParams(location.hash.split("?")[1] || "");
  const tab = TABS.includes(query.get("tab")) ? query.get("tab") : "operators";
  const from = query.get("from");
  const to = query.get("to");
  if (!PRESETS.includes(query.get("preset")) && DATE.test(from || "") && DATE.test(to || "")) {
    return { tab, preset: null, from, to };
  }
  return { tab, preset: PRESETS.includes(query.get("preset")) ? query.get("preset") : "today", from: null, to: null };
}

function periodQuery(state) {
  return state.preset ? { preset: state.preset } : { from: state.from, to: state.to };
}

function shortDate(iso) {
  const match = DATE.exec(iso || "") && iso.split("-");
  if (!match) return iso || "";
  return new Intl.DateTimeFormat(getLang() === "en" ? "en-GB" : "ru-RU", { day: "2-digit", month: "2-digit", year: "numeric", timeZone: "UTC" })
    .format(new Date(Date.UTC(+match[0], +match[1] - 1, +match[2])));
}

const HOURS = Array.from({ length: 24 }, (_, hour) => String(hour).padStart(2, "0"));

export function renderReports(ctx) {
  const title = t("nav.reports");
  if (!ctx.hasRole("supervisor")) {
    return { el: h("div", { class: "page", testid: "reports-page" }, errorBanner(t("error.forbidden"), "page-error")), title };
  }

  const state = readState();
  let destroyed = false;
  let controller = null;
  let charts = [];

  const presetButtons = PRESETS.map((preset) => h("button", { type: "button", class: "btn btn-sm seg-btn", testid: "preset-" + preset,
    onclick: () => {
      Object.assign(state, { preset, from: null, to: null });
      load();
    } }, t("reports.preset." + preset)));
  const fromInput = h("input", { type: "date", name: "from", testid: "report-from", "aria-label": t("reports.from") });
  const toInput = h("input", { type: "date", name: "to", testid: "report-to", "aria-label": t("reports.to") });
  const periodForm = h("form", { class: "report-period", testid: "report-period-form", novalidate: true, onsubmit: applyDates },
    h("div", { class: "seg", role: "group", "aria-label": t("reports.period") }, presetButtons),
    h("div", { class: "report-dates" },
      h("label", { class: "report-date", dataset: { field: "from" } }, h("span", null, t("reports.from")), fromInput),
      h("label", { class: "report-date", dataset: { field: "to" } }, h("span", null, t("reports.to")), toInput),
      h("button", { type: "submit", class: "btn btn-sm", testid: "report-apply" }, t("reports.apply"))),
  );
  const periodText = h("div", { class: "muted report-period-text", testid: "report-period" });
  const exportCsv = h("a", { class: "btn btn-sm", testid: "export-csv", download: "", hidden: true }, t("reports.export_csv"));
  const exportXlsx = h("a", { class: "btn btn-sm", testid: "export-xlsx", download: "", hidden: true }, t("reports.export_xlsx"));
  const tabButtons = TABS.map((tab) => h("button", { type: "button", role: "tab", class: "report-tab", testid: "tab-" + tab,
    onclick: () => {
      if (state.tab === tab) return;
      state.tab = tab;
      load();
    } }, t("reports.tab." + tab)));
  const body = h("div", { class: "report-body", testid: "report-body" }, loading());
  const plans = createPlansEditor({ onSaved: () => load() });
  const plansPanel = panel({ title: t("reports.plans_title"), testid: "plans-panel", flush: true },
    h("p", { class: "muted report-plans-text" }, t("reports.plans_text")), plans.el);

  const el = h("div", { class: "page page-reports", testid: "reports-page" },
    h("div", { class: "page-head" }, h("h1", { class: "page-title" }, title),
      h("div", { class: "report-exports" }, exportCsv, exportXlsx)),
    periodForm,
    periodText,
    h("div", { class: "report-tabs", role: "tablist" }, tabButtons),
    body,
    plansPanel,
  );

  function applyDates(event) {
    event.preventDefault();
    clearFieldErrors(periodForm);
    const missing = {};
    if (!fromInput.value) missing.from = t("form.required");
    if (!toInput.value) missing.to = t("form.required");
    if (Object.keys(missing).length) {
      showFieldErrors(periodForm, missing);
      return;
    }
    Object.assign(state, { preset: null, from: fromInput.value, to: toInput.value });
    load();
  }

  function destroyCharts() {
    charts.forEach((chart) => chart && chart.destroy());
    charts = [];
  }

  function markControls() {
    presetButtons.forEach((button, i) => button.setAttribute("aria-pressed", String(PRESETS[i] === state.preset)));
    tabButtons.forEach((button, i) => button.setAttribute("aria-selected", String(TABS[i] === state.tab)));
    plansPanel.hidden = state.tab !== "operators";
  }

  async function load() {
    if (controller) controller.abort();
    controller = new AbortController();
    destroyCharts();
    const query = new URLSearchParams({ ...periodQuery(state), tab: state.tab });
    history.replaceState(history.state, "", "#/reports?" + query.toString());
    markControls();
    clearFieldErrors(periodForm);
    el.dataset.state = "loading";
    mount(body, loading());
    try {
      const data = await api("GET", "/reports/" + state.tab, { query: periodQuery(state), signal: controller.signal });
      if (destroyed) return;
      fromInput.value = data.from;
      toInput.value = data.to;
      periodText.textContent = t("reports.period_text", { from: shortDate(data.from), to: shortDate(data.to),
        timezone: data.timezone, seconds: data.service_level_seconds });
      const exportUrl = (format) => `/api/reports/${state.tab}?` + new URLSearchParams({ from: data.from, to: data.to, format });
      exportCsv.href = exportUrl("csv");
      exportXlsx.href = exportUrl("xlsx");
      exportCsv.hidden = exportXlsx.hidden = false;
      if (state.tab === "operators") showOperators(data);
      else showQueues(data);
      el.dataset.state = "ready";
      el.dataset.period = `${state.tab}:${data.from}:${data.to}`;
    } catch (err) {
      if (destroyed || err.name === "AbortError") return;
      el.dataset.state = "error";
      exportCsv.hidden = exportXlsx.hidden = true;
      if (err.status === 422) showFieldErrors(periodForm, err.fields);
      if (err.status !== 401) mount(body, errorBanner(err.status === 403 ? t("error.forbidden") : err.message, "report-error"));
    }
  }

  function chartPanel(name, heading, ariaLabel) {
    const box = chartBox(name, ariaLabel);
    return { box, el: panel({ title: heading, className: "chart-panel", testid: "chart-panel-" + name }, box.box) };
  }

  function draw(box, spec) {
    charts.push({ destroy() {} });
    const slot = charts.length - 1;
    const mine = charts;
    drawChart(box, spec).then((chart) => {
      if (!chart) return;
      if (mine !== charts || destroyed) chart.destroy();
      else charts[slot] = chart;
    }, (err) => {
      if (box.box.isConnected) mount(box.box, errorBanner(err.message, "chart-error"));
    });
  }

  function hourChart(byHour, series) {
    const rows = Array.from({ length: 24 }, (_, hour) => (byHour || []).find((item) => item.hour === hour) || {});
    return {
      type: "bar",
      labels: HOURS,
      datasets: series.map((key) => ({ label: t("reports.series." + key), data: rows.map((row) => row[key] || 0),
        backgroundColor: COLORS[key], stack: "calls" })),
      options: { scales: { x: { stacked: true }, y: { stacked: true } } },
    };
  }

  function emptyPeriod() {
    return emptyState(t("reports.no_calls"), "report-empty");
  }

  function showOperators(data) {
    const totals = data.totals || {};
    const rows = data.operators || [];
    const noCalls = !((totals.calls_in || 0) + (totals.calls_out || 0));
    const table = rows.length
      ? reportTable({ columns: operatorColumns(), rows, totals, sort: sortMemory.operators, testid: "report-table",
        rowTestid: "report-row", rowKey: (row) => row.user_id, onSort: (sort) => { sortMemory.operators = sort; } })
      : emptyState(t("reports.no_operators"), "report-no-rows");
    if (noCalls) {
      mount(body, emptyPeriod(), panel({ title: t("reports.table_operators"), flush: true, testid: "report-table-panel" }, table));
      return;
    }
    const hours = chartPanel("by-hour", t("reports.chart.by_hour"), t("reports.chart.by_hour"));
    const outcomes = chartPanel("outcomes", t("reports.chart.outcomes"), t("reports.chart.outcomes"));
    const compare = chartPanel("operators", t("reports.chart.operators"), t("reports.chart.operators"));
    const counted = (data.outcomes || []).filter((item) => item.count > 0);
    mount(body,
      h("div", { class: "report-charts" }, hours.el, outcomes.el, compare.el),
      panel({ title: t("reports.table_operators"), flush: true, testid: "report-table-panel" }, table));

    draw(hours.box, hourChart(data.by_hour, ["inbound", "outbound"]));
    if (counted.length) {
      draw(outcomes.box, {
        type: "doughnut",
        labels: counted.map((item) => (getLang() === "en" ? item.label_en : item.label_ru) || item.code),
        datasets: [{ label: t("reports.series.outcomes"), data: counted.map((item) => item.count),
          backgroundColor: counted.map((_, i) => paletteColor(i)) }],
        options: { plugins: { legend: { position: "right" } } },
      });
    } else {
      mount(outcomes.box.box, emptyState(t("reports.no_outcomes"), "outcomes-none"));
    }
    draw(compare.box, operatorsChart(rows));
  }

  function operatorsChart(rows) {
    const shown = rows.filter((row) => row.calls_in + row.calls_out > 0 || row.orders_confirmed > 0 || row.plan);
    const withKpi = shown.some((row) => row.kpi && typeof row.kpi.calls === "number");
    const datasets = [
      { label: t("reports.series.calls"), data: shown.map((row) => row.calls_in + row.calls_out), backgroundColor: COLORS.inbound },
      { label: t("reports.series.answered"), data: shown.map((row) => row.answered), backgroundColor: COLORS.answered },
      { label: t("reports.series.orders"), data: shown.map((row) => row.orders_confirmed), backgroundColor: COLORS.orders },
    ];
    const options = {};
    if (withKpi) {
      datasets.push({ type: "line", label: t("reports.series.kpi_calls"), yAxisID: "kpi", borderColor: COLORS.kpi,
        backgroundColor: COLORS.kpi, data: shown.map((row) => (row.kpi && typeof row.kpi.calls === "number" ? Math.round(row.kpi.calls * 100) : null)) });
      options.scales = { kpi: { position: "right", beginAtZero: true, grid: { display: false },
        ticks: { callback: (value) => value + " %" } } };
    }
    return { type: "bar", labels: shown.map((row) => row.name || row.login), datasets, options };
  }

  function showQueues(data) {
    const totals = data.totals || {};
    const rows = data.queues || [];
    const table = rows.length
      ? reportTable({ columns: queueColumns(), rows, totals, sort: sortMemory.queues, testid: "report-table",
        rowTestid: "report-row", rowKey: (row) => row.queue, onSort: (sort) => { sortMemory.queues = sort; } })
      : emptyState(t("reports.no_queues"), "report-no-rows");
    const hourCalls = (data.by_hour || []).reduce((sum, item) => sum + (item.inbound || 0) + (item.outbound || 0), 0);
    if (!(totals.offered || 0) && !hourCalls) {
      mount(body, emptyPeriod(), panel({ title: t("reports.table_queues"), flush: true, testid: "report-table-panel" }, table));
      return;
    }
    const hours = chartPanel("by-hour", t("reports.chart.by_hour_queues"), t("reports.chart.by_hour_queues"));
    const compare = chartPanel("queues", t("reports.chart.queues"), t("reports.chart.queues"));
    mount(body,
      h("div", { class: "report-charts report-charts-2" }, hours.el, compare.el),
      panel({ title: t("reports.table_queues"), flush: true, testid: "report-table-panel" }, table));
    draw(hours.box, hourChart(data.by_hour, ["answered", "missed"]));
    draw(compare.box, {
      type: "bar",
      labels: rows.map((row) => row.queue),
      datasets: [
        { label: t("reports.series.offered"), data: rows.map((row) => row.offered), backgroundColor: COLORS.inbound },
        { label: t("reports.series.answered"), data: rows.map((row) => row.answered), backgroundColor: COLORS.answered },
        { label: t("reports.series.abandoned"), data: rows.map((row) => row.abandoned), backgroundColor: COLORS.missed },
      ],
    });
  }

  markControls();
  load();
  plans.load();

  return {
    el,
    title,
    destroy() {
      destroyed = true;
      if (controller) controller.abort();
      destroyCharts();
      plans.destroy();
    },
  };
}
