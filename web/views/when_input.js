// Quick date/time entry: the operator types "+30м", "завтра 10:00", "пн 15",
// "tomorrow 10am"…; the server reads it in the client's time zone
// (GET /api/planner/parse) and the line below the field says what it means,
// in the client's time and the operator's own: "клиент: 10:00 (Екатеринбург,
// UTC+5) · у вас: 08:00", with a warning when the client may not be called
// then and the next time they may.

import { api } from "../api.js";
import { debounce, h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { translatedOr } from "../ui.js";

const DEBOUNCE_MS = 250;
const CHIPS = [
  { key: "planner.chip.30m", text: "+30м" },
  { key: "planner.chip.2h", text: "+2ч" },
  { key: "planner.chip.tomorrow", text: "завтра 10:00" },
];
let counter = 0;

/** The operator's own zone, as the browser knows it. */
export function browserZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch {
    return "";
  }
}

/** "+05:00" → "UTC+5", "+05:30" → "UTC+5:30", "+00:00" → "UTC". */
export function shortOffset(iso) {
  const match = /([+-])(\d{2}):?(\d{2})$/.exec(String(iso || ""));
  if (!match) return /Z$/i.test(String(iso || "")) ? "UTC" : "";
  const hours = Number(match[2]);
  const minutes = match[3] === "00" ? "" : ":" + match[3];
  if (!hours && !minutes) return "UTC";
  return `UTC${match[1]}${hours}${minutes}`;
}

/** A city name for an IANA zone ("Asia/Yekaterinburg" → "Екатеринбург"). */
export function zoneCity(zone) {
  if (!zone) return "";
  return translatedOr("tz." + zone, zone.split("/").pop().replace(/_/g, " "));
}

function todayIn(zone) {
  try {
    return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date());
  } catch {
    return "";
  }
}

/**
 * The wall clock an ISO time with offset shows, as the operator reads it:
 * "10:00" on `zone`'s today, "чт 03.12 10:00" another day. Read straight from
 * the text, so it is the server's wall clock, not the browser's idea of it.
 */
export function wallClock(iso, zone) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(String(iso || ""));
  if (!match) return "";
  const [, y, mo, d, hh, mm] = match;
  const time = `${hh}:${mm}`;
  if (`${y}-${mo}-${d}` === todayIn(zone)) return time;
  const weekday = t("planner.weekday." + new Date(Date.UTC(+y, +mo - 1, +d)).getUTCDay());
  return `${weekday} ${d}.${mo}${y === todayIn(zone).slice(0, 4) ? "" : "." + y} ${time}`;
}

/** The ISO text of a UTC time in the browser's zone, with its offset: "2026-12-10 14:00 +03:00". */
export function localIsoText(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const pad = (n) => String(Math.abs(n)).padStart(2, "0");
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? "+" : "-";
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())} ${sign}${pad(Math.trunc(offset / 60))}:${pad(offset % 60)}`;
}

/** The line under the field for a parse result. */
export function previewText(result) {
  const mine = wallClock(result.operator_local, result.operator_zone);
  const mineWhere = { city: zoneCity(result.operator_zone), offset: shortOffset(result.operator_local) };
  if (!result.client_zone) return t("planner.preview_mine", { mine, ...mineWhere });
  const client = wallClock(result.client_local, result.client_zone);
  const where = { city: zoneCity(result.client_zone), offset: shortOffset(result.client_local) };
  if (!result.client_zone_known) {
    return t("planner.preview_unknown", { client, mine, ...where, count: (result.client_zone_candidates || []).length });
  }
  if (result.client_zone === result.operator_zone) return t("planner.preview_same", { time: client, ...where });
  return t("planner.preview", { client, mine, ...where });
}

/** The warning for a time outside the client's calling window (null inside it). */
export function windowWarning(result) {
  if (result.in_window !== false) return null;
  if (!result.next_opening) return t("planner.never_open");
  const clientZone = result.client_zone;
  const opening = new Date(result.next_opening);
  return t("planner.outside_window", {
    client: wallClock(isoIn(opening, clientZone), clientZone),
    mine: wallClock(isoIn(opening, result.operator_zone), result.operator_zone),
  });
}

/** A UTC Date as "YYYY-MM-DDTHH:MM" wall clock in `zone` (enough for wallClock). */
function isoIn(date, zone) {
  try {
    const parts = Object.fromEntries(new Intl.DateTimeFormat("en-GB", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    }).formatToParts(date).map((p) => [p.type, p.value]));
    return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}`;
  } catch {
    return date.toISOString();
  }
}

