// Next task: the top-bar button (and the keys F2 / N outside text fields)
// that claims the most urgent due task (POST /api/tasks/next) and opens the
// client's card with the task and a ready Call button; 204 → "no tasks now".
// Auto-dial (power dialling, per operator): while the operator is ready, the
// next task is taken by itself and dialled after a visible preview countdown
// (CALLCENTER_AUTODIAL_PREVIEW_SECONDS) that Cancel or Esc stops.

import { api } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { onLive } from "../live.js";
import { navigate } from "../router.js";
import { toast } from "../ui.js";

const DEFAULT_PREVIEW_SECONDS = 5;
// After an outcome the PBX and the agent state settle before the next automatic claim.
const AUTODIAL_SETTLE_MS = 800;

let handoff = null; // {task, client, autodial} of the claim just made, for the card it opens
const agent = { state: null, autodial: false, previewSeconds: DEFAULT_PREVIEW_SECONDS, userId: null };

/** The claim the card for `taskId` was opened for (once), or null. */
export function takeHandoff(taskId) {
  const claimed = handoff && handoff.task && handoff.task.id === taskId ? handoff : null;
  handoff = null;
  return claimed;
}

/** True while this operator has auto-dial on and is ready. */
export function autodialActive() {
  return !!agent.autodial && agent.state === "ready";
}

function isTypingTarget(target) {
  return target instanceof HTMLElement
    && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

/** createNextTask({user}) → {el, take(), destroy()}: the top-bar control. */
export function createNextTask({ user }) {
  let busy = false;
  let destroyed = false;
  let settleTimer = null;
  agent.userId = user.id;

  const button = h("button", {
    type: "button", class: "btn btn-primary btn-sm next-task-btn", testid: "next-task",
    title: t("tasks.next_hint"), "aria-keyshortcuts": "F2 N", onclick: () => take(),
    "aria-label": t("tasks.next"),
  }, "▶ ", h("span", { class: "next-task-label" }, t("tasks.next")), h("span", { class: "next-task-short" }, t("tasks.next_short")),
  h("kbd", { class: "next-task-key" }, "F2"));
  const el = h("div", { class: "next-task", testid: "next-task-box" }, button);

  async function take({ auto = false } = {}) {
    if (busy) return;
    busy = true;
    button.disabled = true;
    try {
      const data = await api("POST", "/tasks/next");
      if (destroyed) return;
      if (!data || !data.task) {
        if (!auto) toast(t("tasks.nothing_now"), "info");
        el.dataset.empty = "1";
        return;
      }
      delete el.dataset.empty;
      const client = data.client || {};
      handoff = {
        task: data.task, client,
        autodial: autodialActive() ? { seconds: agent.previewSeconds } : null,
      };
      const clientId = data.task.client_id || client.id;
      if (clientId) navigate(`#/clients/${clientId}?task=${data.task.id}`);
      else navigate(`#/tasks?task=${data.task.id}`);
    } catch (err) {
      if (err.status !== 401) toast(err.message, "error");
    } finally {
      busy = false;
      button.disabled = false;
    }
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (event.key === "Escape") {
      const cancel = document.querySelector("[data-testid=autodial-cancel]");
      if (cancel && !document.querySelector("dialog[open]")) {
        event.preventDefault();
        cancel.click();
      }
      return;
    }
    const isNext = event.key === "F2"
      || (["n", "N", "т", "Т"].includes(event.key) && !isTypingTarget(event.target));
    if (!isNext || document.querySelector("dialog[open]")) return;
    event.preventDefault();
    take();
  }
  document.addEventListener("keydown", onKey);

  function adopt(item, extra = {}) {
    if (!item) return;
    const wasReady = autodialActive();
    agent.state = item.state;
    agent.autodial = !!item.autodial;
    const preview = extra.autodial_preview_seconds ?? item.autodial_preview_seconds;
    if (Number.isFinite(Number(preview)) && preview !== null) agent.previewSeconds = Number(preview);
    el.dataset.autodial = agent.autodial ? "on" : "off";
    // Power dialling: becoming ready (after the outcome ends wrap-up, or by choice) takes the next task.
    const onCall = document.querySelector("[data-testid=call-card][data-state=ringing], [data-testid=call-card][data-state=answered]");
    if (!wasReady && autodialActive() && !onCall) {
      clearTimeout(settleTimer);
      settleTimer = setTimeout(() => { if (autodialActive()) take({ auto: true }); }, AUTODIAL_SETTLE_MS);
    }
  }

  async function loadAgent() {
    try {
      const data = await api("GET", "/agents");
      const mine = (data.items || []).find((item) => item.user_id === user.id);
      if (!destroyed) adopt(mine, data);
    } catch {
      // No agent states on this server: Next task works, auto-dial stays off.
    }
  }

  // Power dialling: once the outcome is saved the next task comes by itself.
  function outcomeSaved() {
    if (!autodialActive()) return;
    clearTimeout(settleTimer);
    settleTimer = setTimeout(() => { if (autodialActive()) take({ auto: true }); }, AUTODIAL_SETTLE_MS);
  }
  window.addEventListener("callcenter:outcome-saved", outcomeSaved);

  const offs = [
    () => window.removeEventListener("callcenter:outcome-saved", outcomeSaved),
    onLive("agent.state", (message) => {
      const item = message.agent;
      if (item && item.user_id === user.id) adopt(item);
    }),
    onLive("hello", () => loadAgent()),
  ];
  loadAgent();

  return {
    el,
    take,
    destroy() {
      destroyed = true;
      clearTimeout(settleTimer);
      document.removeEventListener("keydown", onKey);
      offs.forEach((off) => off());
    },
  };
}
