// Settings › Stages: a shop's order stages — add, rename (ru / en), reorder, who may move an
// order into each, the follow-up call it opens and the customer notification it sends.

import { api } from "../../api.js";
import { h, mount } from "../../dom.js";
import { t } from "../../i18n.js";
import { errorBanner, loading, serverText, toast } from "../../ui.js";
import { loadShops } from "../pipeline_common.js";

const ROLES = ["operator", "supervisor", "admin"];
const KINDS = ["open", "won", "lost"];
const EVENTS = ["order_received", "order_confirmed", "payment_received", "order_shipped", "order_at_pickup", "parcel_reminder", "abandoned_cart"];

export function renderStagesSection(ctx) {
  const shopSelect = h("select", { testid: "stages-shop", "aria-label": t("order.shop"), onchange: () => load() });
  const errors = h("div", { testid: "stages-error" });
  const list = h("div", { class: "stage-list", testid: "stage-list" }, loading());
  let stages = [];

  async function load() {
    mount(errors);
    try {
      stages = (await api("GET", `/shops/${shopSelect.value}/stages`)).items;
      draw();
    } catch (err) {
      mount(errors, errorBanner(err.message, "stages-load-error"));
    }
  }

  function draw() {
    mount(list, stages.map((stage, i) => row(stage, i)));
  }

  function move(i, by) {
    const j = i + by;
    if (j < 0 || j >= stages.length) return;
    [stages[i], stages[j]] = [stages[j], stages[i]];
    draw();
    const target = list.querySelectorAll("[data-testid=stage-row]")[j];
    if (target) target.querySelector(by < 0 ? ".stage-up" : ".stage-down")?.focus();
  }

  function row(stage, i) {
    const input = (name, value, attrs = {}) => h("input", { value: value ?? "", name, testid: "stage-" + name, "aria-label": t("stages.field." + name), ...attrs,
      oninput: (event) => { stage[name] = event.target.value; } });
    const task = stage.next_task || null;
    const taskTitle = h("input", { value: task ? task.title : "", testid: "stage-task-title", "aria-label": t("stages.field.task_title"), placeholder: t("stages.no_task"),
      oninput: () => syncTask() });
    const taskDays = h("input", { type: "number", min: "0", max: "365", value: task ? String(task.in_days) : "0", testid: "stage-task-days", "aria-label": t("stages.field.task_days"),
      oninput: () => syncTask() });
    function syncTask() {
      stage.next_task = taskTitle.value.trim() ? { title: taskTitle.value.trim(), in_days: Number(taskDays.value || 0) } : null;
    }
    return h("div", { class: "stage-row", testid: "stage-row", dataset: { code: stage.code } },
      h("div", { class: "stage-order" },
        h("button", { type: "button", class: "icon-btn stage-up", "aria-label": t("stages.up"), title: t("stages.up"), disabled: i === 0, onclick: () => move(i, -1) }, "↑"),
        h("button", { type: "button", class: "icon-btn stage-down", "aria-label": t("stages.down"), title: t("stages.down"), disabled: i === stages.length - 1, onclick: () => move(i, 1) }, "↓")),
      input("code", stage.code, { class: "mono", size: "12", readonly: stage.orders > 0 }),
      input("name_ru", stage.name_ru), input("name_en", stage.name_en),
      h("select", { testid: "stage-kind", "aria-label": t("stages.field.kind"), onchange: (e) => { stage.kind = e.target.value; } },
        KINDS.map((k) => h("option", { value: k, selected: stage.kind === k }, t("stages.kind." + k)))),
      h("fieldset", { class: "stage-roles" }, h("legend", { class: "sr-only" }, t("stages.field.roles")),
        ROLES.map((role) => h("label", null, h("input", { type: "checkbox", testid: "stage-role-" + role, checked: (stage.roles || []).includes(role),
          onchange: (e) => { stage.roles = ROLES.filter((r) => (r === role ? e.target.checked : (stage.roles || []).includes(r))); } }), " ", t("role." + role)))),
      taskTitle, taskDays,
      h("select", { testid: "stage-event", "aria-label": t("stages.field.notify_event"), onchange: (e) => { stage.notify_event = e.target.value || null; } },
        h("option", { value: "" }, t("stages.no_event")),
        EVENTS.map((ev) => h("option", { value: ev, selected: stage.notify_event === ev }, ev))),
      h("label", null, h("input", { type: "checkbox", testid: "stage-active", checked: stage.active !== false, onchange: (e) => { stage.active = e.target.checked; } }), " ", t("stages.active")),
      h("button", { type: "button", class: "btn btn-sm btn-ghost", testid: "stage-remove", disabled: stage.orders > 0, title: stage.orders > 0 ? t("stages.busy", { n: stage.orders }) : "",
        onclick: () => { stages.splice(i, 1); draw(); } }, t("stages.remove")));
  }

  async function save() {
    mount(errors);
    const body = { stages: stages.map(({ orders, position, ...rest }) => rest) };
    try {
      stages = (await api("PUT", `/shops/${shopSelect.value}/stages`, { body })).items;
      draw();
      toast(t("stages.saved"), "success");
    } catch (err) {
      const fields = (err.details && err.details.fields) || {};
      const lines = Object.entries(fields).map(([k, v]) => `${k}: ${v}`);
      mount(errors, errorBanner([serverText("error.code." + err.code, err.message), ...lines].join(" · "), "stages-save-error"));
    }
  }

  loadShops().then((shops) => {
    mount(shopSelect, shops.map((s) => h("option", { value: String(s.id) }, s.name)));
    if (shops.length) load();
    else mount(list, h("div", { class: "empty" }, t("pipeline.no_shops")));
  }).catch((err) => mount(errors, errorBanner(err.message, "stages-load-error")));

  const el = h("div", { class: "settings-stages", testid: "settings-stages" },
    h("p", { class: "muted" }, t("stages.help")),
    h("div", { class: "toolbar" }, shopSelect,
      h("button", { type: "button", class: "btn btn-sm", testid: "stage-add", onclick: () => {
        stages.push({ code: "stage_" + (stages.length + 1), name_ru: "", name_en: "", kind: "open", roles: [...ROLES], next_task: null, notify_event: null, active: true, orders: 0 });
        draw();
        list.lastChild?.querySelector("[data-testid=stage-name_ru]")?.focus();
      } }, "+ ", t("stages.add")),
      h("button", { type: "button", class: "btn btn-primary btn-sm", testid: "stages-save", onclick: save }, t("action.save"))),
    errors, list);
  return { el };
}
