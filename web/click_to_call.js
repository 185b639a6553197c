// Click-to-call: every button with data-action="call" (data-phone, optional
// data-client-id, data-task-id, data-dnc) asks the server to ring the
// operator's softphone and then dial the number (POST /api/calls/originate).
// A failed originate arrives later over the live link and is shown at once.
// While the PBX is down or the live link is offline every such button is
// disabled, the reason in its tooltip (the top bar says it in words too),
// and enabled again when both are back.

import { api } from "./api.js";
import { t } from "./i18n.js";
import { formatNumber } from "./format.js";
import { isWatchingAll, linkStatus, liveUser, onLinkStatus, onLive } from "./live.js";
import { toast, translatedOr } from "./ui.js";

// A second click right after the first would place a second call.
const REARM_MS = 2000;

// How long after a click the operator's own phone ringing is taken to be that call.
const ORIGINATE_MEMORY_MS = 60000;

const CALL_BUTTONS = "[data-action=call]";

let installed = false;
let lastOriginate = null; // {number, clientId, at}
let blockedBy = null; // i18n key of why calls cannot be placed now, or null

/** Install the document-wide handler and the originate-failure toast (once). */
export function installClickToCall() {
  if (installed) return;
  installed = true;
  document.addEventListener("click", onClick);
  onLive("call.originate_failed", onOriginateFailed);
  onLinkStatus(followLink);
  // Views draw their Call buttons whenever they like: new ones are blocked as they appear.
  new MutationObserver(onAdded).observe(document.body, { childList: true, subtree: true });
  followLink(linkStatus());
}

/** Why Call buttons are disabled now (an i18n key), or null when calls can be placed. */
export function callsBlockedReason() {
  return blockedBy;
}

function reasonFor(status) {
  if (status.offline) return "screen.call_blocked_offline";
  if (status.pbxDown) return "screen.call_blocked_pbx";
  return null;
}

function followLink(status) {
  const reason = reasonFor(status);
  if (reason === blockedBy) return;
  blockedBy = reason;
  document.documentElement.dataset.calls = reason ? "blocked" : "ok";
  document.querySelectorAll(CALL_BUTTONS).forEach(paintButton);
}

function onAdded(records) {
  if (!blockedBy) return;
  for (const record of records) {
    for (const node of record.addedNodes) {
      if (!(node instanceof Element)) continue;
      if (node.matches(CALL_BUTTONS)) paintButton(node);
      node.querySelectorAll(CALL_BUTTONS).forEach(paintButton);
    }
  }
}

/** Block or free one Call button; its own tooltip is kept aside while blocked. */
function paintButton(button) {
  if (blockedBy) {
    if (button.dataset.callBlocked !== "1") {
      button.dataset.callBlocked = "1";
      button.dataset.callTitle = button.getAttribute("title") || "";
    }
    button.disabled = true;
    button.title = t(blockedBy);
    button.setAttribute("aria-disabled", "true");
  } else if (button.dataset.callBlocked === "1") {
    delete button.dataset.callBlocked;
    if (button.dataset.callTitle) button.title = button.dataset.callTitle;
    else button.removeAttribute("title");
    delete button.dataset.callTitle;
    button.removeAttribute("aria-disabled");
    if (button.dataset.rearming !== "1") button.disabled = false;
  }
}

async function onClick(event) {
  const button = event.target instanceof Element && event.target.closest("[data-action=call]");
  if (!button || button.disabled || blockedBy) return;
  event.preventDefault();
  const number = button.dataset.phone;
  if (!number) return;
  if (button.dataset.dnc === "1" && !window.confirm(t("call.dnc_confirm"))) return;
  const body = { number };
  if (button.dataset.clientId) body.client_id = Number(button.dataset.clientId);
  if (button.dataset.taskId) body.task_id = Number(button.dataset.taskId);
  button.disabled = true;
  button.dataset.rearming = "1";
  try {
    const result = await api("POST", "/calls/originate", { body });
    lastOriginate = { number: result.number || number, clientId: body.client_id || null, at: Date.now() };
    toast(t("call.calling", { number: formatNumber(result.number || number) }), "info");
  } catch (err) {
    if (err.status !== 401) toast(originateError(err), "error");
  } finally {
    setTimeout(() => {
      delete button.dataset.rearming;
      button.disabled = button.dataset.callBlocked === "1";
    }, REARM_MS);
  }
}

/**
 * The call this tab just asked for ({number, clientId}), once: the PBX rings
 * the operator's phone first and only then learns whom it is dialling.
 */
export function takeRecentOriginate() {
  const recent = lastOriginate;
  lastOriginate = null;
  return recent && Date.now() - recent.at < ORIGINATE_MEMORY_MS ? recent : null;
}

function originateError(err) {
  if (err.status === 503) {
    return err.serverMessage ? `${t("call.pbx_unavailable")} (${err.serverMessage})` : t("call.pbx_unavailable");
  }
  if (err.status === 422 && err.fields.extension) return t("call.no_extension");
  if (err.status === 422 && err.fields.number) return t("call.bad_number");
  return err.message;
}

function onOriginateFailed(message) {
  // Supervisors who watch every call hear about other people's failures too.
  const me = liveUser();
  if (isWatchingAll() && me && message.endpoint && message.endpoint !== me.extension) return;
  toast(t("call.originate_failed", {
    reason: translatedOr("call.originate_reason." + message.reason, message.reason || ""),
  }), "error");
}
