// The client card: who the client is, their local time right now, how to
// reach them, open callbacks, notes, orders from every shop, calls and the
// edit history.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { formatCalendarDate, formatDateTime, formatPhone, isValidTimeZone, localTimeIn } from "../format.js";
import { errorBanner, loading, panel, translatedOr } from "../ui.js";
import { renderNotes } from "./card_notes.js";
import { renderOrders } from "./card_orders.js";
import { renderHistory } from "./card_history.js";
import { renderCardMessages } from "./card_messages.js";
import { renderCardDocuments } from "./card_documents.js";
import { renderCalls, renderTasks } from "./card_calls.js";
import { callButton } from "./call_parts.js";
import { taskCard, taskIdFromHash } from "./task_card.js";
import { takeHandoff } from "./next_task.js";

export const CLOCK_TICK_MS = 30000;
// Hours of the client's day when a call is polite; outside them the clock is flagged.
const POLITE_HOURS = { from: 9, to: 21 };

export function renderClientCard(id, ctx) {
  const el = h("div", { class: "page page-card" }, loading());
  let destroyed = false;
  let clockTimer = null;
  const taskId = taskIdFromHash(); // opened for a task (Next task, the tasks list)
  let claimed = taskId ? takeHandoff(taskId) : null; // used by the first paint only
  let task = null;
  let tasksPanel = null;

  async function load() {
    try {
      const client = await api("GET", `/clients/${id}`);
      if (!destroyed) draw(client);
    } catch (err) {
      if (destroyed || err.status === 401) return;
      mount(el, errorBanner(err.status === 404 ? t("client.not_found") : err.message, "page-error"));
    }
  }

  function draw(client) {
    clearInterval(clockTimer);
    document.title = `${client.name} — ${t("app.title")}`;
    const clock = localClock(client);
    clockTimer = setInterval(clock.tick, CLOCK_TICK_MS);
    // one task card for the page's life: a reload of the client keeps its countdown and result
    if (!task && taskId) task = taskCard({ taskId, client, ctx, claimed: claimed && claimed.task, autodial: claimed && claimed.autodial });
    claimed = null;
    mount(el,
      h("article", { class: "card", testid: "client-card", dataset: { id: client.id } },
        header(client, clock.el),
        task && task.el,
        h("div", { class: "card-grid" },
          h("div", { class: "card-side" },
            contactsPanel(client),
            (tasksPanel = renderTasks(client)),
            renderNotes(client),
          ),
          h("div", { class: "card-main" },
            renderOrders(client, { reload: load }),
            renderCalls(client),
            renderCardMessages(client, { reload: load }),
            renderCardDocuments(client, { reload: load }),
            renderHistory(client),
          ),
        ),
      ),
    );
  }

  // An outcome saved for one of this client's tasks: the card's task list follows (only it:
  // a note being typed elsewhere on the card stays).
  const onTaskUpdated = async (event) => {
    const changed = event.detail && event.detail.task;
    if (!changed || String(changed.client_id) !== String(id) || destroyed || !tasksPanel) return;
    try {
      const fresh = await api("GET", `/clients/${id}`);
      if (destroyed || !tasksPanel.isConnected) return;
      const panel = renderTasks(fresh);
      tasksPanel.replaceWith(panel);
      tasksPanel = panel;
    } catch {
      // The list stays as it was; the next visit shows it fresh.
    }
  };
  window.addEventListener("callcenter:task-updated", onTaskUpdated);

  load();
  return {
    el,
    destroy() {
      destroyed = true;
      clearInterval(clockTimer);
      window.removeEventListener("callcenter:task-updated", onTaskUpdated);
      if (task) task.destroy();
    },
  };
}

function header(client, clockEl) {
  const sub = [client.company, [client.city, client.region].filter(Boolean).join(", ")].filter(Boolean);
  return h("header", { class: "card-head" },
    h("div", { class: "card-title" },
      h("h1", { testid: "client-name" }, client.name || t("client.unnamed")),
      sub.length > 0 && h("div", { class: "card-sub" }, sub.join(" · ")),
      h("div", { class: "card-badges" },
        client.do_not_call && h("span", { class: "chip chip-danger", testid: "dnc-badge", title: t("client.dnc_hint") }, "⛔ ", t("client.dnc")),
        (client.tags || []).map((tag) => h("span", { class: "chip chip-tag", testid: "client-tag" }, tag)),
      ),
    ),
    clockEl,
    h("div", { class: "card-actions" },
      h("a", { class: "btn", href: `#/clients/${client.id}/edit`, testid: "edit-client" }, "✎ ", t("action.edit")),
    ),
  );
}

