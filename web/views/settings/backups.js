// Settings › Backups (admins): the last backup (time, size, verified), the list from the
// manifests, "Back up now" with its progress, and how to restore from the command line.
// The database is never downloaded through the browser: the files stay in the backup folder.

import { api } from "../../api.js";
import { h, mount } from "../../dom.js";
import { formatDateTime, formatNumber } from "../../format.js";
import { t } from "../../i18n.js";
import { emptyState, errorBanner, loading, panel, toast } from "../../ui.js";

function size(bytes) {
  if (bytes == null) return "—";
  if (bytes < 1024 * 1024) return `${formatNumber(Math.max(1, Math.round(bytes / 1024)))} KB`;
  return `${formatNumber(Math.round(bytes / 1024 / 102.4) / 10)} MB`;
}

function verifiedMark(b) {
  return b.verified
    ? h("span", { class: "backup-ok", testid: "backup-verified" }, "✓ ", t("backups.verified"))
    : h("span", { class: "backup-bad", testid: "backup-failed", title: b.error || "" }, "✗ ", b.error || t("backups.not_verified"));
}

export function renderBackupsSection(ctx) {
  const summary = h("div", { testid: "backup-summary" }, loading());
  const list = h("div", null);
  const button = h("button", { type: "button", class: "btn primary", testid: "backup-now" }, t("backups.now"));
  const progress = h("span", { class: "backup-progress muted", testid: "backup-progress", hidden: true }, t("backups.running"));
  const restoreHelp = h("pre", { class: "backup-restore", testid: "backup-restore-command" });
  let destroyed = false;
  let timer = null;

  const el = h("div", { class: "backups-settings", testid: "settings-backups-section" },
    h("p", { class: "muted" }, t("backups.intro")),
    panel({ title: t("backups.last"), tools: h("span", null, progress, " ", button) }, summary),
    panel({ title: t("backups.list"), flush: true }, list),
    panel({ title: t("backups.restore") }, h("p", { class: "muted" }, t("backups.restore_help")), restoreHelp),
  );

  function show(status) {
    const last = status.last;
    mount(summary, last
      ? h("div", null,
          h("div", { testid: "backup-last-time" }, formatDateTime(last.started_at)), " ",
          h("div", { testid: "backup-last-size" }, size(last.size)), " ", verifiedMark(last),
          status.stale ? h("div", { class: "backup-bad", testid: "backup-stale" }, t("backups.stale")) : null)
      : h("div", null, emptyState(t("backups.none"), "backup-none"),
          status.stale ? h("div", { class: "backup-bad", testid: "backup-stale" }, t("backups.stale")) : null),
      h("p", { class: "muted" }, status.daily_time
        ? t("backups.daily", { time: status.daily_time, zone: status.timezone, dir: status.backup_dir })
        : t("backups.daily_off", { dir: status.backup_dir })));
    mount(list, status.backups.length
      ? h("table", { class: "table", testid: "backup-list" },
          h("thead", null, h("tr", null, h("th", null, t("backups.col.time")), h("th", null, t("backups.col.file")),
            h("th", null, t("backups.col.size")), h("th", null, t("backups.col.verified")))),
          h("tbody", null, status.backups.map((b) => h("tr", { testid: "backup-row" },
            h("td", null, formatDateTime(b.started_at)), h("td", null, h("code", null, b.name)),
            h("td", null, size(b.size)), h("td", null, verifiedMark(b))))))
      : emptyState(t("backups.none"), "backup-list-empty"));
    const example = (status.last_verified || status.last || { name: "callcenter-YYYYmmdd-HHMMSS.sqlite3.gz" }).name;
    restoreHelp.textContent = `callcenter restore ${status.backup_dir}/${example}${example.endsWith(".pgdump") ? " --yes" : ""}`;
    button.disabled = status.running;
    progress.hidden = !status.running;
  }

  async function load() {
    clearTimeout(timer);
    try {
      const status = await api("GET", "/backups");
      if (destroyed) return;
      show(status);
      if (status.running) timer = setTimeout(load, 1000);
    } catch (err) {
      if (!destroyed && err.status !== 401) mount(summary, errorBanner(err.message, "page-error"));
    }
  }

  button.addEventListener("click", async () => {
    button.disabled = true;
    progress.hidden = false;
    try {
      await api("POST", "/backups");
      toast(t("backups.started"));
    } catch (err) {
      if (err.status !== 401) toast(err.message, "error");
    }
    load();
  });

  load();
  return { el, destroy() { destroyed = true; clearTimeout(timer); } };
}
