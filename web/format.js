// Locale-aware formatting. Everything goes through Intl with the UI language,
// so switching the language re-formats dates and money too.

import { getLang } from "./i18n.js";

function locale() {
  return getLang() === "ru" ? "ru-RU" : "en-GB";
}

function parseDate(value) {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** "12.03.2024, 14:05" in the operator's own timezone. */
export function formatDateTime(value) {
  const date = parseDate(value);
  if (!date) return "";
  return new Intl.DateTimeFormat(locale(), {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  }).format(date);
}

/** "12.03.2024" */
export function formatDate(value) {
  const date = parseDate(value);
  if (!date) return "";
  return new Intl.DateTimeFormat(locale(), { year: "numeric", month: "2-digit", day: "2-digit" }).format(date);
}

/** A calendar date "YYYY-MM-DD" (birthday) formatted without timezone shifts. */
export function formatCalendarDate(value) {
  if (!value) return "";
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  if (!match) return String(value);
  const date = new Date(Date.UTC(+match[1], +match[2] - 1, +match[3]));
  return new Intl.DateTimeFormat(locale(), { year: "numeric", month: "long", day: "numeric", timeZone: "UTC" }).format(date);
}

/** Money from the API's decimal string: "1234.50", "RUB" → "1 234,50 ₽". */
export function formatMoney(total, currency) {
  if (total === null || total === undefined || total === "") return "";
  const amount = Number(total);
  if (!Number.isFinite(amount)) return `${total} ${currency || ""}`.trim();
  try {
    return new Intl.NumberFormat(locale(), {
      style: "currency", currency: currency || "RUB", currencyDisplay: "narrowSymbol",
    }).format(amount);
  } catch {
    return `${new Intl.NumberFormat(locale(), { minimumFractionDigits: 2 }).format(amount)} ${currency || ""}`.trim();
  }
}

/** Best human form of a phone from the API. */
export function formatPhone(phone) {
  return phone.display || phone.e164 || phone.number || "";
}

/** True when `zone` is an IANA zone this browser knows. */
export function isValidTimeZone(zone) {
  if (!zone) return false;
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/**
 * The wall clock in `zone` at `now`:
 * {time: "14:05", weekday: "пт", offset: "GMT+3", hour: 14}.
 */
export function localTimeIn(zone, now = new Date()) {
  const time = new Intl.DateTimeFormat(locale(), { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(now);
  const weekday = new Intl.DateTimeFormat(locale(), { timeZone: zone, weekday: "short" }).format(now);
  const hour = Number(new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", hourCycle: "h23" }).format(now));
  return { time, weekday, offset: utcOffset(zone, now), hour };
}

/** "UTC+03:00" for `zone` at `now`. */
export function utcOffset(zone, now = new Date()) {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone: zone, timeZoneName: "longOffset" }).formatToParts(now);
  const name = (parts.find((p) => p.type === "timeZoneName") || {}).value || "GMT";
  const offset = name.replace("GMT", "");
  return "UTC" + (offset || "+00:00");
}

/** Seconds as a call timer: 75 → "1:15", 3725 → "1:02:05". */
export function formatDuration(seconds) {
  const total = Math.max(0, Math.floor(Number(seconds) || 0));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/**
 * A number from the PBX for reading aloud: "+79161234567" → "+7 916 123-45-67"
 * (the +7 zone, where the shops are); anything else is shown as it came.
 */
export function formatNumber(number) {
  if (!number) return "";
  const text = String(number);
  const match = /^\+7(\d{3})(\d{3})(\d{2})(\d{2})$/.exec(text);
  return match ? `+7 ${match[1]} ${match[2]}-${match[3]}-${match[4]}` : text;
}

/** "14:05" (today) or "12.03, 14:05" (another day), in the operator's own timezone. */
export function formatShortDateTime(value, now = new Date()) {
  const date = parseDate(value);
  if (!date) return "";
  const sameDay = date.toDateString() === now.toDateString();
  const options = sameDay
    ? { hour: "2-digit", minute: "2-digit" }
    : { day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit" };
  return new Intl.DateTimeFormat(locale(), options).format(date);
}
