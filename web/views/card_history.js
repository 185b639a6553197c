// Edit history on the card: who changed which field, when, old → new.

import { h } from "../dom.js";
import { t } from "../i18n.js";
import { formatDateTime } from "../format.js";
import { emptyState, panel, translatedOr } from "../ui.js";

export function renderHistory(client) {
  const entries = [...(client.history || [])].sort((a, b) => String(b.at).localeCompare(String(a.at)));
  const orderNumbers = new Map((client.orders || []).map((order) => [order.id, order.number]));

  const body = entries.length === 0
    ? emptyState(t("history.empty"), "history-empty")
    : h("table", { class: "table table-history" },
      h("thead", null, h("tr", null,
        h("th", { class: "col-when" }, t("history.when")),
        h("th", null, t("history.who")),
        h("th", null, t("history.field")),
        h("th", null, t("history.change")),
      )),
      h("tbody", null, entries.map((entry) => h("tr", { testid: "history-entry", dataset: { field: entry.field, entity: entry.entity || "client" } },
        h("td", { class: "nowrap muted" }, h("time", { datetime: entry.at }, formatDateTime(entry.at))),
        h("td", { class: "nowrap" }, (entry.user && entry.user.name) || t("history.system")),
        h("td", null, fieldLabel(entry, orderNumbers)),
        entry.field === "created"
          ? h("td", { class: "change created" }, h("span", { class: "new", testid: "history-new" }, valueText(entry.new, entry.field)))
          : h("td", { class: "change" },
            h("span", { class: ["old", isBlank(entry.old) && "blank"], testid: "history-old" }, valueText(entry.old, entry.field)),
            h("span", { class: "arrow", "aria-label": t("history.changed_to") }, " → "),
            h("span", { class: "new", testid: "history-new" }, valueText(entry.new, entry.field)),
          ),
      ))),
    );

  return panel({ title: t("history.title"), testid: "client-history", flush: true }, body);
}

function fieldLabel(entry, orderNumbers) {
  const label = translatedOr("field." + entry.field, entry.field);
  if (entry.entity === "order") {
    const number = orderNumbers.get(entry.entity_id) || entry.entity_id;
    return [h("span", { class: "muted" }, t("history.order", { number }) + ": "), label];
  }
  return label;
}

/** Values arrive as strings, numbers, booleans, null or lists of phones/emails. */
function valueText(value, field) {
  if (field === "status" && typeof value === "string") return translatedOr("status." + value, value);
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return value ? t("common.yes") : t("common.no");
  if (Array.isArray(value)) return value.map((item) => valueText(item)).join(", ") || "—";
  if (typeof value === "object") {
    if (value.name && value.qty !== undefined) return `${value.name} × ${value.qty}`;
    return value.display || value.e164 || value.number || value.email || value.name || JSON.stringify(value);
  }
  if (value === "true" || value === "false") return value === "true" ? t("common.yes") : t("common.no");
  if (typeof value === "string" && /^[[{]/.test(value)) {
    // Lists (phones, emails, items) are stored in the history as JSON text.
    try {
      return valueText(JSON.parse(value), field);
    } catch {
      return value;
    }
  }
  return String(value);
}

function isBlank(value) {
  return value === null || value === undefined || value === "" || value === "[]";
}
