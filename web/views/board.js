// #/board: placeholder until the view is written.

import { h } from "../dom.js";
import { t } from "../i18n.js";

export function renderBoard(ctx) {
  const el = h("div", { class: "page", testid: "board-page" }, h("h1", { class: "page-title" }, t("nav.board")));
  return { el, title: t("nav.board") };
}