function errorText(err) {
  if (err.code === "unreadable_time") {
    const reason = (err.details && err.details.reason) || "unknown_format";
    return translatedOr("planner.unreadable." + reason, t("planner.unreadable.unknown_format"));
  }
  return err.message;
}

/**
 * whenInput({clientId, value, onChange, label, testid}) → an element holding a
 * labelled text field for the quick syntax, chips (+30м, +2ч, завтра 10:00)
 * and a live line saying what the text means. onChange(isoUtc | null) is
 * called with the time once the server has read it (null while the text is
 * empty, being read, or unreadable). The element also has setValue(isoUtc or
 * text), value() (the UTC ISO time or null), focus() and destroy().
 */
export function whenInput({ clientId = null, value = "", onChange = () => {}, label, testid = "when-input" } = {}) {
  const id = `when-${++counter}`;
  const zone = browserZone();
  let current = null;
  let sequence = 0;
  let inflight = null;
  let destroyed = false;

  const input = h("input", {
    id, type: "text", class: "when-text", testid: "when-text", autocomplete: "off", spellcheck: "false",
    placeholder: t("planner.placeholder"), "aria-describedby": `${id}-preview ${id}-hint`,
    oninput: () => changed(), onkeydown: (event) => { if (event.key === "Enter" && !event.ctrlKey && !event.metaKey) { event.preventDefault(); readNow(); } },
  });
  const preview = h("div", { id: `${id}-preview`, class: "when-preview", testid: "when-preview", "aria-live": "polite", "aria-atomic": "true" });
  const warning = h("div", { class: "when-warning banner banner-warn", testid: "when-warning", role: "status", hidden: true, style: { padding: "4px 8px", marginTop: "4px" } });
  const error = h("div", { class: "field-error", testid: "when-error", role: "alert", hidden: true });
  const chips = h("div", { class: "when-chips", role: "group", "aria-label": t("planner.chips"), style: { display: "flex", gap: "6px", flexWrap: "wrap", marginTop: "6px" } },
    CHIPS.map((chip) => h("button", {
      type: "button", class: "btn btn-sm btn-ghost", testid: "when-chip", dataset: { text: chip.text },
      onclick: () => { input.value = t(chip.key); changed(true); input.focus(); },
    }, t(chip.key))));
  const el = h("div", { class: "field when-input", testid, dataset: { state: "empty" } },
    h("label", { htmlFor: id }, label || t("planner.label")),
    input,
    h("div", { id: `${id}-hint`, class: "hint" }, t("planner.hint")),
    chips, preview, warning, error,
  );

  function setState(state, at = null) {
    el.dataset.state = state;
    if (at) el.dataset.at = at;
    else delete el.dataset.at;
    input.setAttribute("aria-invalid", state === "error" ? "true" : "false");
    if (at !== current) {
      current = at;
      onChange(at);
    }
  }

  const readSoon = debounce(() => read(), DEBOUNCE_MS);

  function changed(now = false) {
    setState(input.value.trim() ? "pending" : "empty");
    if (!input.value.trim()) {
      readSoon.cancel();
      if (inflight) inflight.abort();
      mount(preview);
      warning.hidden = error.hidden = true;
      return;
    }
    if (now) readNow();
    else readSoon();
  }

  function readNow() {
    readSoon.cancel();
    read();
  }

  async function read() {
    const text = input.value.trim();
    if (!text || destroyed) return;
    const mine = ++sequence;
    if (inflight) inflight.abort();
    inflight = new AbortController();
    try {
      const result = await api("GET", "/planner/parse", { query: { text, client_id: clientId, tz: zone }, signal: inflight.signal });
      if (mine !== sequence || destroyed) return;
      mount(preview, previewText(result));
      const warn = windowWarning(result);
      warning.textContent = warn || "";
      warning.hidden = !warn;
      error.hidden = true;
      el.dataset.inWindow = String(result.in_window);
      setState("ok", result.at);
    } catch (err) {
      if (err.name === "AbortError" || mine !== sequence || destroyed) return;
      mount(preview);
      warning.hidden = true;
      error.textContent = errorText(err);
      error.hidden = false;
      setState("error");
    }
  }

  el.setValue = (given) => {
    const text = String(given || "");
    input.value = /^\d{4}-\d{2}-\d{2}T/.test(text) ? localIsoText(text) : text;
    changed(true);
  };
  el.value = () => current;
  el.focus = () => input.focus();
  el.destroy = () => {
    destroyed = true;
    readSoon.cancel();
    if (inflight) inflight.abort();
  };
  if (value) el.setValue(value);
  return el;
}
