// The outcome of an attempt as one-click buttons (and keys 1–8), from the
// table admins edit (GET /api/outcomes). Used after every call on the call
// card and on a task card. The PBX's outcome (no_answer, busy, unavailable,
// invalid_number) is preselected. "Call back…" asks for a time with the
// quick time entry and the planner. Saving answers with the task as it now
// is, and the component says when the next attempt is, in the client's time
// and in the operator's.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { t, getLang } from "../i18n.js";
import { openDialog, submitOnCtrlEnter, translatedOr } from "../ui.js";

let outcomesRequest = null; // one shared GET /api/outcomes per session, until an admin edits them

/** The active outcome definitions, ordered by position (cached). */
export function loadOutcomes() {
  if (!outcomesRequest) {
    outcomesRequest = api("GET", "/outcomes")
      .then((data) => (data.items || []).filter((item) => item.active !== false)
        .sort((a, b) => (a.position ?? 0) - (b.position ?? 0)))
      .catch((err) => { outcomesRequest = null; throw err; });
  }
  return outcomesRequest;
}

/** Forget the cached definitions (after an admin changed them). */
export function forgetOutcomes() {
  outcomesRequest = null;
}

/** The label in the UI language. */
export function outcomeLabel(def) {
  if (!def) return "";
  const own = getLang() === "en" ? def.label_en : def.label_ru;
  return own || def.label || def.code;
}

/** The operator's own IANA zone (the browser's). */
export function operatorZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch {
    return "UTC";
  }
}

function locale() {
  return getLang() === "ru" ? "ru-RU" : "en-GB";
}

/** A city name for a zone: "Asia/Yekaterinburg" → "Екатеринбург". */
export function zoneName(zone) {
  if (!zone) return "";
  return translatedOr("tz." + zone, zone.split("/").pop().replace(/_/g, " "));
}

function zoneDay(date, zone) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(date);
}

/** "14:35" today in `zone`, "завтра 10:00" tomorrow, else "05.12, 10:00" ("" for a bad time/zone). */
export function timeInZone(iso, zone, now = new Date()) {
  const date = iso ? new Date(iso) : null;
  if (!date || Number.isNaN(date.getTime())) return "";
  try {
    const time = new Intl.DateTimeFormat(locale(), { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(date);
    if (zoneDay(date, zone) === zoneDay(now, zone)) return time;
    if (zoneDay(date, zone) === zoneDay(new Date(now.getTime() + 86400000), zone)) return t("outcomes.tomorrow", { time });
    const day = new Intl.DateTimeFormat(locale(), { timeZone: zone, day: "2-digit", month: "2-digit" }).format(date);
    return `${day}, ${time}`;
  } catch {
    return "";
  }
}

/** True when the task JSON names exactly one client zone this browser knows. */
function knownZone(task) {
  const zone = task && task.client_timezone;
  if (!zone || zone.includes(",") || task.client_zone_known === false) return null;
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return zone;
  } catch {
    return null;
  }
}

/**
 * "14:35 у клиента (Екатеринбург) · 12:35 у вас" for `iso` and a task's
 * client zone; only the operator's time when the client's zone is unknown.
 */
export function bothTimes(iso, task) {
  const mine = timeInZone(iso, operatorZone());
  const zone = knownZone(task);
  if (!zone) return t("outcomes.time_mine_only", { mine });
  if (zone === operatorZone()) return t("outcomes.time_same", { time: mine, city: zoneName(zone) });
  return t("outcomes.time_both", { client: timeInZone(iso, zone), city: zoneName(zone), mine });
}

/** What became of the task after an outcome, as one line for the operator. */
export function resultText(task, def) {
  if (!task) return t("outcomes.saved_no_task", { outcome: outcomeLabel(def) });
  if (task.status === "archived") {
    const reason = task.closed_reason === "ladder_exhausted"
      ? t("outcomes.reason.ladder_exhausted")
      : translatedOr("outcomes.reason." + task.closed_reason, outcomeLabel(def) || task.closed_reason || "");
    return t("outcomes.archived", { reason });
  }
  if (task.status === "done") return t("outcomes.done", { outcome: outcomeLabel(def) || task.result || "" });
  const next = task.ready_at || task.due_at;
  return t("outcomes.next_attempt", { when: bothTimes(next, task) });
}

// ---- keys ------------------------------------------------------------------

// The components currently on screen; keys go to the newest one that may take them.
const active = [];

function isTextTarget(target) {
  return target instanceof HTMLElement
    && (target.isContentEditable || target.tagName === "TEXTAREA"
      || (target.tagName === "INPUT" && !["checkbox", "radio", "button", "submit"].includes(target.type)));
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
  if (!/^[0-9]$/.test(event.key) || isTextTarget(event.target)) return;
  const dialog = document.querySelector("dialog[open]");
  for (let i = active.length - 1; i >= 0; i -= 1) {
    const item = active[i];
    if (!item.el.isConnected || item.el.closest("[hidden]") || !item.enabled()) continue;
    if (dialog && !dialog.contains(item.el)) continue;
    // A select elsewhere keeps its own typing; inside the component's card the digit is an outcome.
    if (event.target instanceof HTMLSelectElement && !(item.scope || item.el).contains(event.target)) return;
    if (item.press(event.key)) {
      event.preventDefault();
      return;
    }
  }
});

