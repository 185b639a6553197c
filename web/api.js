// The one door to the backend. Keeps the CSRF token in memory, sends it on
// every unsafe request and turns the server's single error shape
// {"error": {"code", "message", "details"}} into ApiError.

import { t } from "./i18n.js";
import { fieldErrorText, serverText } from "./ui.js";

let csrfToken = null;
let unauthenticatedHandler = () => {};

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details || {};
  }

  /** Field errors as {"name": "message", "phones.0": "message"}, in the UI language. */
  get fields() {
    const codes = this.details.field_codes || {};
    return Object.fromEntries(Object.entries(this.details.fields || {})
      .map(([name, message]) => [name, fieldErrorText(message, codes[name])]));
  }
}

export function setCsrfToken(token) {
  csrfToken = token || null;
}

/** Called (once per failing request) whenever the server answers 401. */
export function onUnauthenticated(handler) {
  unauthenticatedHandler = handler;
}

// The server writes its messages in English and names each by a code: the
// operator reads the catalogue's text for the code (error.code.<code>); only a
// code the catalogue does not know is shown as the server wrote it.
function localMessage(status, code, serverMessage, details) {
  if (code === "login_locked") {
    const until = details.locked_until ? formatTime(details.locked_until) : "";
    return until ? t("error.code.login_locked_until", { time: until }) : t("error.code.login_locked");
  }
  if (code === "payload_too_large") {
    return details.max_bytes ? t("error.code.payload_too_large", { mb: Math.round(details.max_bytes / 1048576) })
      : t("error.code.payload_too_large_any");
  }
  if (code === "bad_csv" && details.reason) {
    const text = serverText("import.file." + details.reason, null);
    if (text) return text;
  }
  // the error's details fill the text's {placeholders} (e.g. {max_words})
  return serverText("error.code." + code, serverMessage || t("error.http", { status }), details);
}

function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(document.documentElement.lang || "ru", { hour: "2-digit", minute: "2-digit" }).format(date);
}

const SAFE_METHODS = new Set(["GET", "HEAD"]);

/**
 * api("GET", "/clients", {query: {q: "x"}}) → parsed JSON body.
 * Options: body (JSON), form (FormData), query, signal, quiet401 (do not
 * bounce to the login screen, used by /api/me and /api/login).
 */
export async function api(method, path, options = {}) {
  const headers = { Accept: "application/json" };
  let body;
  if (options.form) {
    body = options.form;
  } else if (options.body !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(options.body);
  }
  if (!SAFE_METHODS.has(method) && csrfToken) headers["X-CSRF-Token"] = csrfToken;

  let url = "/api" + path;
  if (options.query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query)) {
      if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
    }
    const qs = params.toString();
    if (qs) url += (url.includes("?") ? "&" : "?") + qs;
  }

  let response;
  try {
    response = await fetch(url, { method, headers, body, credentials: "same-origin", signal: options.signal });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, "network", t("error.network"), {});
  }

  let data = null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }

  if (!response.ok) {
    const error = (data && data.error) || {};
    const code = error.code || "http_" + response.status;
    const apiError = new ApiError(response.status, code, localMessage(response.status, code, error.message, error.details || {}), error.details);
    apiError.serverMessage = error.message || "";
    if (response.status === 401 && !options.quiet401) unauthenticatedHandler(apiError);
    throw apiError;
  }
  return data;
}
