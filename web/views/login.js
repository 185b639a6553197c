// Login screen: login + password; shows the server's own message (wrong
// password, lockout with its retry time, network trouble).

import { api } from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { languageSwitch } from "./topbar.js";

/** Returns the login page element; calls onLoggedIn({user, csrf_token}). */
export function renderLogin({ message, onLoggedIn }) {
  const loginInput = h("input", {
    id: "login", name: "login", type: "text", autocomplete: "username", autocapitalize: "off",
    spellcheck: "false", required: true, testid: "login-input",
  });
  const passwordInput = h("input", {
    id: "password", name: "password", type: "password", autocomplete: "current-password",
    required: true, testid: "password-input",
  });
  const errorBox = h("div", { class: "banner banner-error", role: "alert", testid: "login-error", hidden: !message }, message || "");
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block", testid: "login-submit" }, t("login.submit"));

  const form = h("form", { class: "login-form", testid: "login-form", novalidate: true, onsubmit: onSubmit },
    h("div", { class: "login-brand" },
      h("span", { class: "brand-mark", "aria-hidden": "true" }, "☎"),
      h("div", null, h("div", { class: "brand-name" }, t("app.name")), h("div", { class: "brand-sub" }, t("login.subtitle"))),
    ),
    errorBox,
    h("div", { class: "field" }, h("label", { htmlFor: "login" }, t("login.login")), loginInput),
    h("div", { class: "field" }, h("label", { htmlFor: "password" }, t("login.password")), passwordInput),
    submit,
    h("div", { class: "login-foot" }, languageSwitch()),
  );

  async function onSubmit(event) {
    event.preventDefault();
    const login = loginInput.value.trim();
    const password = passwordInput.value;
    if (!login || !password) {
      showError(t("login.required"));
      (login ? passwordInput : loginInput).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = t("login.submitting");
    try {
      const payload = await api("POST", "/login", { body: { login, password }, quiet401: true });
      onLoggedIn(payload);
    } catch (err) {
      showError(err.message, err.serverMessage);
      passwordInput.select();
      passwordInput.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = t("login.submit");
    }
  }

  function showError(text, detail) {
    errorBox.textContent = text;
    errorBox.title = detail || "";
    errorBox.hidden = false;
  }

  queueMicrotask(() => loginInput.focus());
  return h("div", { class: "login-page" }, form);
}
