// Hash routes: #/, #/clients/new, #/clients/12, #/clients/12/edit, #/calls, #/live, #/import, #/users,
// #/tasks, #/archive, #/outcomes, #/board, #/recordings, #/reports, #/audit, #/orders, #/orders/5,
// #/pipeline, #/mailings, #/mailings/3, #/settings, #/settings/<section> (a query after ? is the page's own: #/clients/12?task=34).

const ROUTES = [
  { name: "home", pattern: /^\/?$/ },
  { name: "client-new", pattern: /^\/clients\/new$/ },
  { name: "client-edit", pattern: /^\/clients\/(\d+)\/edit$/, keys: ["id"] },
  { name: "client", pattern: /^\/clients\/(\d+)$/, keys: ["id"] },
  { name: "calls", pattern: /^\/calls$/ },
  { name: "live", pattern: /^\/live$/ },
  { name: "import", pattern: /^\/import$/ },
  { name: "users", pattern: /^\/users$/ },
  { name: "tasks", pattern: /^\/tasks$/ },
  { name: "archive", pattern: /^\/archive$/ },
  { name: "outcomes", pattern: /^\/outcomes$/ },
  { name: "board", pattern: /^\/board$/ },
  { name: "recordings", pattern: /^\/recordings$/ },
  { name: "reports", pattern: /^\/reports$/ },
  { name: "audit", pattern: /^\/audit$/ },
  { name: "orders", pattern: /^\/orders$/ },
  { name: "order", pattern: /^\/orders\/(\d+)$/, keys: ["id"] },
  { name: "pipeline", pattern: /^\/pipeline$/ },
  { name: "mailings", pattern: /^\/mailings$/ },
  { name: "mailing", pattern: /^\/mailings\/(\d+)$/, keys: ["id"] },
  { name: "settings", pattern: /^\/settings(?:\/([a-z]+))?$/, keys: ["section"] },
];

/** {name, params} for the current location.hash; unknown paths → {name: "not-found"}. */
export function currentRoute() {
  const path = decodeURIComponent(location.hash.replace(/^#/, "")).split("?")[0];
  for (const route of ROUTES) {
    const match = route.pattern.exec(path);
    if (match) {
      const params = {};
      (route.keys || []).forEach((key, i) => { params[key] = match[i + 1]; });
      return { name: route.name, params, path };
    }
  }
  return { name: "not-found", params: {}, path };
}

export function navigate(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = hash;
}
