// The live link: one websocket to /ws per tab (session cookie auth), JSON
// messages dispatched by `type`, reconnected with capped, jittered backoff
// whenever it closes (1013 when this tab fell behind, 1001 on server
// shutdown, a dropped network). Views subscribe with onLive(type, handler).
//
// Backoff: the first retry after ~1 s, then doubling, never more than 5 s
// apart, so a page is back within 5 s of the server. Every (re)connect is
// greeted with the live state — the AMI status in "hello", then the calls
// ringing at or in progress with this user's phone — so a call that rang
// while the link was down still pops. linkStatus() tells the whole state:
// the live link and the PBX, for the labels and for click-to-call.

import { api } from "./api.js";

const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 5000;
// Jitter only shortens a wait (down to this share of it): pages of a restarted
// server do not all knock at once, and none waits longer than the cap.
const JITTER_SHARE = 0.25;
// A connection that lived this long was healthy: the next retry starts from scratch.
const STABLE_AFTER_MS = 10000;
// Close codes of the server (callcenter/http/ws_hub.py).
const SESSION_ENDED = 4001;
const TOO_MANY_PAGES = 4029;

const handlers = new Map(); // type -> Set<fn>
const stateListeners = new Set();
const statusListeners = new Set();
// AMI states in which the PBX is configured but cannot place a call. "disabled"
// (no PBX configured at all) is not among them: the Call click explains that one.
const PBX_DOWN = new Set(["down", "connecting", "auth_failed"]);

let socket = null;
let wanted = false;
let retryTimer = null;
let attempt = 0;
let openedAt = 0;
let state = "off"; // off | connecting | open | retrying
let watchingAll = false;
let lastAmi = null;
let me = null;

/** Open the link for the signed-in user (idempotent). */
export function connectLive(user) {
  me = user;
  wanted = true;
  if (!socket && !retryTimer) open();
}

/** Close the link for good (logout). */
export function disconnectLive() {
  wanted = false;
  watchingAll = false;
  clearTimeout(retryTimer);
  retryTimer = null;
  attempt = 0;
  if (socket) {
    const closing = socket;
    socket = null;
    closing.close(1000, "logout");
  }
  setState("off");
}

/** handler(message) for every message of `type` ("*" = all); returns an unsubscribe function. */
export function onLive(type, handler) {
  if (!handlers.has(type)) handlers.set(type, new Set());
  handlers.get(type).add(handler);
  return () => handlers.get(type).delete(handler);
}

/** handler(state) whenever the link goes off / connecting / open / retrying. */
export function onLiveState(handler) {
  stateListeners.add(handler);
  return () => stateListeners.delete(handler);
}

export function liveState() {
  return state;
}

/** The AMI status last pushed by the server ({status, last_error, ...}) or null. */
export function lastAmiStatus() {
  return lastAmi;
}

/**
 * The link as the operator should hear about it: {live, ami, offline, pbxDown}.
 * offline: the live link was up and is now retrying (cards will not pop);
 * pbxDown: the server says its PBX link is down (calls cannot be placed).
 */
export function linkStatus() {
  const ami = lastAmi ? lastAmi.status || lastAmi.state || "unknown" : "unknown";
  return { live: state, ami, offline: state === "retrying", pbxDown: state === "open" && PBX_DOWN.has(ami) };
}

/** True for an AMI status in which the PBX is configured but out of reach. */
export function isPbxDown(amiStatus) {
  return PBX_DOWN.has(amiStatus);
}

/** handler(linkStatus()) whenever the live link's state or the AMI status changes. */
export function onLinkStatus(handler) {
  statusListeners.add(handler);
  return () => statusListeners.delete(handler);
}

/** The signed-in user as the server greeted this connection. */
export function liveUser() {
  return me;
}

/**
 * Ask for every call in the building (supervisors). The server has no
 * unsubscribe: the wish lasts for this tab and is repeated after a reconnect.
 */
export function watchAllCalls() {
  watchingAll = true;
  send({ type: "subscribe", topic: "calls" });
}

/** True when this tab asked for every call, so call.ringing may be about other people's phones. */
export function isWatchingAll() {
  return watchingAll;
}

function send(message) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
}

function setState(next) {
  if (state === next) return;
  state = next;
  // <html data-live="open">: styles and browser tests can see the link's state.
  document.documentElement.dataset.live = next;
  stateListeners.forEach((listener) => listener(next));
  statusChanged();
}

function statusChanged() {
  const status = linkStatus();
  // <html data-ami="down">: the PBX as the server last told this page.
  document.documentElement.dataset.ami = status.ami;
  statusListeners.forEach((listener) => listener(status));
}

function open() {
  retryTimer = null;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  let ws;
  try {
    ws = new WebSocket(`${scheme}//${location.host}/ws`);
  } catch {
    scheduleRetry(false);
    return;
  }
  socket = ws;
  let greeted = false;
  setState(attempt === 0 ? "connecting" : "retrying");

  ws.addEventListener("open", () => {
    if (socket !== ws) return;
    openedAt = Date.now();
    if (watchingAll) send({ type: "subscribe", topic: "calls" });
  });
  ws.addEventListener("message", (event) => {
    if (socket !== ws) return;
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!message || typeof message.type !== "string") return;
    if (message.ami && (message.type === "hello" || message.type === "ami.status")) lastAmi = message.ami;
    if (message.type === "hello") {
      greeted = true;
      me = { ...(me || {}), ...(message.user || {}) };
      setState("open");
    }
    if (message.type === "ami.status") statusChanged();
    dispatch(message);
  });
  ws.addEventListener("close", (event) => {
    if (socket !== ws) return;
    socket = null;
    if (event.code === SESSION_ENDED && wanted) {
      // Logged out elsewhere, password changed, deactivated or given another role: reload,
      // which shows the login screen or the app of the new role.
      location.reload();
      return;
    }
    // Too many pages open for this user: wait the longest before trying again.
    if (event.code === TOO_MANY_PAGES) attempt = Math.max(attempt, 5);
    const healthy = greeted && Date.now() - openedAt >= STABLE_AFTER_MS;
    if (healthy) attempt = 0;
    if (wanted) scheduleRetry(!greeted);
    else setState("off");
  });
}

function dispatch(message) {
  for (const key of [message.type, "*"]) {
    const set = handlers.get(key);
    if (!set) continue;
    for (const handler of [...set]) {
      try {
        handler(message);
      } catch (err) {
        // One broken view must not stop the others from hearing about calls.
        setTimeout(() => { throw err; });
      }
    }
  }
}

function scheduleRetry(neverGreeted) {
  setState("retrying");
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(attempt, 8));
  attempt += 1;
  const delay = base * (1 - JITTER_SHARE * Math.random());
  retryTimer = setTimeout(open, delay);
  if (neverGreeted) {
    // The handshake failed: if the session expired, the 401 here brings up
    // the login screen (which disconnects) instead of retrying forever.
    api("GET", "/me").catch(() => {});
  }
}
