// Admin: the people who use the system — list, add, edit, (de)activate.

import { api } from "../api.js";
import { h, mount } from "../dom.js";
import { t } from "../i18n.js";
import {
  clearFieldErrors, errorBanner, field, loading, openDialog, panel, showFieldErrors, submitOnCtrlEnter, toast, translatedOr,
} from "../ui.js";

const ROLES = ["operator", "supervisor", "admin"];

export function renderUsers(ctx) {
  const body = h("div", null, loading());
  let destroyed = false;

  async function load() {
    try {
      const data = await api("GET", "/users");
      if (!destroyed) mount(body, table(data.items || []));
    } catch (err) {
      if (destroyed || err.status === 401) return;
      mount(body, errorBanner(err.status === 403 ? t("error.forbidden") : err.message, "page-error"));
    }
  }

  function table(users) {
    return h("table", { class: "table table-users", testid: "users-table" },
      h("thead", null, h("tr", null,
        h("th", null, t("user.login")), h("th", null, t("user.name")), h("th", null, t("user.role")),
        h("th", null, t("user.extension")), h("th", null, t("user.status")), h("th", { class: "col-actions" }),
      )),
      h("tbody", null, users.map((user) => h("tr", { testid: "user-row", class: user.active === false ? "inactive" : null, dataset: { login: user.login } },
        h("td", { class: "mono" }, user.login),
        h("td", null, user.name),
        h("td", null, translatedOr("role." + user.role, user.role)),
        h("td", { class: "mono" }, user.extension || "—"),
        h("td", null, user.active === false
          ? h("span", { class: "chip chip-muted" }, t("user.inactive"))
          : h("span", { class: "chip chip-ok" }, t("user.active"))),
        h("td", { class: "col-actions nowrap" },
          h("button", { type: "button", class: "btn btn-sm btn-ghost", testid: "edit-user", onclick: () => userDialog(user) }, t("action.edit")),
          user.id !== ctx.user.id && h("button", {
            type: "button", class: "btn btn-sm btn-ghost", testid: user.active === false ? "activate-user" : "deactivate-user",
            onclick: () => setActive(user, user.active === false),
          }, user.active === false ? t("user.activate") : t("user.deactivate")),
        ),
      ))),
    );
  }

  async function setActive(user, active) {
    try {
      await api("PATCH", `/users/${user.id}`, { body: { active } });
      toast(active ? t("user.activated", { name: user.name }) : t("user.deactivated", { name: user.name }), "success");
      load();
    } catch (err) {
      if (err.status !== 401) toast(err.message, "error");
    }
  }

  function userDialog(user = null) {
    const loginInput = h("input", { type: "text", value: user ? user.login : "", autocomplete: "off", disabled: !!user });
    const nameInput = h("input", { type: "text", value: user ? user.name : "", autocomplete: "off" });
    const roleSelect = h("select", null, ROLES.map((role) => h("option", { value: role, selected: (user ? user.role : "operator") === role }, t("role." + role))));
    const extensionInput = h("input", { type: "text", value: user ? user.extension || "" : "", autocomplete: "off", placeholder: "PJSIP/101" });
    const passwordInput = h("input", { type: "password", autocomplete: "new-password" });
    const autodialInput = h("input", { type: "checkbox", name: "autodial", id: "f-user-autodial", checked: !!(user && user.autodial), testid: "field-autodial" });
    const errorSlot = h("div");
    const save = h("button", { type: "submit", class: "btn btn-primary", testid: "save-user", title: "Ctrl+Enter" }, t("action.save"));

    const form = submitOnCtrlEnter(h("form", { class: "form", testid: "user-form", novalidate: true, onsubmit: onSubmit },
      errorSlot,
      field({ label: t("user.login"), name: "login", control: loginInput, required: !user }),
      field({ label: t("user.name"), name: "name", control: nameInput, required: true }),
      h("div", { class: "field-row" },
        field({ label: t("user.role"), name: "role", control: roleSelect, className: "grow" }),
        field({ label: t("user.extension"), name: "extension", control: extensionInput, className: "grow", hint: t("user.extension_hint") }),
      ),
      field({ label: user ? t("user.new_password") : t("user.password"), name: "password", control: passwordInput, required: !user, hint: user ? t("user.password_keep") : null }),
      h("div", { class: "field field-check", dataset: { field: "autodial" } },
        autodialInput, h("label", { htmlFor: "f-user-autodial" }, t("tasks.autodial")),
        h("div", { class: "hint" }, t("tasks.autodial_hint")),
      ),
      h("footer", { class: "form-foot" },
        save,
        h("button", { type: "button", class: "btn btn-ghost", onclick: () => dialog.close() }, t("action.cancel")),
      ),
    ));
    const dialog = openDialog({ title: user ? t("user.edit_title", { login: user.login }) : t("user.add"), body: form, testid: "user-dialog" });

    async function onSubmit(event) {
      event.preventDefault();
      clearFieldErrors(form);
      mount(errorSlot);
      const payload = {
        name: nameInput.value.trim(),
        role: roleSelect.value,
        extension: extensionInput.value.trim() || null,
        autodial: autodialInput.checked,
      };
      if (passwordInput.value) payload.password = passwordInput.value;
      if (!user) payload.login = loginInput.value.trim();
      const missing = {};
      if (!user && !payload.login) missing.login = t("form.required");
      if (!payload.name) missing.name = t("form.required");
      if (!user && !payload.password) missing.password = t("form.required");
      if (Object.keys(missing).length) {
        showFieldErrors(form, missing);
        return;
      }
      save.disabled = true;
      try {
        if (user) await api("PATCH", `/users/${user.id}`, { body: payload });
        else await api("POST", "/users", { body: payload });
        dialog.close();
        toast(t("user.saved"), "success");
        load();
      } catch (err) {
        if (err.status === 401) return;
        const orphans = showFieldErrors(form, err.fields);
        if (!Object.keys(err.fields).length || orphans.length) mount(errorSlot, errorBanner([err.message, ...orphans].join(" · ")));
      } finally {
        save.disabled = false;
      }
    }
  }

  load();
  return {
    title: t("nav.users"),
    el: h("div", { class: "page" },
      h("div", { class: "page-head" },
        h("h1", { class: "page-title" }, t("nav.users")),
        h("button", { type: "button", class: "btn btn-primary", testid: "add-user", onclick: () => userDialog() }, "+ ", t("user.add")),
      ),
      panel({ title: t("user.list"), flush: true }, body),
    ),
    destroy() { destroyed = true; },
  };
}
