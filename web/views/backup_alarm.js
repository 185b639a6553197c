// The admins' backup alarm: a banner above the workspace when backups are stale (the newest
// verified backup is older than 26 h, or there is none while the daily job is on). Polls
// GET /api/backups every few minutes; stops by itself when the shell it was put in is gone.

import { api } from "../api.js";
import { h } from "../dom.js";
import { formatDateTime } from "../format.js";
import { t } from "../i18n.js";

const POLL_MS = 5 * 60 * 1000;
let current = null;

export function startBackupAlarm(shell, user) {
  if (current) current.stop();
  current = null;
  if (!shell || !user || user.role !== "admin") return;
  const banner = h("div", { class: "backup-alarm", role: "alert", testid: "backup-alarm", hidden: true });
  shell.prepend(banner);
  let timer = null;
  const state = {
    stop() { clearTimeout(timer); banner.remove(); },
  };
  current = state;

  async function check() {
    if (!shell.isConnected || current !== state) return state.stop();
    try {
      const status = await api("GET", "/backups");
      if (current !== state) return;
      const last = status.last_verified;
      banner.replaceChildren(
        h("strong", null, t("backups.alarm.title")), " ",
        last ? t("backups.alarm.old", { at: formatDateTime(last.started_at) }) : t("backups.alarm.none"), " ",
        h("a", { href: "#/settings/backups", testid: "backup-alarm-link" }, t("backups.alarm.open")));
      banner.hidden = !status.stale;
    } catch (err) {
      // a failed poll says nothing about the backups; the next one tries again
    }
    timer = setTimeout(check, POLL_MS);
  }
  check();
}
