// Notes on the card: the client's standing note plus the running list of
// operator notes (activities of kind "note"), newest first, with a quick add box.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { formatDateTime } from "../format.js";
import { panel, submitOnCtrlEnter, toast } from "../ui.js";

export function renderNotes(client) {
  const activities = [...(client.activities || [])].sort((a, b) => String(b.created_at).localeCompare(String(a.created_at)));
  const list = h("ol", { class: "notes", testid: "notes-list" });
  const input = h("textarea", {
    class: "note-input", rows: "2", testid: "note-input", placeholder: t("notes.placeholder"),
    "aria-label": t("notes.add"),
  });
  const button = h("button", { type: "submit", class: "btn btn-sm btn-primary", testid: "add-note", title: "Ctrl+Enter" }, t("notes.add"));
  const error = h("div", { class: "field-error", hidden: true, role: "alert" });

  const form = submitOnCtrlEnter(h("form", { class: "note-form", onsubmit: onSubmit },
    input, error,
    h("div", { class: "note-form-foot" }, h("span", { class: "hint" }, t("notes.hint")), button),
  ));

  function paint() {
    mount(list,
      activities.length === 0 && h("li", { class: "muted empty-line" }, t("notes.empty")),
      activities.map((activity) => h("li", { class: "note", testid: "note-entry" },
        h("div", { class: "note-meta" },
          h("span", { class: "note-author" }, (activity.author && activity.author.name) || t("history.system")),
          h("time", { datetime: activity.created_at }, formatDateTime(activity.created_at)),
        ),
        h("div", { class: "note-text" }, activity.text),
      )),
    );
  }

  async function onSubmit(event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) {
      input.focus();
      return;
    }
    button.disabled = true;
    error.hidden = true;
    try {
      const activity = await api("POST", `/clients/${client.id}/notes`, { body: { text } });
      activities.unshift(activity);
      input.value = "";
      paint();
      toast(t("notes.added"), "success");
    } catch (err) {
      if (err.status === 401) return;
      error.textContent = (err.fields && err.fields.text) || err.message;
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  }

  paint();
  return panel({ title: t("notes.title"), testid: "client-notes" },
    client.notes && h("div", { class: "standing-note", testid: "client-standing-note" }, client.notes),
    form,
    list,
  );
}
