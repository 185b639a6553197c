// The operator's day at a glance: one cell per hour with how many open tasks
// the operator already has due then (GET /api/planner/day, in the browser's
// zone), so a callback goes where the day is still free. Clicking an hour picks
// its start; the arrows move to the day before or after, "24 ч" shows the
// night hours too.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { browserZone } from "./when_input.js";

const DAY_HOURS = [8, 22]; // shown by default: 08:00 up to 22:00

function pad(n) {
  return String(n).padStart(2, "0");
}

/** "YYYY-MM-DD" of a Date in the browser's zone. */
export function dateText(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

function dateOf(text) {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(String(text || ""));
  return match ? new Date(+match[1], +match[2] - 1, +match[3]) : new Date();
}

/** The start of `hour` on local day `day` (a Date), or null for an hour the clocks skip. */
function hourStart(day, hour) {
  const at = new Date(day.getFullYear(), day.getMonth(), day.getDate(), hour);
  return at.getHours() === hour ? at : null;
}

/**
 * plannerStrip({date, onPick, userId, allDay}) → an element: the hours of
 * `date` ("YYYY-MM-DD", today when empty) with the operator's task count in
 * each; onPick(isoUtc) when an hour still ahead is clicked. The element has
 * setDate(date), refresh() and destroy().
 */
export function plannerStrip({ date = "", onPick = () => {}, userId = null, allDay = false, testid = "planner-strip" } = {}) {
  const zone = browserZone();
  let day = dateOf(date);
  let counts = null;
  let picked = null;
  let showAll = allDay;
  let sequence = 0;
  let destroyed = false;

  const title = h("span", { class: "planner-title", testid: "planner-date" });
  const status = h("span", { class: "hint", testid: "planner-status", "aria-live": "polite" });
  const grid = h("div", { class: "planner-hours", role: "group", testid: "planner-hours", style: {
    display: "grid", gridTemplateColumns: "repeat(auto-fill, minmax(44px, 1fr))", gap: "4px", marginTop: "6px",
  } });
  const toggle = h("button", { type: "button", class: "btn btn-sm btn-ghost", testid: "planner-all-day", "aria-pressed": String(showAll),
    onclick: () => { showAll = !showAll; toggle.setAttribute("aria-pressed", String(showAll)); paint(); } }, t("planner.all_day"));
  const el = h("div", { class: "planner-strip", testid, dataset: { state: "loading" } },
    h("div", { class: "planner-head", style: { display: "flex", alignItems: "center", gap: "6px", flexWrap: "wrap" } },
      h("button", { type: "button", class: "btn btn-sm btn-ghost", testid: "planner-prev", "aria-label": t("planner.prev_day"), onclick: () => move(-1) }, "‹"),
      title,
      h("button", { type: "button", class: "btn btn-sm btn-ghost", testid: "planner-next", "aria-label": t("planner.next_day"), onclick: () => move(1) }, "›"),
      toggle, status),
    grid);

  function move(days) {
    day = new Date(day.getFullYear(), day.getMonth(), day.getDate() + days);
    load();
  }

  function paint() {
    const label = new Intl.DateTimeFormat(document.documentElement.lang || "ru", { weekday: "short", day: "2-digit", month: "2-digit" }).format(day);
    title.textContent = t("planner.day_title", { date: label });
    grid.setAttribute("aria-label", t("planner.day_title", { date: label }));
    const [from, to] = showAll ? [0, 24] : DAY_HOURS;
    const now = Date.now();
    const cells = [];
    for (let hour = from; hour < to; hour++) {
      const count = counts ? counts[hour] || 0 : 0;
      const start = hourStart(day, hour);
      const past = !start || start.getTime() <= now;
      const iso = start ? start.toISOString() : "";
      const busy = count === 0 ? "free" : count < 3 ? "some" : "busy";
      const chosen = picked !== null && iso === picked;
      cells.push(h("button", {
        type: "button", class: ["btn", "btn-sm", chosen ? "btn-primary" : "btn-ghost", "planner-hour"],
        testid: "planner-hour", disabled: past,
        dataset: { hour: String(hour), count: String(count), load: busy, at: iso },
        "aria-pressed": String(chosen),
        "aria-label": t("planner.hour_label", { hour: pad(hour), count }),
        title: t("planner.hour_label", { hour: pad(hour), count }),
        style: { display: "flex", flexDirection: "column", height: "auto", padding: "2px 0", lineHeight: "1.2",
          fontWeight: count >= 3 ? "700" : "400" },
        onclick: () => { picked = iso; paint(); onPick(iso); },
      }, h("span", null, pad(hour)), h("span", { class: count ? "chip chip-xs chip-tag" : "muted", testid: "planner-count" }, count ? String(count) : "·")));
    }
    mount(grid, cells);
  }

  async function load() {
    const mine = ++sequence;
    el.dataset.state = "loading";
    el.dataset.date = dateText(day);
    status.textContent = "";
    paint();
    try {
      const result = await api("GET", "/planner/day", { query: { date: dateText(day), tz: zone, user_id: userId } });
      if (mine !== sequence || destroyed) return;
      counts = Object.fromEntries(result.hours.map((item) => [item.hour, item.count]));
      status.textContent = t("planner.total", { count: result.total });
      el.dataset.state = "ready";
      el.dataset.total = String(result.total);
      paint();
    } catch (err) {
      if (mine !== sequence || destroyed || err.status === 401) return;
      counts = null;
      status.textContent = t("planner.load_failed");
      el.dataset.state = "error";
      paint();
    }
  }

  el.setDate = (text) => { day = dateOf(text); load(); };
  el.refresh = () => load();
  el.destroy = () => { destroyed = true; };
  load();
  return el;
}
