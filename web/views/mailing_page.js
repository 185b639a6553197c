// One mailing (#/mailings/<id>): compose a draft (channel, subject, body with
// placeholders), its preview for the first recipient, a test send to oneself,
// start (confirmed with the recipient count), cancel, and the report, which
// refreshes while the mailing is sending.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import { errorBanner, field, loading, panel, showFieldErrors, toast } from "../ui.js";
import { mailingStatus } from "./mailings.js";

const PLACEHOLDERS = ["client_name", "first_name", "city", "shop_name", "unsubscribe_url"];
const FIGURES = ["total", "queued", "sent", "delivered", "failed", "skipped", "unsubscribed"];

export function renderMailing(id, ctx) {
  let destroyed = false;
  let timer = null;
  const body = h("div", null, loading());
  const el = h("div", { class: "page page-mailing", testid: "mailing-page" },
    h("div", { class: "page-head" },
      h("a", { href: "#/mailings", class: "back-link" }, "← ", t("nav.mailings"))),
    body);
  if (!ctx.hasRole("supervisor")) {
    mount(el, errorBanner(t("error.code.forbidden"), "page-error"));
    return { el, title: t("nav.mailings") };
  }

  async function load() {
    clearTimeout(timer);
    try {
      const mailing = await api("GET", "/mailings/" + id);
      if (destroyed) return;
      const report = mailing.status === "draft" ? null : await api("GET", `/mailings/${id}/report`);
      if (destroyed) return;
      mount(body, view(mailing, report));
      if (mailing.status === "sending") timer = setTimeout(load, 3000);
    } catch (err) {
      if (!destroyed && err.status !== 401) mount(body, errorBanner(err.message, "page-error"));
    }
  }

  function view(mailing, report) {
    const draft = mailing.status === "draft";
    return h("div", { class: "mailing-layout" },
      h("h1", { class: "page-title" }, mailing.name, " ", mailingStatus(mailing.status)),
      draft ? compose(mailing) : null,
      panel({ title: t("mailings.preview"), testid: "mailing-preview" },
        h("p", null, t("mailings.recipients"), ": ",
          h("strong", { testid: "preview-count" }, String(mailing.preview.count))),
        mailing.preview.to && h("p", { class: "muted" }, t("mailings.preview_to"), " ", mailing.preview.to),
        mailing.channel === "email" && h("p", { class: "preview-subject", testid: "preview-subject" }, mailing.preview.subject),
        h("pre", { class: "preview-body", testid: "preview-body" }, mailing.preview.body)),
      testSend(mailing),
      draft || mailing.status === "sending" ? actions(mailing) : null,
      report ? reportPanel(report) : null);
  }

  function compose(mailing) {
    const inputs = {
      name: h("input", { type: "text", name: "name", value: mailing.name, maxlength: "200" }),
      channel: h("select", { name: "channel" }, ["email", "sms"].map((c) =>
        h("option", { value: c, selected: mailing.channel === c }, t("mailings.channel." + c)))),
      subject: h("input", { type: "text", name: "subject", value: mailing.subject || "", maxlength: "300" }),
      body: h("textarea", { name: "body", rows: "8", value: mailing.body }),
      rate_per_minute: h("input", { type: "number", name: "rate_per_minute", min: "1", value: String(mailing.rate_per_minute) }),
    };
    const form = h("form", { class: "mailing-form", testid: "mailing-form", novalidate: true },
      Object.entries(inputs).map(([name, control]) => field({ label: t("mailings.field." + name), name, control })),
      h("p", { class: "hint", testid: "placeholder-help" }, t("mailings.placeholders"), " ",
        PLACEHOLDERS.map((p) => h("code", null, "{" + p + "}", " "))),
      h("button", { type: "submit", class: "btn btn-primary", testid: "mailing-save" }, t("mailings.save")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api("PATCH", "/mailings/" + id, { body: {
          name: inputs.name.value, channel: inputs.channel.value, subject: inputs.subject.value,
          body: inputs.body.value, rate_per_minute: Number(inputs.rate_per_minute.value) || null,
        } });
        toast(t("mailings.saved"), "success");
        load();
      } catch (err) {
        if (err.details && err.details.fields) showFieldErrors(form, err.details.fields);
        else toast(err.message, "error");
      }
    });
    return panel({ title: t("mailings.compose"), testid: "mailing-compose" }, form);
  }

  function testSend(mailing) {
    const to = h("input", { type: "text", name: "to", testid: "test-to",
      placeholder: mailing.channel === "email" ? "me@example.com" : "+7…" });
    const form = h("form", { class: "inline-form", novalidate: true },
      field({ label: t("mailings.test_to"), name: "to", control: to }),
      h("button", { type: "submit", class: "btn", testid: "test-send" }, t("mailings.test_send")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await api("POST", `/mailings/${id}/test`, { body: { to: to.value } });
        toast(t("mailings.test_sent"), "success");
      } catch (err) {
        if (err.details && err.details.fields) showFieldErrors(form, err.details.fields);
        else toast(err.message, "error");
      }
    });
    return panel({ title: t("mailings.test"), testid: "mailing-test" }, form);
  }

  function actions(mailing) {
    const confirmBox = h("div", { class: "confirm", hidden: true, testid: "start-confirm" },
      h("p", null, t("mailings.start_confirm", { count: mailing.preview.count })),
      h("button", { type: "button", class: "btn btn-primary", testid: "start-yes", onclick: async (e) => {
        e.target.disabled = true;
        try {
          await api("POST", `/mailings/${id}/start`);
          toast(t("mailings.started"), "success");
        } catch (err) {
          toast(err.message, "error");
        }
        load();
      } }, t("mailings.start_yes")),
      h("button", { type: "button", class: "btn", onclick: () => { confirmBox.hidden = true; } }, t("mailings.start_no")));
    return h("div", { class: "mailing-actions" },
      mailing.status === "draft" && h("button", { type: "button", class: "btn btn-primary", testid: "mailing-start",
        onclick: () => { confirmBox.hidden = false; } }, t("mailings.start")),
      h("button", { type: "button", class: "btn btn-danger", testid: "mailing-cancel", onclick: async () => {
        try {
          await api("POST", `/mailings/${id}/cancel`);
        } catch (err) {
          toast(err.message, "error");
        }
        load();
      } }, t("mailings.cancel")),
      confirmBox);
  }

  function reportPanel(report) {
    return panel({ title: t("mailings.report"), testid: "mailing-report" },
      h("dl", { class: "mailing-figures" }, FIGURES.map((name) => [
        h("dt", null, t("mailings.figure." + name)),
        h("dd", { testid: "figure-" + name }, String(report.figures[name] ?? 0)),
      ])),
      h("p", { class: "muted" }, t("mailings.recipients"), ": ", report.recipients ?? "…"));
  }

  load();
  return { el, title: t("nav.mailings"), destroy() { destroyed = true; clearTimeout(timer); } };
}
