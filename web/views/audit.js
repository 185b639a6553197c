// The audit log (#/audit, supervisors and admins): who did what, when and from
// where — logins and failed logins, edits, listens, listen-ins, exports —
// filtered by who (admins pick a user, supervisors type part of a login: only
// admins may list users), action (one, or every action of a kind), local
// dates, IP and free text; newest first, 50 a page. An entry about a client,
// a call, an order or a task links to the client's card or call log.

import { api } from "../api.js";
import { debounce, h } from "../dom.js";
import { getLang, t } from "../i18n.js";
import { clearFieldErrors, createPager, emptyState, errorBanner, panel, showFieldErrors, translatedOr } from "../ui.js";

const PAGE_SIZE = 50;
const DETAILS_SHOWN = 160;

// Filters survive leaving the page and coming back within the session.
const remembered = { user_id: "", login: "", action: "", from: "", to: "", ip: "", q: "" };

/** "login.failed" in words; an action no catalogue knows as written. */
export function actionLabel(action) {
  return translatedOr("audit.action." + action, action);
}

/** A choice for every action of a kind that has several ("recording." → listen, download...). */
function actionOptions(actions) {
  const kinds = new Map();
  for (const action of actions) {
    const dot = action.indexOf(".");
    if (dot > 0) {
      const kind = action.slice(0, dot + 1);
      kinds.set(kind, (kinds.get(kind) || 0) + 1);
    }
  }
  const options = [];
  for (const action of [...actions].sort((a, b) => actionLabel(a).localeCompare(actionLabel(b)))) {
    options.push([action, actionLabel(action)]);
  }
  const groups = [...kinds].filter(([, count]) => count > 1).map(([kind]) =>
    [kind, t("audit.all_of", { kind: translatedOr("audit.kind." + kind.slice(0, -1), kind.slice(0, -1)) })]);
  return [...groups, ...options];
}

