// Mailings (#/mailings: segments and mailings; #/mailings/<id>: one mailing and its report).

import { h } from "../dom.js";
import { t } from "../i18n.js";

export function renderMailings(ctx) {
  return { el: h("div", { class: "page", testid: "mailings-page" }, h("h1", { class: "page-title" }, t("nav.mailings"))) };
}

export function renderMailing(id, ctx) {
  return { el: h("div", { class: "page", testid: "mailing-page" }) };
}
