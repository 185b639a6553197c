// Editable list of phones or emails: value + label per row, add/remove rows.
// Rows are addressed like the server's field errors: "phones.0", "emails.1".

import { h } from "../dom.js";
import { t } from "../i18n.js";
import { translatedOr } from "../ui.js";

export function contactRows({ name, valueKey, rows, labels, labelPrefix, inputType, placeholder, addText, title }) {
  const list = h("div", { class: "contact-rows" });
  const el = h("div", { class: "field", dataset: { field: name } },
    h("label", null, title),
    list,
    h("button", {
      type: "button", class: "btn btn-sm btn-ghost", testid: `add-${name}`,
      onclick: () => { addRow({}); renumber(); list.lastElementChild.querySelector("input").focus(); },
    }, "+ ", addText),
  );

  function addRow(row) {
    const current = row.label || "";
    const labelSelect = h("select", { "aria-label": t("client.label") },
      h("option", { value: "" }, "—"),
      current && !labels.includes(current) && h("option", { value: current, selected: true }, current),
      labels.map((code) => h("option", { value: code, selected: code === current }, translatedOr(labelPrefix + code, code))),
    );
    const valueInput = h("input", {
      type: inputType, value: row[valueKey] || "", placeholder, autocomplete: "off", "aria-label": title,
      class: inputType === "tel" ? "phone" : null,
    });
    const item = h("div", { class: "contact-row" },
      h("div", { class: "contact-row-controls" },
        valueInput,
        labelSelect,
        h("button", {
          type: "button", class: "icon-btn", title: t("action.remove"), "aria-label": t("action.remove"),
          onclick: () => { item.remove(); renumber(); },
        }, "×"),
      ),
    );
    item._value = valueInput;
    item._label = labelSelect;
    list.appendChild(item);
  }

  function renumber() {
    [...list.children].forEach((item, index) => {
      item.dataset.field = `${name}.${index}`;
      item._value.dataset.testid = `field-${name}.${index}`;
      item._label.dataset.testid = `field-${name}.${index}.label`;
    });
  }

  rows.forEach(addRow);
  renumber();

  return {
    el,
    /** Drop empty rows so row positions match the indices the server reports. */
    compact() {
      [...list.children].forEach((item) => { if (!item._value.value.trim()) item.remove(); });
      renumber();
    },
    /** Non-empty rows as [{number|email, label}]. */
    read() {
      return [...list.children]
        .map((item) => ({ [valueKey]: item._value.value.trim(), label: item._label.value }))
        .filter((row) => row[valueKey]);
    },
  };
}
