// A ring must be noticed even when the operator works in another window:
// while a call rings this operator's phone the page plays a ring (WebAudio,
// no sound file; on by default, muted by the top bar's bell, remembered in
// localStorage), shows a desktop notification with the caller's name and
// blinks the tab title ("☎ Звонок: Иванова…"). The title and the
// notification are for a page out of sight: they stop when it gets the
// focus, and everything stops when no call rings any more.
//
// The screen pop tells the ringer which calls ring: ringer.set([{key, name}]).

import { h } from "./dom.js";
import { t } from "./i18n.js";

const MUTED_KEY = "callcenter.ring.muted";
// The notification permission is asked for once, ever, on a user gesture.
const ASKED_KEY = "callcenter.notify.asked";
const RING_EVERY_MS = 3000;
// Several tabs of one browser ring once: the tab holding this lock plays the ring.
const SOUND_KEY = "callcenter.ring.sound";
const TAB = Math.random().toString(36).slice(2);
const BLINK_EVERY_MS = 1000;
// Two short bursts of the classic two-tone ring (seconds into each cycle).
const BURSTS = [[0, 0.4], [0.6, 1.0]];
const TONES = [440, 480];
const VOLUME = 0.18;
const NAME_CHARS = 24;

const muteListeners = new Set();

function stored(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function store(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Private mode or a full storage: the choice lasts for this page only.
  }
}

let muted = stored(MUTED_KEY) === "1";

// Muted in another tab: this one follows.
window.addEventListener("storage", (event) => {
  if (event.key !== MUTED_KEY) return;
  muted = event.newValue === "1";
  muteListeners.forEach((listener) => listener(muted));
});

export function isRingMuted() {
  return muted;
}

export function setRingMuted(on) {
  muted = !!on;
  store(MUTED_KEY, muted ? "1" : "0");
  muteListeners.forEach((listener) => listener(muted));
}

/** The top bar's bell: sound on / off (aria-pressed = muted). Returns {el, destroy}. */
export function ringToggle() {
  const el = h("button", { type: "button", class: "btn btn-ghost ring-toggle", testid: "ring-mute", onclick: () => setRingMuted(!muted) },
    h("span", { class: "ring-icon", "aria-hidden": "true" }));
  function paint() {
    el.title = muted ? t("screen.ring_unmute") : t("screen.ring_mute");
    el.setAttribute("aria-label", el.title);
    el.setAttribute("aria-pressed", muted ? "true" : "false");
    el.dataset.muted = muted ? "1" : "0";
  }
  paint();
  muteListeners.add(paint);
  return { el, destroy: () => muteListeners.delete(paint) };
}

function pageInSight() {
  return !document.hidden && document.hasFocus();
}

