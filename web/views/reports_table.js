// The figures tables of the reports page: one column list per report, readable units
// (percentages, m:ss, money), sorting by a click on a column head, a totals row, and the
// KPI column's bars against the operator's plan.
//
// Every figure cell carries its raw value in data-value (what sorting uses), so the reading
// and the number behind it never disagree.

import { h, mount } from "../dom.js";
import { formatDuration, formatMoney } from "../format.js";
import { getLang, t } from "../i18n.js";
import { reasonLabel } from "./agent_state.js";

const CURRENCY = "RUB";

function locale() {
  return getLang() === "en" ? "en-GB" : "ru-RU";
}

export function formatCount(value) {
  return value === null || value === undefined ? "—" : new Intl.NumberFormat(locale()).format(value);
}

export function formatPercent(ratio) {
  if (ratio === null || ratio === undefined) return "—";
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(ratio);
}

export function formatSeconds(seconds) {
  return seconds === null || seconds === undefined ? "—" : formatDuration(Math.round(seconds));
}

export function formatSales(amount) {
  return amount === null || amount === undefined ? "—" : formatMoney(amount, CURRENCY);
}

export function formatMinutes(minutes) {
  if (minutes === null || minutes === undefined) return "—";
  return t("reports.minutes", { n: new Intl.NumberFormat(locale(), { maximumFractionDigits: 1 }).format(minutes) });
}

const FORMATS = { count: formatCount, percent: formatPercent, seconds: formatSeconds, minutes: formatMinutes, money: formatSales };

/** A column: {key, label, kind: count|percent|seconds|minutes|money|text|kpi, value?(row), title?(row)}. */
function col(key, kind, extra = {}) {
  return { key, kind, label: t("reports.col." + key), ...extra };
}

export function operatorColumns() {
  return [
    col("name", "text", { value: (row) => row.name || row.login || "" }),
    // the plan is what a supervisor looks for first; it stays in view beside the name
    col("kpi", "kpi", { value: kpiMean }),
    col("calls_in", "count"),
    col("calls_out", "count"),
    col("answered", "count"),
    col("missed", "count"),
    col("missed_rate", "percent"),
    col("service_level", "percent"),
    col("avg_wait", "seconds"),
    col("max_wait", "seconds"),
    col("avg_talk", "seconds"),
    col("talk_seconds", "seconds"),
    col("avg_wrap_up", "seconds"),
    col("ready_seconds", "seconds"),
    col("paused_seconds", "seconds", { title: pausedTitle }),
    col("callbacks_done", "count"),
    col("callbacks_late_avg_minutes", "minutes"),
    col("redial_attempts", "count"),
    col("redial_reached", "count"),
    col("reach_rate", "percent"),
    col("orders_confirmed", "count"),
    col("sales", "money", { value: (row) => (row.sales === null || row.sales === undefined ? null : Number(row.sales)) }),
  ];
}

export function queueColumns() {
  return [
    col("queue", "text", { value: (row) => row.queue || t("reports.no_queue") }),
    col("offered", "count"),
    col("answered", "count"),
    col("abandoned", "count"),
    col("abandon_rate", "percent"),
    col("service_level", "percent"),
    col("avg_wait", "seconds"),
    col("max_wait", "seconds"),
    col("avg_talk", "seconds"),
  ];
}

function pausedTitle(row) {
  const reasons = Object.entries(row.paused_by_reason || {});
  if (!reasons.length) return null;
  return reasons.map(([reason, seconds]) => `${reason ? reasonLabel(reason) : t("reports.no_reason")}: ${formatSeconds(seconds)}`).join("\n");
}

const KPI_PARTS = ["calls", "orders", "sales"];

function kpiMean(row) {
  const values = KPI_PARTS.map((part) => row.kpi && row.kpi[part]).filter((v) => typeof v === "number");
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
}

/** Colour band of a KPI ratio: reached the plan, close to it, far behind. */
export function kpiLevel(ratio) {
  if (ratio >= 1) return "good";
  if (ratio >= 0.7) return "near";
  return "low";
}

