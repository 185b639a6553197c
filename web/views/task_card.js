// A task on the client card (#/clients/12?task=34, opened by Next task or
// from the tasks list): what is owed and when — in the client's time and the
// operator's —, attempts so far, a Call button ready to press, the outcome
// buttons, Skip (give the lease back) and, with auto-dial, the preview
// countdown before the call is placed.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { formatNumber } from "../format.js";
import { onLive } from "../live.js";
import { errorBanner, toast, translatedOr } from "../ui.js";
import { callButton } from "./call_parts.js";
import { bothTimes, outcomeButtons, resultText } from "./outcome_buttons.js";

export const TASK_STATUSES = ["open", "done", "archived"];
export const TASK_KINDS = ["callback", "missed_call", "redial", "order_confirmation", "order_followup", "reminder"];

export function kindLabel(kind) {
  return translatedOr("tasks.kind." + kind, kind || "");
}

export function statusChip(task) {
  const cls = task.status === "open" ? "chip-tag" : task.status === "done" ? "chip-ok" : "chip-muted";
  return h("span", { class: ["chip", cls], testid: "task-status", dataset: { status: task.status } },
    translatedOr("tasks.status." + task.status, task.status));
}

/** The task id in the hash's query: #/clients/12?task=34 → 34. */
export function taskIdFromHash() {
  const query = location.hash.split("?")[1] || "";
  const id = Number(new URLSearchParams(query).get("task"));
  return Number.isInteger(id) && id > 0 ? id : null;
}

/**
 * taskCard({taskId, client, ctx, claimed, autodial}) → {el, destroy()}.
 * claimed: the task as POST /api/tasks/next answered it (saves a request);
 * autodial: {seconds, onCancel} to dial after a visible countdown.
 */
