// Charts of the reports page, drawn with the vendored Chart.js (web/vendor/chartjs).
//
// The library (~200 KB) is fetched the first time a report needs a chart, so the operators'
// pages never download it. Its UMD build can only announce itself as window.Chart; the global
// is taken away as soon as the script has run, so no other view can come to depend on it, and
// every chart is destroyed with the view that drew it (liveChartCount() says how many live).
// Chart.js sizes its canvas through the CSSOM and injects no <style>, which the page's CSP
// (style-src 'self') allows.

import { h } from "../dom.js";

const LIB_URL = "/static/vendor/chartjs/chart.umd.min.js";

let library = null; // Promise of the Chart constructor
const live = new Set();

export const COLORS = {
  inbound: "#1f5fbf",
  outbound: "#7ea6e0",
  answered: "#1e7d45",
  missed: "#c4352b",
  orders: "#a86200",
  kpi: "#6b3fa0",
  grid: "#e6eaf0",
  text: "#5b6778",
};

// Outcome slices: distinct, readable on white, in the order the server lists outcomes.
const PALETTE = ["#1f5fbf", "#1e7d45", "#c4352b", "#a86200", "#6b3fa0", "#0f8a8a", "#b8467a",
  "#5b6778", "#7ea6e0", "#8fbf5a", "#e0a040", "#9c7ad6"];

export function paletteColor(index) {
  return PALETTE[index % PALETTE.length];
}

/** The Chart constructor, loading the library once (a failed load may be retried). */
export function loadChartLibrary() {
  if (!library) {
    library = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = LIB_URL;
      script.onload = () => {
        const Chart = window.Chart;
        delete window.Chart;
        script.remove();
        if (typeof Chart === "function") resolve(Chart);
        else reject(new Error("Chart.js did not define itself"));
      };
      script.onerror = () => {
        script.remove();
        library = null;
        reject(new Error("Chart.js could not be loaded"));
      };
      document.head.appendChild(script);
    });
  }
  return library;
}

/** How many charts are drawn and not yet destroyed (the tests check views clean up). */
export function liveChartCount() {
  return live.size;
}

/** What the library itself holds for the chart drawn in `box` ({labels, data: [[...]...]}), or null. */
export function drawnData(box) {
  for (const chart of live) {
    if (box.contains(chart.canvas)) {
      return { labels: [...chart.data.labels], data: chart.data.datasets.map((set) => [...set.data]) };
    }
  }
  return null;
}

/**
 * A box for one chart: data-testid="chart-<name>"; the figures it shows are also written to
 * data-labels / data-series (JSON), so a test or a curious supervisor can read them exactly.
 */
export function chartBox(name, ariaLabel) {
  const canvas = h("canvas", { role: "img", "aria-label": ariaLabel });
  const box = h("div", { class: "chart-box", testid: "chart-" + name, dataset: { chart: name } }, canvas);
  return { box, canvas };
}

/**
 * Draw `spec` ({type, labels, datasets: [{label, data, ...chart.js options}], options}) in a
 * chartBox; returns {destroy}. Resolves to null when the box left the page while the library
 * was loading (the view was destroyed meanwhile).
 */
export async function drawChart({ box, canvas }, spec) {
  box.dataset.labels = JSON.stringify(spec.labels);
  box.dataset.series = JSON.stringify(spec.datasets.map((set) => ({ label: set.label, data: set.data })));
  const Chart = await loadChartLibrary();
  if (!box.isConnected) return null;
  const chart = new Chart(canvas, {
    type: spec.type,
    data: { labels: spec.labels, datasets: spec.datasets },
    options: mergeOptions(baseOptions(spec.type), spec.options || {}),
  });
  live.add(chart);
  box.dataset.drawn = "true";
  return {
    destroy() {
      if (!live.has(chart)) return;
      live.delete(chart);
      chart.destroy();
    },
  };
}

function baseOptions(type) {
  const font = { family: getComputedStyle(document.body).fontFamily, size: 12 };
  const options = {
    responsive: true,
    maintainAspectRatio: false,
    animation: matchMedia("(prefers-reduced-motion: reduce)").matches ? false : { duration: 250 },
    font,
    // one or two operators must not turn into slabs across the whole chart
    datasets: { bar: { maxBarThickness: 48 } },
    plugins: {
      legend: { position: "bottom", labels: { font, color: COLORS.text, boxWidth: 12 } },
      tooltip: { bodyFont: font, titleFont: font },
    },
  };
  if (type === "bar" || type === "line") {
    const axis = { ticks: { font, color: COLORS.text }, grid: { color: COLORS.grid } };
    options.scales = { x: { ...axis, grid: { display: false } }, y: { ...axis, beginAtZero: true, ticks: { ...axis.ticks, precision: 0 } } };
  }
  return options;
}

function mergeOptions(base, extra) {
  const out = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    out[key] = value && typeof value === "object" && !Array.isArray(value) && base[key] && typeof base[key] === "object"
      ? mergeOptions(base[key], value) : value;
  }
  return out;
}
