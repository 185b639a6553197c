// Sidebar search: results as you type (150 ms debounce), ↑/↓ + Enter to open,
// Esc to clear. Finds clients by name ("ё" as "е"), any form of phone or its
// last 4+ digits, email or order number; "Show more" pages through the rest.

import { api } from "../api.js";
import { h, mount, debounce } from "../dom.js";
import { t } from "../i18n.js";
import { navigate } from "../router.js";
import { formatPhone } from "../format.js";

const DEBOUNCE_MS = 150;
const LIMIT = 20;

export function createSearch({ initialQuery = "" }) {
  const input = h("input", {
    type: "search", class: "search-input", testid: "search-input", value: initialQuery,
    placeholder: t("search.placeholder"), "aria-label": t("search.label"), autocomplete: "off",
    spellcheck: "false", role: "combobox", "aria-expanded": "false", "aria-controls": "search-results",
    "aria-autocomplete": "list",
  });
  const status = h("div", { class: "search-status", "aria-live": "polite" });
  const list = h("ul", { class: "results", id: "search-results", role: "listbox", "aria-label": t("search.results") });
  const el = h("div", { class: "search" },
    h("div", { class: "search-box" },
      input,
      h("kbd", { class: "search-kbd", title: t("search.shortcut") }, "/"),
    ),
    h("a", { class: "btn btn-primary btn-block new-client", href: "#/clients/new", testid: "new-client" }, "+ ", t("client.new")),
    status,
    list,
  );

  let items = [];
  let highlighted = -1;
  let activeClientId = null;
  let controller = null;
  let lastQuery = null;
  let total = 0;

  const schedule = debounce(() => run(input.value), DEBOUNCE_MS);

  input.addEventListener("input", schedule);
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      move(1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      move(-1);
    } else if (event.key === "Enter") {
      event.preventDefault();
      schedule.cancel();
      if (lastQuery !== input.value.trim()) {
        run(input.value).then(() => open(highlighted >= 0 ? highlighted : 0));
      } else {
        open(highlighted >= 0 ? highlighted : 0);
      }
    } else if (event.key === "Escape") {
      event.preventDefault();
      if (input.value) {
        input.value = "";
        schedule.cancel();
        run("");
      } else {
        input.blur();
      }
    }
  });

  async function run(raw) {
    const q = raw.trim();
    lastQuery = q;
    if (controller) controller.abort();
    if (!q) {
      controller = null;
      items = [];
      renderHint();
      return;
    }
    controller = new AbortController();
    const mine = controller;
    status.textContent = t("search.searching");
    el.classList.add("busy");
    try {
      const data = await api("GET", "/clients", { query: { q, limit: LIMIT, offset: 0 }, signal: mine.signal });
      if (mine !== controller) return;
      items = data.items || [];
      highlighted = items.length ? 0 : -1;
      total = data.total ?? items.length;
      renderResults();
    } catch (err) {
      if (err.name === "AbortError" || mine !== controller) return;
      items = [];
      mount(list);
      status.textContent = err.message;
      status.classList.add("error");
    } finally {
      if (mine === controller) el.classList.remove("busy");
    }
  }

  function renderHint() {
    status.classList.remove("error");
    status.textContent = "";
    input.setAttribute("aria-expanded", "false");
    mount(list, h("li", { class: "results-hint" },
      h("p", null, t("search.hint")),
      h("p", { class: "muted" }, t("search.keys")),
    ));
  }

  function renderResults() {
    status.classList.remove("error");
    status.textContent = !items.length ? ""
      : items.length < total ? t("search.shown", { shown: items.length, total }) : t("search.found", { count: total });
    input.setAttribute("aria-expanded", items.length ? "true" : "false");
    if (!items.length) {
      mount(list, h("li", { class: "results-hint", testid: "search-empty" }, t("search.nothing")));
      return;
    }
    mount(list, items.map((client, index) => resultItem(client, index)),
      items.length < total && h("li", { class: "results-more", role: "presentation" },
        h("button", {
          type: "button", class: "btn btn-sm btn-block", testid: "search-more",
          onmousedown: (event) => event.preventDefault(), onclick: () => more(),
        }, t("search.more"))));
    paintHighlight();
  }

  /** The next page of the same query, appended to the list (the highlight stays). */
  async function more() {
    const q = lastQuery;
    if (!q || items.length >= total) return;
    if (controller) controller.abort();
    controller = new AbortController();
    const mine = controller;
    el.classList.add("busy");
    try {
      const data = await api("GET", "/clients", { query: { q, limit: LIMIT, offset: items.length }, signal: mine.signal });
      if (mine !== controller || q !== lastQuery) return;
      const known = new Set(items.map((c) => c.id));
      items = items.concat((data.items || []).filter((c) => !known.has(c.id)));
      total = data.total ?? total;
      if (!(data.items || []).length) total = items.length;
      renderResults();
    } catch (err) {
      if (err.name === "AbortError" || mine !== controller) return;
      status.textContent = err.message;
      status.classList.add("error");
    } finally {
      if (mine === controller) el.classList.remove("busy");
    }
  }

  function resultItem(client, index) {
    const phone = (client.phones || [])[0];
    const details = [phone && formatPhone(phone), client.city].filter(Boolean).join(" · ");
    return h("li", {
      id: "search-result-" + index, role: "option", class: "result", testid: "search-result",
      dataset: { id: client.id }, "aria-selected": "false",
      onmousedown: (event) => event.preventDefault(),
      onclick: () => open(index),
      onmousemove: () => { if (highlighted !== index) { highlighted = index; paintHighlight(); } },
    },
      h("div", { class: "result-top" },
        h("span", { class: "result-name" }, client.name || t("client.unnamed")),
        client.do_not_call && h("span", { class: "chip chip-danger chip-xs", title: t("client.dnc") }, t("client.dnc_short")),
        client.matched_on && client.matched_on !== "name" && h("span", { class: "chip chip-xs chip-muted" }, t("search.matched." + client.matched_on)),
      ),
      h("div", { class: "result-sub" }, details || client.company || ""),
    );
  }

  function move(step) {
    if (!items.length) return;
    if (step > 0 && highlighted === items.length - 1 && items.length < total) {
      // ↓ on the last result brings the next page
      more().then(() => { highlighted = Math.min(highlighted + 1, items.length - 1); paintHighlight(); });
      return;
    }
    highlighted = (highlighted + step + items.length) % items.length;
    paintHighlight();
  }

  function paintHighlight() {
    list.querySelectorAll(".result").forEach((li, index) => {
      const on = index === highlighted;
      li.classList.toggle("highlighted", on);
      li.setAttribute("aria-selected", on ? "true" : "false");
      li.classList.toggle("current", Number(li.dataset.id) === activeClientId);
      if (on) li.scrollIntoView({ block: "nearest" });
    });
    if (highlighted >= 0) input.setAttribute("aria-activedescendant", "search-result-" + highlighted);
    else input.removeAttribute("aria-activedescendant");
  }

  function open(index) {
    const client = items[index];
    if (!client) return;
    highlighted = index;
    paintHighlight();
    navigate("#/clients/" + client.id);
  }

  if (initialQuery.trim()) run(initialQuery);
  else renderHint();

  return {
    el,
    focus() {
      input.focus();
      input.select();
    },
    query: () => input.value,
    refresh() {
      if (input.value.trim()) run(input.value);
    },
    setActiveClient(id) {
      activeClientId = id;
      list.querySelectorAll(".result").forEach((li) => li.classList.toggle("current", Number(li.dataset.id) === id));
    },
    destroy() {
      schedule.cancel();
      if (controller) controller.abort();
    },
  };
}
