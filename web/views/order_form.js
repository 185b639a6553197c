// Create / edit an order in a modal dialog: shop, number, status, total,
// currency and item rows.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import {
  ORDER_STATUSES, clearFieldErrors, errorBanner, field, openDialog, showFieldErrors, submitOnCtrlEnter, toast,
} from "../ui.js";
import { loadStages, stageName } from "./pipeline_common.js";

const CURRENCIES = ["RUB", "UAH", "USD", "EUR", "KZT", "BYN"];

let shopsCache = null;

async function loadShops() {
  if (!shopsCache) {
    const data = await api("GET", "/shops");
    shopsCache = data.items || [];
  }
  return shopsCache;
}

/** Opens the dialog; `order` absent means "new order for clientId". */
export async function openOrderDialog({ clientId, order = null, onSaved }) {
  let shops;
  try {
    shops = await loadShops();
  } catch (err) {
    if (err.status !== 401) toast(err.message, "error");
    return;
  }
  const original = order ? snapshot(order) : null;

  const shopSelect = h("select", { name: "shop_id" },
    !order && h("option", { value: "" }, t("order.choose_shop")),
    shops.map((shop) => h("option", { value: shop.id, selected: order && order.shop && order.shop.id === shop.id }, shop.name)),
  );
  if (shops.length === 1 && !order) shopSelect.value = String(shops[0].id);
  const numberInput = h("input", { type: "text", name: "number", value: order ? order.number || "" : "", autocomplete: "off" });
  const statusSelect = h("select", { name: "status" },
    ORDER_STATUSES.map((status) => h("option", { value: status, selected: (order ? order.status : "new") === status }, t("status." + status))),
    order && !ORDER_STATUSES.includes(order.status) && h("option", { value: order.status, selected: true }, order.status),
  );
  // the shop's own stages (pipeline): an order in a stage of its own keeps it when edited
  async function fillStatuses() {
    if (!shopSelect.value) return;
    try {
      const stages = await loadStages(shopSelect.value);
      const current = wanted;
      mount(statusSelect, stages.filter((s) => s.active || s.code === current).map((s) =>
        h("option", { value: s.code, selected: s.code === current }, stageName(s))));
    } catch {
      // the default list stays
    }
  }
  let wanted = order ? order.status : "new";
  statusSelect.addEventListener("change", () => { wanted = statusSelect.value; });
  shopSelect.addEventListener("change", fillStatuses);
  fillStatuses();
  const totalInput = h("input", { type: "text", name: "total", inputmode: "decimal", value: order ? order.total || "" : "", autocomplete: "off" });
  const currentCurrency = order ? order.currency : "RUB";
  const currencySelect = h("select", { name: "currency" },
    [...new Set([...CURRENCIES, currentCurrency].filter(Boolean))].map((code) => h("option", { value: code, selected: code === currentCurrency }, code)),
  );
  const sumButton = h("button", { type: "button", class: "btn btn-sm btn-ghost", title: t("order.sum_items_hint"), onclick: fillTotalFromItems }, "Σ");

  const itemsBody = h("tbody");
  const itemsField = h("div", { class: "field", dataset: { field: "items" } },
    h("label", null, t("order.items")),
    h("table", { class: "table table-edit" },
      h("thead", null, h("tr", null,
        h("th", { class: "col-sku" }, t("order.sku")), h("th", null, t("order.item_name")),
        h("th", { class: "num col-qty" }, t("order.qty")), h("th", { class: "num col-price" }, t("order.price")), h("th", { class: "col-remove" }),
      )),
      itemsBody,
    ),
    h("button", { type: "button", class: "btn btn-sm btn-ghost", testid: "add-item", onclick: () => { addItemRow(); renumber(); itemsBody.lastElementChild.querySelector("input").focus(); } }, "+ ", t("order.add_item")),
  );
  const startItems = order ? order.items || [] : [];
  (startItems.length ? startItems : [{}]).forEach((item) => addItemRow(item));
  renumber();

  const errorSlot = h("div");
  const saveButton = h("button", { type: "submit", class: "btn btn-primary", testid: "save-order", title: "Ctrl+Enter" }, t("action.save"));

  const form = submitOnCtrlEnter(h("form", { class: "form", testid: "order-form", novalidate: true, onsubmit: onSubmit },
    errorSlot,
    h("div", { class: "form-grid" },
      field({ label: t("order.shop"), name: "shop_id", control: shopSelect, required: true }),
      field({ label: t("order.number"), name: "number", control: numberInput, required: true }),
      field({ label: t("order.status"), name: "status", control: statusSelect }),
      h("div", { class: "field-row" },
        field({ label: t("order.total"), name: "total", control: totalInput, required: true, className: "grow" }),
        sumButton,
        field({ label: t("order.currency"), name: "currency", control: currencySelect }),
      ),
    ),
    itemsField,
    h("footer", { class: "form-foot" },
      saveButton,
      h("button", { type: "button", class: "btn btn-ghost", onclick: () => dialog.close() }, t("action.cancel")),
      h("span", { class: "hint" }, t("form.shortcut_hint")),
    ),
  ));

  const dialog = openDialog({ title: order ? t("order.edit_title", { number: order.number }) : t("order.new"), body: form, testid: "order-dialog", wide: true });

  function addItemRow(item = {}) {
    const row = h("tr", { class: "item-row" },
      h("td", { class: "field", dataset: { role: "sku" } }, h("input", { type: "text", value: item.sku || "", "aria-label": t("order.sku") })),
      h("td", { class: "field", dataset: { role: "name" } }, h("input", { type: "text", value: item.name || "", "aria-label": t("order.item_name") })),
      h("td", { class: "field num", dataset: { role: "qty" } }, h("input", { type: "number", min: "0", step: "1", value: item.qty ?? 1, "aria-label": t("order.qty") })),
      h("td", { class: "field num", dataset: { role: "price" } }, h("input", { type: "text", inputmode: "decimal", value: item.price ?? "", "aria-label": t("order.price") })),
      h("td", null, h("button", {
        type: "button", class: "icon-btn", title: t("action.remove"), "aria-label": t("action.remove"),
        onclick: () => { row.remove(); renumber(); },
      }, "×")),
    );
    itemsBody.appendChild(row);
  }

  /** Keep data-field / testids in step with row positions ("items.0.qty"). */
  function renumber() {
    [...itemsBody.children].forEach((row, index) => {
      row.dataset.field = `items.${index}`;
      row.querySelectorAll("td[data-role]").forEach((cell) => {
        cell.dataset.field = `items.${index}.${cell.dataset.role}`;
        cell.querySelector("input").dataset.testid = `field-items.${index}.${cell.dataset.role}`;
      });
    });
  }

  function readItems() {
    return [...itemsBody.children].map((row) => {
      const get = (role) => row.querySelector(`td[data-role="${role}"] input`).value.trim();
      return { sku: get("sku"), name: get("name"), qty: Number(get("qty") || 0), price: normaliseDecimal(get("price")) };
    }).filter((item) => item.sku || item.name || item.price);
  }

  function fillTotalFromItems() {
    const sum = readItems().reduce((acc, item) => acc + item.qty * Number(item.price || 0), 0);
    totalInput.value = sum.toFixed(2);
  }

  function values() {
    return {
      shop_id: shopSelect.value ? Number(shopSelect.value) : null,
      number: numberInput.value.trim(),
      status: statusSelect.value,
      total: normaliseDecimal(totalInput.value),
      currency: currencySelect.value,
      items: readItems(),
    };
  }

  async function onSubmit(event) {
    event.preventDefault();
    clearFieldErrors(form);
    mount(errorSlot);
    const current = values();
    const local = {};
    if (!current.shop_id) local.shop_id = t("form.required");
    if (!current.number) local.number = t("form.required");
    if (!current.total) local.total = t("form.required");
    if (Object.keys(local).length) {
      showFieldErrors(form, local);
      return;
    }
    let body;
    if (order) {
      body = {};
      for (const [key, value] of Object.entries(current)) {
        if (JSON.stringify(value) !== JSON.stringify(original[key])) body[key] = value;
      }
      if (!Object.keys(body).length) {
        dialog.close();
        return;
      }
    } else {
      body = { client_id: clientId, ...current };
    }
    saveButton.disabled = true;
    try {
      if (order) await api("PATCH", `/orders/${order.id}`, { body });
      else await api("POST", "/orders", { body });
      dialog.close();
      toast(t("order.saved"), "success");
      onSaved();
    } catch (err) {
      if (err.status === 401) return;
      const orphans = showFieldErrors(form, err.fields);
      if (!Object.keys(err.fields).length || orphans.length) {
        mount(errorSlot, errorBanner([err.message, ...orphans].join(" · ")));
      }
    } finally {
      saveButton.disabled = false;
    }
  }
}

function snapshot(order) {
  return {
    shop_id: order.shop ? order.shop.id : null,
    number: order.number || "",
    status: order.status,
    total: normaliseDecimal(order.total || ""),
    currency: order.currency,
    items: (order.items || []).map((item) => ({
      sku: item.sku || "", name: item.name || "", qty: Number(item.qty || 0), price: normaliseDecimal(String(item.price ?? "")),
    })),
  };
}

/** "1 234,5" → "1234.5": operators type decimals the Russian way. */
function normaliseDecimal(text) {
  return String(text).replace(/\s/g, "").replace(",", ".");
}