// ---- the component ---------------------------------------------------------

/**
 * outcomeButtons({callId | taskId, clientId, task, preselect, note, scope, onSaved})
 * → {el, setPreselect(code), setCall(id), destroy()}.
 * callId: POST /api/calls/{id}/outcome; else taskId: POST /api/tasks/{id}/outcome;
 * resolveCall(): the call's id when it was not known yet (a promise).
 * note(): the note to send (e.g. the card's textarea); scope: the element whose
 * selects may also take the hotkeys (the call card); onSaved({task, call, def, text}).
 */
export function outcomeButtons({ callId = null, taskId = null, clientId = null, task = null, preselect = null,
  note = () => "", scope = null, onSaved = () => {}, resolveCall = null, testid = "outcome-buttons" }) {
  let defs = [];
  let chosen = preselect;
  let busy = false;
  let saved = false;
  let currentCall = callId;
  const buttons = h("div", { class: "outcome-buttons", role: "group", "aria-label": t("outcomes.title") }, t("common.loading"));
  const result = h("div", { class: "outcome-result", testid: "outcome-result", role: "status", "aria-live": "polite", hidden: true });
  const error = h("div", { class: "field-error", role: "alert", testid: "outcome-error", hidden: true });
  const el = h("section", { class: "outcome-panel", testid },
    h("h3", { class: "pop-section-title" }, t("outcomes.title"), h("span", { class: "hint outcome-keys-hint" }, t("outcomes.keys_hint"))),
    buttons, error, result);

  const entry = {
    el,
    scope,
    enabled: () => !busy && !saved && defs.length > 0,
    press(key) {
      const def = defs.find((d) => String(d.hotkey || "") === key);
      if (!def) return false;
      choose(def);
      return true;
    },
  };
  active.push(entry);

  function paint() {
    mount(buttons, defs.map((def) => h("button", {
      type: "button",
      class: ["btn", "outcome-btn", def.code === chosen && "outcome-preselected", def.final && "outcome-final",
        def.failed_attempt && "outcome-failed"],
      testid: "outcome-" + def.code,
      dataset: { code: def.code, preselected: def.code === chosen ? "1" : "0" },
      "aria-pressed": def.code === chosen ? "true" : "false",
      "aria-keyshortcuts": def.hotkey || null,
      title: def.hotkey ? `${outcomeLabel(def)} (${def.hotkey})` : outcomeLabel(def),
      disabled: busy || saved,
      onclick: () => choose(def),
    },
      def.hotkey && h("kbd", { class: "outcome-key" }, def.hotkey),
      outcomeLabel(def) + (def.requires_next_at && !/[….]$/.test(outcomeLabel(def)) ? "…" : ""),
    )));
  }

  function choose(def) {
    if (busy || saved) return;
    if (def.requires_next_at) {
      askTime(def);
      return;
    }
    save(def, null);
  }

  async function askTime(def) {
    const picked = await callbackDialog({ clientId, def });
    if (picked) save(def, picked.at, picked.note);
  }

  async function save(def, nextAt, dialogNote) {
    busy = true;
    error.hidden = true;
    paint();
    // the call's row may be stored a moment after its end reached this page
    if (!currentCall && resolveCall) currentCall = await resolveCall().catch(() => null);
    if (!currentCall && !taskId) {
      busy = false;
      paint();
      fail(t("pop.call_not_stored"));
      return;
    }
    const body = { outcome: def.code };
    const text = [note() || "", dialogNote || ""].map((s) => s.trim()).filter(Boolean).join("\n");
    if (text) body.note = text;
    if (nextAt) body.next_at = nextAt;
    try {
      let answer;
      let call = null;
      if (currentCall) {
        const data = await api("POST", `/calls/${currentCall}/outcome`, { body });
        answer = data.task || null;
        call = data.call || null;
      } else {
        answer = await api("POST", `/tasks/${taskId}/outcome`, { body });
      }
      saved = true;
      chosen = def.code;
      const line = resultText(answer, def);
      result.textContent = line;
      result.hidden = false;
      result.dataset.status = answer ? answer.status : "none";
      if (answer) window.dispatchEvent(new CustomEvent("callcenter:task-updated", { detail: { task: answer } }));
      window.dispatchEvent(new CustomEvent("callcenter:outcome-saved", { detail: { task: answer, code: def.code } }));
      onSaved({ task: answer, call, def, text: line });
    } catch (err) {
      if (err.status !== 401) fail(outcomeError(err));
    } finally {
      busy = false;
      paint();
    }
  }

  function fail(message) {
    error.textContent = message;
    error.hidden = false;
  }

  loadOutcomes().then((items) => {
    defs = items;
    const keys = defs.map((d) => d.hotkey).filter(Boolean).sort();
    const hint = el.querySelector(".outcome-keys-hint");
    if (hint) hint.textContent = keys.length ? t("outcomes.keys_hint_list", { keys: keys.length > 2 && /^\d$/.test(keys[0]) && Number(keys[keys.length - 1]) - Number(keys[0]) === keys.length - 1 ? `${keys[0]}–${keys[keys.length - 1]}` : keys.join(" ") }) : "";
    paint();
  }).catch((err) => {
    if (err.status !== 401) mount(buttons, h("span", { class: "field-error" }, err.message));
  });

  return {
    el,
    setPreselect(code) {
      if (saved || !code) return;
      chosen = code;
      paint();
    },
    setCall(id) { if (id) currentCall = id; },
    get saved() { return saved; },
    destroy() {
      const index = active.indexOf(entry);
      if (index >= 0) active.splice(index, 1);
    },
  };
}

