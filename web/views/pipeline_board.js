// #/pipeline: a shop's orders as a board, one column per stage. A card moves by drag and drop
// or with its keyboard-reachable "Move to…" menu; a move into "shipped" asks for the tracking
// number. Supervisors and admins also see the funnel tab.

import { api } from "../api.js";
import { debounce, h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { formatMoney } from "../format.js";
import { emptyState, errorBanner, loading, openDialog, serverText, toast } from "../ui.js";
import { ageText, askTracking, loadShops, stageName } from "./pipeline_common.js";
import { renderFunnel } from "./pipeline_funnel.js";

const state = { shopId: "", q: "", tab: "board" };

export function renderPipeline(ctx) {
  const staff = ctx.hasRole("supervisor") || ctx.hasRole("admin");
  const shopSelect = h("select", { testid: "pipeline-shop", "aria-label": t("order.shop"), onchange: () => { state.shopId = shopSelect.value; mount(errors); refresh(); } });
  const search = h("input", { type: "search", testid: "pipeline-search", placeholder: t("pipeline.search"), value: state.q, "aria-label": t("pipeline.search"),
    oninput: debounce(() => { state.q = search.value.trim(); refresh(); }, 300) });
  const errors = h("div", { testid: "pipeline-error" });
  const body = h("div", { class: "pipeline-body" }, loading());
  const tabs = h("div", { class: "tabs", role: "tablist" },
    tabButton("board", t("pipeline.tab_board")), staff && tabButton("funnel", t("pipeline.tab_funnel")));
  let funnelView = null;

  function tabButton(name, label) {
    return h("button", { type: "button", role: "tab", class: ["tab", state.tab === name && "active"], testid: "pipeline-tab-" + name,
      "aria-selected": String(state.tab === name), onclick: () => { state.tab = name; for (const b of tabs.children) { const on = b.dataset.testid === "pipeline-tab-" + name; b.classList.toggle("active", on); b.setAttribute("aria-selected", String(on)); } refresh(); } }, label);
  }

  async function refresh() {
    if (funnelView && funnelView.destroy) funnelView.destroy();
    funnelView = null;
    if (!state.shopId) return;
    if (state.tab === "funnel" && staff) {
      search.hidden = true;
      funnelView = renderFunnel(Number(state.shopId));
      mount(body, funnelView.el);
      return;
    }
    search.hidden = false;
    try {
      const board = await api("GET", "/pipeline", { query: { shop_id: state.shopId, q: state.q } });
      mount(body, renderBoard(board));
    } catch (err) {
      mount(body, errorBanner(err.message, "pipeline-load-error"));
    }
  }

  async function move(order, stage) {
    mount(errors);
    if (stage.code === order.status) return;
    const change = { stage: stage.code };
    if (stage.code === "shipped") {
      const tracking = await askTracking(openDialog, order.tracking_number);
      if (tracking === null) return;
      change.tracking_number = tracking;
    }
    try {
      await api("POST", `/orders/${order.id}/stage`, { body: change });
      toast(t("pipeline.moved", { number: order.number, stage: stageName(stage) }), "success");
    } catch (err) {
      const text = err.status === 403 ? t("pipeline.move_forbidden", { stage: stageName(stage) }) : serverText("error.code." + err.code, err.message);
      mount(errors, errorBanner(text, "move-error"));
    }
    refresh();
  }

  function renderBoard(board) {
    const stages = board.stages;
    if (stages.length === 0) return emptyState(t("pipeline.no_stages"), "pipeline-empty");
    return h("div", { class: "pipeline-board", testid: "pipeline-board" }, stages.map((stage) => {
      const column = h("section", { class: ["pipeline-column", "stage-" + stage.kind], testid: "pipeline-column", dataset: { stage: stage.code },
        ondragover: (event) => { event.preventDefault(); column.classList.add("drop-target"); },
        ondragleave: () => column.classList.remove("drop-target"),
        ondrop: (event) => {
          event.preventDefault();
          column.classList.remove("drop-target");
          const id = Number(event.dataTransfer.getData("text/plain"));
          const order = stages.flatMap((s) => s.orders).find((o) => o.id === id);
          if (order) move(order, stage);
        } },
      h("header", { class: "pipeline-column-head" },
        h("h2", null, stageName(stage)), h("span", { class: "badge", testid: "column-count" }, String(stage.count))),
      h("div", { class: "pipeline-cards" }, stage.orders.map((order) => card(order, stages))),
      stage.count > stage.orders.length && h("div", { class: "muted small" }, t("pipeline.more", { n: stage.count - stage.orders.length })));
      return column;
    }));
  }

  function card(order, stages) {
    const menu = h("select", { class: "pipeline-move", testid: "move-select", "aria-label": t("pipeline.move_to_of", { number: order.number }),
      onchange: () => { const stage = stages.find((s) => s.code === menu.value); menu.value = ""; if (stage) move(order, stage); } },
    h("option", { value: "" }, t("pipeline.move_to")),
    stages.filter((s) => s.code !== order.status).map((s) => h("option", { value: s.code }, stageName(s))));
    return h("article", { class: "pipeline-card", draggable: "true", testid: "pipeline-card", dataset: { id: order.id, number: order.number },
      ondragstart: (event) => { event.dataTransfer.setData("text/plain", String(order.id)); event.dataTransfer.effectAllowed = "move"; } },
    h("div", { class: "pipeline-card-top" },
      h("a", { href: `#/orders/${order.id}`, class: "mono", testid: "card-number" }, order.number),
      h("span", { class: "muted small", title: t("pipeline.in_stage") }, ageText(order.in_stage_seconds))),
    h("a", { href: `#/clients/${order.client_id}`, class: "pipeline-client" }, order.client_name),
    h("div", { class: "pipeline-card-bottom" },
      h("span", { class: "num" }, formatMoney(order.total, order.currency)),
      order.tracking_number && h("span", { class: "mono small", testid: "card-tracking" }, order.tracking_number)),
    menu);
  }

  loadShops().then((shops) => {
    mount(shopSelect, shops.map((s) => h("option", { value: String(s.id) }, s.name)));
    if (!state.shopId || !shops.some((s) => String(s.id) === state.shopId)) state.shopId = shops.length ? String(shops[0].id) : "";
    shopSelect.value = state.shopId;
    if (!shops.length) mount(body, emptyState(t("pipeline.no_shops"), "pipeline-no-shops"));
    refresh();
  }).catch((err) => mount(body, errorBanner(err.message, "pipeline-load-error")));

  const el = h("div", { class: "page pipeline-page", testid: "pipeline-page" },
    h("div", { class: "page-head" }, h("h1", { class: "page-title" }, t("pipeline.title")),
      h("div", { class: "toolbar" }, shopSelect, search, h("a", { href: "#/orders", class: "btn btn-sm" }, t("pipeline.as_list")))),
    tabs, errors, body);
  return { el, destroy: () => { if (funnelView && funnelView.destroy) funnelView.destroy(); } };
}