function kpiCell(row) {
  if (!row.plan || !row.kpi) return h("span", { class: "muted", testid: "kpi-none", title: t("reports.kpi_no_plan") }, "—");
  return h("div", { class: "kpi", testid: "kpi" }, KPI_PARTS.map((part) => {
    const ratio = row.kpi[part];
    if (typeof ratio !== "number") return null;
    const level = kpiLevel(ratio);
    return h("div", { class: ["kpi-line", "kpi-" + level], testid: "kpi-" + part, dataset: { value: String(ratio), level },
      title: t("reports.kpi_part." + part) },
      h("span", { class: "kpi-name" }, t("reports.kpi_short." + part)),
      h("span", { class: "kpi-bar", "aria-hidden": "true" },
        h("span", { class: "kpi-fill", style: { width: Math.min(100, Math.round(ratio * 100)) + "%" } })),
      h("span", { class: "kpi-value num" }, formatPercent(ratio)));
  }));
}

function cellValue(column, row) {
  return column.value ? column.value(row) : row[column.key];
}

function cell(column, row) {
  const raw = cellValue(column, row);
  const attrs = { class: [column.kind !== "text" && column.kind !== "kpi" && "num", "col-" + column.key],
    testid: "cell-" + column.key, dataset: { value: raw === null || raw === undefined ? "" : String(raw) } };
  if (column.title) attrs.title = column.title(row);
  if (column.kind === "kpi") return h("td", attrs, kpiCell(row));
  if (column.kind === "text") return h("td", attrs, raw);
  return h("td", attrs, FORMATS[column.kind](column.key === "sales" ? row.sales : raw));
}

function compare(a, b) {
  const emptyA = a === null || a === undefined || a === "";
  const emptyB = b === null || b === undefined || b === "";
  if (emptyA || emptyB) return emptyA === emptyB ? 0 : emptyA ? 1 : -1;
  if (typeof a === "string" || typeof b === "string") return String(a).localeCompare(String(b), locale());
  return a - b;
}

/**
 * A sortable table: rows sorted by `sort` ({key, dir: "asc"|"desc"}, kept by the caller so a
 * reload keeps the order), a totals row (the first column says "Total") when `totals` is given.
 * onSort(sort) is told about a change.
 */
export function reportTable({ columns, rows, totals, sort, onSort, testid, rowTestid, rowKey }) {
  const table = h("table", { class: "table table-report", testid });
  let current = sort && columns.some((c) => c.key === sort.key) ? sort : null;

  function sorted() {
    if (!current) return rows;
    const column = columns.find((c) => c.key === current.key);
    const factor = current.dir === "desc" ? -1 : 1;
    // empty figures stay at the bottom whichever way the column is sorted
    return [...rows].sort((x, y) => {
      const a = cellValue(column, x);
      const b = cellValue(column, y);
      const empty = (v) => v === null || v === undefined || v === "";
      if (empty(a) || empty(b)) return compare(a, b);
      return factor * compare(a, b);
    });
  }

  function head() {
    return h("thead", null, h("tr", null, columns.map((column) => {
      const active = current && current.key === column.key;
      const ariaSort = active ? (current.dir === "asc" ? "ascending" : "descending") : "none";
      return h("th", { class: ["sortable", column.kind !== "text" && column.kind !== "kpi" && "num", "col-" + column.key],
        "aria-sort": ariaSort, scope: "col" },
        h("button", { type: "button", class: "sort-btn", testid: "sort-" + column.key,
          onclick: () => toggle(column) },
          column.label, h("span", { class: "sort-mark", "aria-hidden": "true" }, active ? (current.dir === "asc" ? " ▲" : " ▼") : "")));
    })));
  }

  function toggle(column) {
    const dir = current && current.key === column.key
      ? (current.dir === "asc" ? "desc" : "asc")
      : (column.kind === "text" ? "asc" : "desc");
    current = { key: column.key, dir };
    if (onSort) onSort(current);
    draw();
  }

  function draw() {
    mount(table,
      head(),
      h("tbody", null, sorted().map((row) => h("tr", { testid: rowTestid, dataset: { key: String(rowKey(row)) } },
        columns.map((column) => cell(column, row))))),
      totals && h("tfoot", null, h("tr", { class: "totals", testid: "totals-row" },
        columns.map((column, index) => (index === 0
          ? h("th", { scope: "row", testid: "cell-" + column.key }, t("reports.total"))
          : cell(column, totals))))),
    );
  }

  draw();
  return h("div", { class: "table-scroll" }, table);
}
