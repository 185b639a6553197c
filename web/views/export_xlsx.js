// "Export XLSX": a download link for the client list or the order list with the same filters
// as the list on screen. exportButton("orders", {status: "new"}) / exportButton("clients", {q}).

import { h } from "../dom.js";
import { t } from "../i18n.js";

/** `query` is an object (or a function returning one, read at click time). */
export function exportButton(kind, query = {}) {
  const link = h("a", { class: "btn btn-sm", testid: `export-${kind}-xlsx`, download: `${kind}.xlsx` }, t("documents.export_xlsx"));
  const refresh = () => {
    const params = new URLSearchParams();
    const values = typeof query === "function" ? query() : query;
    for (const [k, v] of Object.entries(values || {})) if (v !== undefined && v !== null && v !== "") params.set(k, v);
    const qs = params.toString();
    link.href = `/api/${kind}/export.xlsx${qs ? "?" + qs : ""}`;
  };
  refresh();
  link.addEventListener("mousedown", refresh);
  link.addEventListener("focus", refresh);
  return link;
}