function outcomeError(err) {
  if (err.code === "do_not_call") return t("outcomes.error.do_not_call");
  if (err.status === 422 || err.status === 400) {
    const fields = err.fields || {};
    const first = Object.values(fields)[0];
    if (first) return String(first);
  }
  return err.message;
}

/**
 * "Call back…": a time in the quick syntax (the planner's whenInput) with the
 * operator's day beside it (plannerStrip); resolves {at, note} or null.
 */
export function callbackDialog({ clientId, def, title }) {
  return new Promise((resolve) => {
    let at = null;
    let done = false;
    const whenSlot = h("div", { class: "callback-when" });
    const plannerSlot = h("div", { class: "callback-planner" });
    const note = h("textarea", { rows: "2", testid: "callback-note", "aria-label": t("pop.note"), placeholder: t("pop.note_placeholder") });
    const error = h("div", { class: "field-error", role: "alert", testid: "callback-error", hidden: true });
    const submit = h("button", { type: "submit", class: "btn btn-primary", testid: "callback-save", title: "Ctrl+Enter" }, t("outcomes.callback_save"));
    const form = submitOnCtrlEnter(h("form", {
      class: "callback-form", testid: "callback-form", novalidate: true,
      onsubmit: (event) => {
        event.preventDefault();
        if (!at) {
          error.textContent = t("outcomes.callback_time_required");
          error.hidden = false;
          return;
        }
        done = true;
        resolve({ at, note: note.value });
        dialog.close();
      },
    }, whenSlot, plannerSlot, h("div", { class: "field" }, note), error,
    h("div", { class: "dialog-foot" }, submit, h("span", { class: "hint" }, t("form.shortcut_hint")))));
    const dialog = openDialog({
      title: title || (def ? outcomeLabel(def) : t("outcomes.callback_title")), body: form, testid: "callback-dialog", wide: true,
      onClose: () => {
        for (const part of [whenSlot.firstElementChild, plannerSlot.firstElementChild]) {
          if (part && typeof part.destroy === "function") part.destroy();
        }
        if (!done) resolve(null);
      },
    });
    dialog.dialog.classList.add("dialog-beside-pop");
    mountTimeEntry(whenSlot, plannerSlot, clientId, (value) => { at = value; error.hidden = true; });
  });
}