/**
 * The client's wall clock, computed here from the IANA zone; the caller
 * calls tick() every CLOCK_TICK_MS (and stops when the clock goes away).
 */
export function localClock(client, { testid = "client-local-time" } = {}) {
  const time = h("div", { class: "clock-time" });
  const meta = h("div", { class: "clock-meta" });
  const flag = h("div", { class: "clock-flag" });
  const el = h("div", { class: "clock", testid, title: t("client.local_time") },
    h("div", { class: "clock-label" }, t("client.local_time")), time, meta, flag);

  const zone = client.timezone;
  const offsetMinutes = parseOffset(client.utc_offset);

  function tick() {
    const now = new Date();
    let parts;
    if (isValidTimeZone(zone)) {
      parts = localTimeIn(zone, now);
      meta.textContent = `${parts.weekday} · ${zone} · ${parts.offset}`;
    } else if (offsetMinutes !== null) {
      // No usable zone name: fall back to the fixed offset the server computed.
      parts = localTimeIn("UTC", new Date(now.getTime() + offsetMinutes * 60000));
      meta.textContent = `${parts.weekday} · UTC${client.utc_offset}`;
    } else {
      time.textContent = "—";
      meta.textContent = t("client.no_timezone");
      el.classList.add("clock-unknown");
      return;
    }
    time.textContent = parts.time;
    const polite = parts.hour >= POLITE_HOURS.from && parts.hour < POLITE_HOURS.to;
    el.classList.toggle("clock-off", !polite);
    el.dataset.polite = polite ? "yes" : "no";
    flag.textContent = polite ? "" : t("client.off_hours");
  }

  tick();
  return { el, tick };
}

function parseOffset(text) {
  const match = /^([+-])(\d{2}):?(\d{2})$/.exec(text || "");
  if (!match) return null;
  const minutes = Number(match[2]) * 60 + Number(match[3]);
  return match[1] === "-" ? -minutes : minutes;
}

function contactsPanel(client) {
  const phones = client.phones || [];
  const emails = client.emails || [];
  return panel({ title: t("client.contacts"), testid: "client-contacts" },
    h("ul", { class: "contact-list", testid: "client-phones" },
      phones.length === 0 && h("li", { class: "muted" }, t("client.no_phones")),
      phones.map((phone) => h("li", { class: "contact", testid: "client-phone" },
        h("a", { class: "contact-value phone", href: "tel:" + (phone.e164 || phone.number) }, formatPhone(phone)),
        phone.extension && h("span", { class: "contact-ext" }, t("client.phone_ext", { ext: phone.extension })),
        phone.label && h("span", { class: "contact-label" }, translatedOr("phone_label." + phone.label, phone.label)),
        callButton({ phone: phone.e164 || phone.number, clientId: client.id, dnc: client.do_not_call }),
      )),
    ),
    h("ul", { class: "contact-list", testid: "client-emails" },
      emails.map((email) => h("li", { class: "contact" },
        h("a", { class: "contact-value", href: "mailto:" + email.email }, email.email),
        email.label && h("span", { class: "contact-label" }, translatedOr("email_label." + email.label, email.label)),
      )),
    ),
    h("dl", { class: "props" },
      prop(t("field.city"), client.city),
      prop(t("field.region"), client.region),
      prop(t("field.timezone"), client.timezone),
      prop(t("field.birthday"), formatCalendarDate(client.birthday)),
      prop(t("field.assigned_operator"), client.assigned_operator && client.assigned_operator.name, "client-operator"),
      prop(t("client.created"), formatDateTime(client.created_at)),
      prop(t("client.updated"), formatDateTime(client.updated_at)),
    ),
  );
}

function prop(label, value, testid) {
  if (!value) return null;
  return [h("dt", null, label), h("dd", { testid }, value)];
}