function whenText(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso || "";
  return new Intl.DateTimeFormat(getLang() === "en" ? "en-GB" : "ru-RU", {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).format(date);
}

/** What the entry is about, linked where there is a page for it. */
function entityCell(entry, ctx) {
  if (!entry.entity) return h("span", { class: "muted" }, "—");
  const text = translatedOr("audit.entity." + entry.entity, `${entry.entity} ${entry.entity_id ?? ""}`, { id: entry.entity_id ?? "" });
  let href = null;
  if (entry.entity === "client" && entry.client_id) href = `#/clients/${entry.client_id}`;
  else if (entry.entity === "call" && entry.client_id) href = `#/calls?client_id=${entry.client_id}`;
  else if (entry.entity === "call") href = "#/calls";
  else if (entry.entity === "task" && entry.entity_id) href = entry.client_id ? `#/clients/${entry.client_id}?task=${entry.entity_id}` : `#/tasks?task=${entry.entity_id}`;
  else if (entry.entity === "order" && entry.client_id) href = `#/clients/${entry.client_id}`;
  else if (entry.entity === "user" && ctx.hasRole("admin")) href = "#/users";
  return href ? h("a", { href, testid: "audit-entity-link" }, text) : h("span", { testid: "audit-entity" }, text);
}

function detailsCell(details) {
  const json = details && Object.keys(details).length ? JSON.stringify(details) : "";
  if (!json) return h("span", { class: "muted" }, "—");
  const shown = json.length > DETAILS_SHOWN ? json.slice(0, DETAILS_SHOWN) + "…" : json;
  return h("code", { class: "mono small", title: json, testid: "audit-details", style: { wordBreak: "break-all" } }, shown);
}

export function renderAudit(ctx) {
  const title = t("nav.audit");
  if (!ctx.hasRole("supervisor")) {
    return { el: h("div", { class: "page", testid: "audit-page" }, errorBanner(t("error.forbidden"), "page-error")), title };
  }
  const isAdmin = ctx.hasRole("admin");
  const filters = { ...remembered };
  let destroyed = false;

  const changed = (name, value) => { filters[name] = value; remembered[name] = value; pager.first(); };
  const choice = (name, options, anyLabel) => h("select", {
    testid: "audit-filter-" + name, "aria-label": t("audit.filter." + name),
    onchange: (event) => changed(name, event.target.value),
  }, h("option", { value: "" }, anyLabel), options.map(([value, text]) => h("option", { value, selected: filters[name] === value }, text)));
  const text = (name, attrs) => h("input", {
    ...attrs, testid: "audit-filter-" + name, value: filters[name], "aria-label": t("audit.filter." + name),
    oninput: debounce((event) => changed(name, event.target.value.trim()), 300),
    onkeydown: (event) => { if (event.key === "Enter") { event.preventDefault(); changed(name, event.target.value.trim()); } },
  });
  const date = (name) => h("input", {
    type: "date", testid: "audit-filter-" + name, value: filters[name], "aria-label": t("audit.filter." + name),
    onchange: (event) => changed(name, event.target.value),
  });
  const field = (name, label, control) => h("label", { class: "filter", dataset: { field: name } }, h("span", null, label), control);

  const actionSlot = h("span", null, choice("action", filters.action ? [[filters.action, actionLabel(filters.action)]] : [], t("audit.any_action")));
  // supervisors may not list users: they find a person by part of the login
  const whoSlot = h("span", null, isAdmin ? choice("user_id", [], t("audit.any_user"))
    : text("login", { type: "search", maxlength: 64, placeholder: t("audit.login_placeholder") }));

  const filterBar = h("div", { class: "filters", role: "group", "aria-label": t("audit.filters"), testid: "audit-filters" },
    field(isAdmin ? "user_id" : "login", t("audit.filter.who"), whoSlot),
    field("action", t("audit.filter.action"), actionSlot),
    field("from", t("audit.filter.from"), date("from")),
    field("to", t("audit.filter.to"), date("to")),
    field("ip", t("audit.filter.ip"), text("ip", { type: "search", maxlength: 64, inputmode: "decimal", placeholder: "10.0.0." })),
    field("q", t("audit.filter.q"), text("q", { type: "search", maxlength: 100, placeholder: t("audit.q_placeholder") })),
  );

  const pager = createPager({
    testid: "audit", pageSize: PAGE_SIZE, render: table,
    empty: () => emptyState(t("audit.none_found"), "audit-empty"),
    load: async ({ offset, limit, signal }) => {
      clearFieldErrors(filterBar);
      try {
        return await api("GET", "/audit", { query: { ...filters, limit, offset }, signal });
      } catch (err) {
        if (err.status === 422) {
          showFieldErrors(filterBar, err.fields);
          throw Object.assign(new Error(t("audit.bad_filters")), { status: 422 });
        }
        throw err;
      }
    },
  });

  const el = h("div", { class: "page page-audit", testid: "audit-page" },
    h("div", { class: "page-head" },
      h("h1", { class: "page-title" }, title),
      h("div", { class: "page-tools" },
        h("button", { type: "button", class: "btn btn-sm btn-ghost", testid: "audit-reset", onclick: reset }, t("audit.reset")),
        h("button", { type: "button", class: "btn btn-sm", testid: "audit-refresh", onclick: () => pager.reload() }, "⟳ ", t("calls.refresh")),
      ),
    ),
    h("p", { class: "muted" }, t("audit.intro")),
    filterBar,
    panel({ title: t("audit.list"), tools: pager.tools, flush: true }, pager.body),
  );

  function reset() {
    Object.keys(remembered).forEach((key) => { remembered[key] = ""; filters[key] = ""; });
    filterBar.querySelectorAll("input, select").forEach((control) => { control.value = ""; });
    pager.first();
  }

  function table(items) {
    return h("table", { class: "table table-audit", testid: "audit-table" },
      h("thead", null, h("tr", null,
        h("th", null, t("audit.col.at")),
        h("th", null, t("audit.col.who")),
        h("th", null, t("audit.col.action")),
        h("th", null, t("audit.col.entity")),
        h("th", null, t("audit.col.ip")),
        h("th", null, t("audit.col.details")),
      )),
      h("tbody", null, items.map(row)),
    );
  }

  function row(entry) {
    return h("tr", { testid: "audit-row", dataset: { id: entry.id, action: entry.action } },
      h("td", { class: "nowrap" }, h("time", { datetime: entry.at, testid: "audit-at" }, whenText(entry.at))),
      h("td", { class: "nowrap", testid: "audit-who", title: entry.user_id ? "#" + entry.user_id : undefined },
        entry.login || h("span", { class: "muted" }, t("audit.system"))),
      h("td", { testid: "audit-action", title: entry.action }, actionLabel(entry.action)),
      h("td", null, entityCell(entry, ctx)),
      h("td", { class: "mono nowrap", testid: "audit-ip" }, entry.ip || "—"),
      h("td", { class: "audit-details-cell" }, detailsCell(entry.details)),
    );
  }

  // the filters' choices: the actions written so far; for admins, every user
  async function loadChoices() {
    try {
      const [actions, users] = await Promise.all([
        api("GET", "/audit/actions"),
        isAdmin ? api("GET", "/users") : Promise.resolve(null),
      ]);
      if (destroyed) return;
      actionSlot.replaceChildren(choice("action", actionOptions(actions.items || []), t("audit.any_action")));
      if (users) {
        const people = (users.items || []).map((u) => [String(u.id), `${u.name} (${u.login})`])
          .sort((a, b) => a[1].localeCompare(b[1]));
        whoSlot.replaceChildren(choice("user_id", people, t("audit.any_user")));
      }
    } catch (err) {
      if (!destroyed && err.status !== 401) actionSlot.title = err.message;
    }
  }

  loadChoices();
  pager.first();
  return {
    el,
    title,
    destroy() {
      destroyed = true;
      pager.destroy();
    },
  };
}