/**
 * Put the planner helper's whenInput and plannerStrip into the slots; a
 * plain local date-time input stands in when those modules are not there.
 */
async function mountTimeEntry(whenSlot, plannerSlot, clientId, onChange) {
  let when = null;
  let strip = null;
  let shownDay = null;
  // the planner shows the operator's day of the time typed
  const follow = (iso) => {
    onChange(iso || null);
    if (!iso || !strip || typeof strip.setDate !== "function") return;
    const day = localInputValue(new Date(iso)).slice(0, 10);
    if (day !== shownDay) {
      shownDay = day;
      strip.setDate(day);
    }
  };
  try {
    const module = await import("./when_input.js");
    when = module.whenInput({ clientId, value: "", onChange: follow });
    mount(whenSlot, when.el || when);
  } catch {
    const input = h("input", { type: "datetime-local", testid: "callback-at", "aria-label": t("outcomes.callback_at"),
      oninput: () => onChange(input.value ? new Date(input.value).toISOString() : null) });
    mount(whenSlot, h("div", { class: "field" }, h("label", null, t("outcomes.callback_at")), input));
  }
  const focusable = whenSlot.querySelector("input");
  if (focusable) focusable.focus();
  try {
    const module = await import("./planner.js");
    const today = new Date();
    const date = `${today.getFullYear()}-${String(today.getMonth() + 1).padStart(2, "0")}-${String(today.getDate()).padStart(2, "0")}`;
    shownDay = date;
    strip = module.plannerStrip({
      date,
      onPick: (picked) => {
        const iso = pickedToIso(picked);
        if (!iso) return;
        if (when && typeof when.setValue === "function") when.setValue(iso);
        else {
          const input = whenSlot.querySelector("input");
          if (input) {
            input.value = input.type === "datetime-local" ? localInputValue(new Date(iso)) : localInputText(new Date(iso));
            input.dispatchEvent(new Event("input", { bubbles: true }));
          }
        }
        onChange(iso);
      },
    });
    mount(plannerSlot, strip.el || strip);
    strip = strip.el || strip;
  } catch {
    plannerSlot.hidden = true;
  }
}

function pickedToIso(picked) {
  if (!picked) return null;
  if (typeof picked === "string") return picked;
  if (picked instanceof Date) return picked.toISOString();
  if (picked.at) return picked.at;
  if (picked.iso) return picked.iso;
  return null;
}

function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function localInputText(date) {
  return date.toISOString();
}
