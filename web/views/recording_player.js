// A call's recording where calls are listed (the call log, the client card,
// the missing list): a player with play/pause, a seek bar, position and
// length, speed 1× / 1.5× / 2× and a download link for those allowed, the
// sound check's chip; or the recording's status when it cannot be played.
//
// `recording` is the call JSON's object (null | {status, health,
// duration_seconds, format, url, may_download}). The server decides who may
// hear: a recording with no url is only described, never fetched. The audio
// is fetched with preload="none": a page of 50 calls loads nothing until one
// is played; seeking fetches by HTTP Range.

import { h, mount } from "../dom.js";
import { t } from "../i18n.js";

const SPEEDS = [1, 1.5, 2];
const HEALTH_CLASS = { ok: "chip-ok", customer_silent: "chip-warn", operator_silent: "chip-warn", both_silent: "chip-danger", unknown: "chip-muted" };
const STATUS_CLASS = { pending: "chip-muted", missing: "chip-danger", failed: "chip-danger", empty: "chip-warn", deleted: "chip-muted", ready: "chip-muted" };

// One recording at a time: starting one pauses the one playing.
let playing = null;

function clock(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "0:00";
  const whole = Math.floor(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

/** The sound check's chip (one-way audio, nobody spoke…), or null. */
export function healthChip(health) {
  if (!health) return null;
  return h("span", { class: ["chip", "chip-xs", HEALTH_CLASS[health] || "chip-muted"], testid: "rec-health", dataset: { health } },
    t("recordings.health." + health));
}

/** The recording's status as a chip, for one that cannot be played here. */
export function recordingStatus(recording) {
  if (!recording) return h("span", { class: "muted", testid: "rec-none", title: t("recordings.none") }, "—");
  const key = recording.status === "ready" ? "recordings.no_access" : "recordings.status." + recording.status;
  return h("span", { class: ["chip", "chip-xs", STATUS_CLASS[recording.status] || "chip-muted"], testid: "rec-status", dataset: { status: recording.status } }, t(key));
}

const STATUS_MARK = { pending: "…", missing: "!", failed: "!", empty: "∅", deleted: "×", ready: "🔒" };

/**
 * A call row's recording in a narrow table cell: ▶ opens the whole player in a
 * row of its own under the call's row (and plays), ▶ again closes it; a
 * recording that cannot be played here is a small mark saying why (its text
 * as the tooltip and for screen readers).
 */
export function recordingToggle(recording, { callId } = {}) {
  if (!recording) return recordingStatus(null);
  if (!recording.url) {
    const text = t(recording.status === "ready" ? "recordings.no_access" : "recordings.status." + recording.status);
    return h("span", {
      class: ["chip", "chip-xs", "rec-mark", STATUS_CLASS[recording.status] || "chip-muted"], testid: "rec-status",
      dataset: { status: recording.status }, title: text, "aria-label": text, role: "img",
    }, STATUS_MARK[recording.status] || "?");
  }
  const health = recording.health && recording.health !== "ok" ? t("recordings.health." + recording.health) : "";
  const label = t("recordings.play") + (health ? " — " + health : "");
  const button = h("button", {
    type: "button", class: ["icon-btn", "rec-toggle", health && "rec-toggle-warn"], testid: "rec-toggle",
    "aria-expanded": "false", "aria-label": label, title: label, dataset: { health: recording.health || "" },
  }, "▶");
  let detail = null;
  button.addEventListener("click", () => {
    const row = button.closest("tr");
    if (detail && detail.isConnected) {
      const audio = detail.querySelector("audio");
      if (audio) audio.pause();
      detail.remove();
      button.setAttribute("aria-expanded", "false");
      return;
    }
    const player = recordingPlayer(recording);
    detail = h("tr", { class: "rec-detail-row", testid: "rec-detail", dataset: { id: callId } },
      h("td", { colspan: row ? row.children.length : 1 }, player));
    if (row) row.after(detail);
    button.setAttribute("aria-expanded", "true");
    player.play();
    player.querySelector('[data-testid="rec-play"]').focus();
  });
  return button;
}

/**
 * The player for `recording`, or its status when it has no url. The element
 * has play(): start playing (from a click elsewhere, e.g. the row's ▶).
 * Options: testid (of the player's group, default "rec-player").
 */
export function recordingPlayer(recording, { testid = "rec-player" } = {}) {
  if (!recording || !recording.url) return recordingStatus(recording);

  const known = Number(recording.duration_seconds) || 0;
  let dragging = false; // the bar follows the sound, except under the user's pointer
  const audio = h("audio", { preload: "none", src: recording.url, testid: "rec-audio" });
  const play = h("button", { type: "button", class: "icon-btn rec-play", testid: "rec-play", "aria-label": t("recordings.play"), title: t("recordings.play"), onclick: toggle }, "▶");
  const seek = h("input", {
    type: "range", class: "rec-seek", testid: "rec-seek", min: "0", max: String(known || 1), step: "0.1", value: "0",
    "aria-label": t("recordings.seek"),
    oninput: () => { audio.currentTime = Number(seek.value); paintTime(); },
    onpointerdown: () => { dragging = true; },
    onpointerup: () => { dragging = false; },
    onchange: () => { dragging = false; },
  });
  const time = h("span", { class: "rec-time mono", testid: "rec-time" });
  const speeds = h("span", { class: "rec-speeds", role: "group", "aria-label": t("recordings.speeds") },
    SPEEDS.map((rate) => h("button", {
      type: "button", class: "btn btn-sm btn-ghost rec-speed", testid: "rec-speed-" + rate,
      "aria-pressed": String(rate === 1), "aria-label": t("recordings.speed", { rate }),
      onclick: () => setRate(rate),
    }, `${rate}×`)));
  const download = recording.may_download && h("a", {
    class: "icon-btn rec-download", testid: "rec-download", href: recording.url + "?download=1", download: "",
    "aria-label": t("recordings.download"), title: t("recordings.download"),
  }, "⤓");
  const problem = h("span", { class: "rec-problem", role: "status" });
  const el = h("div", { class: "rec-player", role: "group", "aria-label": t("recordings.player"), testid, dataset: { state: "idle" } },
    play, seek, time, speeds, download, healthChip(recording.health), problem, audio);

  function duration() {
    return Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration : known;
  }

  function paintTime() {
    const total = duration();
    if (total && Number(seek.max) !== total) seek.max = String(total);
    if (!dragging) seek.value = String(audio.currentTime);
    const text = `${clock(audio.currentTime)} / ${clock(total)}`;
    time.textContent = text;
    seek.setAttribute("aria-valuetext", text);
  }

  function paintPlaying() {
    const on = !audio.paused && !audio.ended;
    play.textContent = on ? "❚❚" : "▶";
    const label = t(on ? "recordings.pause" : "recordings.play");
    play.setAttribute("aria-label", label);
    play.title = label;
    el.dataset.state = on ? "playing" : "paused";
  }

  function setRate(rate) {
    audio.defaultPlaybackRate = rate;
    audio.playbackRate = rate;
    for (const button of speeds.children) button.setAttribute("aria-pressed", String(button.dataset.testid === "rec-speed-" + rate));
  }

  function toggle() {
    if (audio.paused || audio.ended) {
      if (playing && playing !== audio) playing.pause();
      playing = audio;
      mount(problem);
      audio.play().catch((err) => { if (err.name !== "AbortError") showProblem(); });
    } else {
      audio.pause();
    }
  }

  function showProblem() {
    el.dataset.state = "error";
    mount(problem, h("span", { class: "chip chip-xs chip-danger", testid: "rec-error" }, t("recordings.load_failed")));
  }

  audio.addEventListener("loadedmetadata", paintTime);
  audio.addEventListener("durationchange", paintTime);
  audio.addEventListener("timeupdate", paintTime);
  audio.addEventListener("play", paintPlaying);
  audio.addEventListener("pause", paintPlaying);
  audio.addEventListener("ended", paintPlaying);
  audio.addEventListener("error", showProblem);
  paintTime();
  el.play = () => { if (audio.paused) toggle(); };
  return el;
}