/** Start the ringer for this session; returns {set(ringing), destroy()}. */
export function createRinger() {
  let ringing = [];       // [{key, name}] in the pop's order, newest first
  let audio = null;       // AudioContext, made on first need
  let ringTimer = null;
  let blinkTimer = null;
  let blinkOn = false;
  let ownTitle = null;    // what the page's title is when it is not blinking
  const notices = new Map(); // call key -> Notification

  // ---- sound ---------------------------------------------------------------

  function context() {
    if (audio) return audio;
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return null;
    try {
      audio = new Context();
    } catch {
      audio = null;
    }
    return audio;
  }

  /** True when this tab plays the ring now; another tab already ringing keeps it. */
  function soundTurn() {
    try {
      const now = Date.now();
      const held = JSON.parse(localStorage.getItem(SOUND_KEY) || "null");
      if (held && held.tab !== TAB && held.until > now) return false;
      localStorage.setItem(SOUND_KEY, JSON.stringify({ tab: TAB, until: now + RING_EVERY_MS + 1000 }));
    } catch {
      // No storage: every tab rings.
    }
    return true;
  }

  function releaseSound() {
    try {
      const held = JSON.parse(localStorage.getItem(SOUND_KEY) || "null");
      if (held && held.tab === TAB) localStorage.removeItem(SOUND_KEY);
    } catch {
      // nothing held
    }
  }

  function ringOnce() {
    if (muted || !soundTurn()) return;
    const ctx = context();
    if (!ctx) return;
    // Browsers start audio suspended until the user has touched the page; a gesture unlocks it.
    if (ctx.state === "suspended" && ctx.resume) ctx.resume().catch(() => {});
    const now = ctx.currentTime;
    const gain = ctx.createGain();
    gain.gain.setValueAtTime(0, now);
    for (const [from, to] of BURSTS) {
      gain.gain.setValueAtTime(0, now + from);
      gain.gain.linearRampToValueAtTime(VOLUME, now + from + 0.02);
      gain.gain.setValueAtTime(VOLUME, now + to - 0.02);
      gain.gain.linearRampToValueAtTime(0, now + to);
    }
    gain.connect(ctx.destination);
    const end = now + BURSTS[BURSTS.length - 1][1];
    for (const frequency of TONES) {
      const oscillator = ctx.createOscillator();
      oscillator.type = "sine";
      oscillator.frequency.value = frequency;
      oscillator.connect(gain);
      oscillator.start(now);
      oscillator.stop(end);
    }
  }

  function startSound() {
    if (ringTimer) return;
    ringOnce();
    ringTimer = setInterval(ringOnce, RING_EVERY_MS);
  }

  function stopSound() {
    if (ringTimer) releaseSound();
    clearInterval(ringTimer);
    ringTimer = null;
  }

  function unlockAudio() {
    if (audio && audio.state === "suspended" && audio.resume) audio.resume().catch(() => {});
  }

  // ---- title ---------------------------------------------------------------

  function ringTitle() {
    const name = ringing[0] ? ringing[0].name || "" : "";
    const short = name.length > NAME_CHARS ? name.slice(0, NAME_CHARS - 1) + "…" : name;
    return t("screen.ring_title", { name: short });
  }

  function blink() {
    // The app renamed the page meanwhile (a route change): that is the title to come back to.
    if (document.title !== ringTitle() && document.title !== ownTitle) ownTitle = document.title;
    blinkOn = !blinkOn;
    document.title = blinkOn ? ringTitle() : ownTitle;
  }

  function startBlink() {
    if (blinkTimer) return;
    ownTitle = document.title;
    blinkOn = false;
    blink();
    blinkTimer = setInterval(blink, BLINK_EVERY_MS);
  }

  function stopBlink() {
    if (!blinkTimer) return;
    clearInterval(blinkTimer);
    blinkTimer = null;
    if (document.title === ringTitle() || blinkOn) document.title = ownTitle;
    blinkOn = false;
  }

  // ---- desktop notifications ---------------------------------------------

  function notify(call) {
    if (typeof Notification !== "function" || Notification.permission !== "granted") return;
    try {
      const notice = new Notification(t("screen.notify_title"), {
        body: call.name || t("pop.unknown_caller"), tag: "call-" + call.key, renotify: false,
        requireInteraction: true, silent: true,
      });
      notice.onclick = () => {
        window.focus();
        notice.close();
      };
      notices.set(call.key, notice);
    } catch {
      // Some browsers only allow notifications from a service worker: the sound and the title remain.
    }
  }

  function closeNotice(key) {
    const notice = notices.get(key);
    if (notice) notice.close();
    notices.delete(key);
  }

  function askPermissionOnce() {
    if (typeof Notification !== "function" || Notification.permission !== "default") return;
    if (stored(ASKED_KEY) === "1") return;
    store(ASKED_KEY, "1");
    try {
      const asked = Notification.requestPermission();
      if (asked && asked.catch) asked.catch(() => {});
    } catch {
      // An old callback-only API: the permission is simply not asked for.
    }
  }

  // ---- what rings ---------------------------------------------------------

  function refresh() {
    const away = !pageInSight();
    if (ringing.length) startSound();
    else stopSound();
    if (ringing.length && away) startBlink();
    else stopBlink();
    const keys = new Set(ringing.map((call) => call.key));
    for (const key of [...notices.keys()]) if (!keys.has(key) || !away) closeNotice(key);
    if (away) for (const call of ringing) if (!notices.has(call.key)) notify(call);
  }

  function onGesture() {
    unlockAudio();
    askPermissionOnce();
  }

  function onSight() {
    refresh();
  }

  function onMute() {
    if (muted) stopSound();
    else if (ringing.length) startSound();
  }

  document.addEventListener("pointerdown", onGesture, true);
  document.addEventListener("keydown", onGesture, true);
  window.addEventListener("focus", onSight);
  window.addEventListener("blur", onSight);
  document.addEventListener("visibilitychange", onSight);
  muteListeners.add(onMute);

  return {
    /** The calls ringing this operator's phone now ([{key, name}], newest first). */
    set(calls) {
      const before = ringing.map((call) => call.key).join();
      ringing = calls.slice();
      if (ringing.map((call) => call.key).join() !== before || ringing.length) refresh();
    },
    destroy() {
      ringing = [];
      refresh();
      document.removeEventListener("pointerdown", onGesture, true);
      document.removeEventListener("keydown", onGesture, true);
      window.removeEventListener("focus", onSight);
      window.removeEventListener("blur", onSight);
      document.removeEventListener("visibilitychange", onSight);
      muteListeners.delete(onMute);
      if (audio && audio.close) audio.close().catch(() => {});
      audio = null;
    },
  };
}