export function taskCard({ taskId, client, ctx, claimed = null, autodial = null }) {
  const el = h("section", { class: "task-card panel panel-attention", testid: "task-card", dataset: { id: taskId } });
  let task = claimed;
  let outcomes = null;
  let lastResult = null;
  let countdown = null;
  let destroyed = false;

  async function load() {
    try {
      task = await api("GET", `/tasks/${taskId}`);
      if (!destroyed) paint();
    } catch (err) {
      if (destroyed || err.status === 401) return;
      mount(el, errorBanner(err.status === 404 ? t("tasks.not_found") : err.message, "task-error"));
    }
  }

  function paint() {
    if (outcomes) outcomes.destroy();
    outcomes = null;
    el.dataset.status = task.status;
    const dnc = !!(task.do_not_call || (client && client.do_not_call));
    const phone = task.phone || (client && client.phones && client.phones[0] && (client.phones[0].e164 || client.phones[0].number));
    const open = task.status === "open";
    if (open) {
      outcomes = outcomeButtons({
        taskId: task.id, clientId: task.client_id, task, testid: "task-outcomes",
        onSaved: ({ task: after, text }) => {
          lastResult = text;
          if (after) task = after;
          toast(text, "success");
          paint();
          if (ctx && ctx.onTaskOutcome) ctx.onTaskOutcome(task);
        },
      });
    }
    const due = task.ready_at && task.ready_at !== task.due_at ? task.ready_at : task.due_at;
    mount(el,
      h("header", { class: "panel-head" },
        h("h2", null, t("tasks.card_title"), " · ", kindLabel(task.kind)),
        h("div", { class: "panel-tools" }, statusChip(task)),
      ),
      h("div", { class: "panel-body task-card-body" },
        task.title && h("div", { class: "task-card-title", testid: "task-title" }, task.title),
        h("dl", { class: "props task-props" },
          h("dt", null, open ? t("tasks.due") : t("tasks.was_due")),
          h("dd", { testid: "task-due" }, bothTimes(due, task)),
          h("dt", null, t("tasks.attempts_label")),
          h("dd", { testid: "task-attempts" }, String(task.attempts ?? 0)),
          h("dt", null, t("tasks.owner")),
          h("dd", { testid: "task-owner" }, task.assigned_to ? (task.assigned_to_name || "#" + task.assigned_to) : t("tasks.owner_anyone")),
          task.note && [h("dt", null, t("tasks.note")), h("dd", null, task.note)],
          task.result && [h("dt", null, t("tasks.result")), h("dd", { testid: "task-result" }, translatedOr("outcomes.code." + task.result, task.result))],
        ),
        lastResult && h("div", { class: "outcome-result", testid: "task-next-attempt", role: "status" }, lastResult),
        open && h("div", { class: "task-card-actions" },
          dnc
            ? h("div", { class: "dnc-reason", testid: "task-dnc" }, callButton({ phone, clientId: task.client_id, dnc: true, testid: "task-call" }),
              h("span", { class: "chip chip-danger" }, "⛔ ", t("client.dnc_hint")))
            : callButton({ phone, clientId: task.client_id, taskId: task.id, testid: "task-call" }),
          phone && h("span", { class: "phone muted" }, formatNumber(phone)),
          h("button", { type: "button", class: "btn btn-sm btn-ghost", testid: "task-release", title: t("tasks.release_hint"), onclick: release }, t("tasks.release")),
        ),
        open && !dnc && autodial && autodialPreview(),
        outcomes && outcomes.el,
      ),
    );
  }

  function autodialPreview() {
    const seconds = Math.max(0, Math.round(autodial.seconds));
    let left = seconds;
    const label = h("span", { testid: "autodial-countdown" }, t("tasks.autodial_in", { seconds: left }));
    const cancel = h("button", { type: "button", class: "btn btn-sm", testid: "autodial-cancel", onclick: () => stopCountdown(true) }, t("action.cancel"));
    const box = h("div", { class: "autodial banner banner-warn", role: "status", "aria-live": "polite", testid: "autodial" }, "☎ ", label, " ", cancel);
    stopCountdown(false);
    countdown = setInterval(() => {
      left -= 1;
      if (left > 0) {
        label.textContent = t("tasks.autodial_in", { seconds: left });
        return;
      }
      stopCountdown(false);
      box.remove();
      autodial = null;
      const button = el.querySelector("[data-testid=task-call][data-action=call]");
      if (button && !button.disabled) button.click();
    }, 1000);
    return box;
  }

  function stopCountdown(byOperator) {
    clearInterval(countdown);
    countdown = null;
    if (byOperator) {
      if (autodial && autodial.onCancel) autodial.onCancel();
      autodial = null;
      const box = el.querySelector("[data-testid=autodial]");
      if (box) box.remove();
      toast(t("tasks.autodial_cancelled"), "info");
    }
  }

  async function release() {
    stopCountdown(false);
    try {
      task = await api("POST", `/tasks/${task.id}/release`);
      toast(t("tasks.released"), "info");
      if (!destroyed) paint();
    } catch (err) {
      if (err.status !== 401) toast(err.message, "error");
    }
  }

  // The PBX said how the task's call ended: that outcome is preselected here.
  const offs = [
    onLive("call.ended", (message) => {
      const call = message.call || {};
      if (!task || call.task_id !== task.id || !outcomes) return;
      stopCountdown(false);
      if (call.outcome && call.outcome !== "answered") outcomes.setPreselect(call.outcome);
    }),
  ];
  const onUpdated = (event) => {
    const after = event.detail && event.detail.task;
    if (!after || !task || after.id !== task.id || destroyed) return;
    if (outcomes && outcomes.saved) return; // painted by its own onSaved
    task = after;
    lastResult = resultText(after, null);
    paint();
  };
  window.addEventListener("callcenter:task-updated", onUpdated);

  if (task) {
    paint();
    // Claimed by Next task: the Call button is ready to press (Enter), unless auto-dial does it.
    if (!autodial) setTimeout(() => { const call = el.querySelector("[data-testid=task-call]:not([disabled])"); if (call && el.isConnected) call.focus(); }, 0);
  } else {
    mount(el, h("div", { class: "panel-body muted" }, t("common.loading")));
    load();
  }
  return {
    el,
    /** The autodial countdown's cancel (the Esc key of the next-task control). */
    cancelAutodial: () => { if (countdown) stopCountdown(true); },
    destroy() {
      destroyed = true;
      stopCountdown(false);
      if (outcomes) outcomes.destroy();
      offs.forEach((off) => off());
      window.removeEventListener("callcenter:task-updated", onUpdated);
    },
  };
}
