"""Settings: declared once as (name, default, help), read from one place.

Precedence, highest first: CLI flag > environment ``CALLCENTER_<NAME>`` > config file > default.
This module is the only reader of ``os.environ`` in the package.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ENV_PREFIX = "CALLCENTER_"


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the setting."""


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"expected true/false, got {value!r}")


def _timezone(value: Any) -> str:
    try:
        ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA time zone {value!r}") from exc
    return str(value)


def _optional_timezone(value: Any) -> str:
    return _timezone(value) if str(value).strip() else ""


def _calling_hours(value: Any) -> str:
    from callcenter.domain.calling_hours import parse_calling_hours

    parse_calling_hours(str(value))
    return str(value).strip()


def _holidays(value: Any) -> str:
    from callcenter.domain.calling_hours import parse_holidays

    parse_holidays(str(value))
    return str(value).strip()


def _redial_ladder(value: Any) -> str:
    from callcenter.domain.redial import parse_ladder

    parse_ladder(str(value))
    return str(value).strip()


def _parcel_days(value: Any) -> int:  # pipeline
    days = int(value)
    if not 1 <= days <= 365:
        raise ValueError("must be 1 to 365 days")
    return days


NEXT_TASK_ORDER_NAMES = ("own_callback", "callback", "missed_call", "redial",
                         "order_confirmation", "order_followup", "reminder")


def _next_task_order(value: Any) -> str:
    names = [name.strip() for name in str(value).split(",") if name.strip()]
    unknown = [name for name in names if name not in NEXT_TASK_ORDER_NAMES]
    if unknown:
        raise ValueError(f"unknown {', '.join(map(repr, unknown))}; "
                         f"use {', '.join(NEXT_TASK_ORDER_NAMES)}")
    if len(set(names)) != len(names):
        raise ValueError("a name is listed twice")
    return ",".join(names)


def _table_name(value: Any) -> str:
    import re

    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?",
                        str(value)):
        raise ValueError(f"not a plain table name: {value!r}")
    return str(value)


def _recording_format(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in {"opus", "mp3"}:
        raise ValueError(f"expected opus or mp3, got {value!r}")
    return text


def _context_name(value: Any) -> str:
    import re

    if not re.fullmatch(r"[A-Za-z0-9_-]{1,79}", str(value)):
        raise ValueError(f"not a dialplan context name: {value!r}")
    return str(value)


def _shop_caller_id(value: Any) -> str:
    from callcenter.domain.click_to_call import shop_caller_id

    return shop_caller_id(str(value))


def _smtp_tls(value: Any) -> str:  # notifications
    text = str(value).strip().lower()
    if text not in {"starttls", "tls", "none"}:
        raise ValueError(f"expected starttls, tls or none, got {value!r}")
    return text


def _sms_provider(value: Any) -> str:  # notifications
    text = str(value).strip().lower()
    if text not in {"", "http", "smsru"}:
        raise ValueError(f"expected http, smsru or empty, got {value!r}")
    return text


def _sms_hours(value: Any) -> str:  # notifications
    from callcenter.domain.notification_events import parse_sms_hours

    parse_sms_hours(str(value))
    return str(value).strip()


def _proxy_list(value: Any) -> str:
    import ipaddress

    items = [v.strip() for v in str(value).split(",") if v.strip()]
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address or network") from None
    return ",".join(items)


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[Any], Any] = str
    secret: bool = False

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


SETTINGS: tuple[Setting, ...] = (
    Setting("db_url", "sqlite+aiosqlite:///var/callcenter.sqlite3",
            "Database URL: sqlite+aiosqlite:///PATH (default, embedded) or "
            "postgresql+asyncpg://USER:PASSWORD@HOST/DB."),
    Setting("http_host", "127.0.0.1", "Address the web server listens on."),
    Setting("http_port", 8080, "Port the web server listens on.", int),
    Setting("secret_key", "",
            "Secret used to sign session cookies and shop tokens. Required in production; "
            "when empty a random one is made at start and sessions do not survive a restart "
            "(the server warns; `callcenter demo` keeps one in its data folder instead).",
            secret=True),
    Setting("default_region", "RU",
            "ISO country code used to read phone numbers written without a country code."),
    Setting("timezone", "Europe/Moscow",
            "The shop's IANA time zone. Each client is called in their own zone (set on the "
            "client, else from the city or region, else from a phone number with exactly one "
            "zone); this one is assumed only when none of those gives anything.", _timezone),
    Setting("monitor_dir", "var/monitor",
            "Asterisk's monitor directory as this machine sees it (the same folder on the PBX "
            "host, or where it is mounted): where the CRM finds each call's MixMonitor files."),
    Setting("recordings_dir", "recordings",
            "Folder where the CRM keeps call recordings, converted and named after the call; "
            "the originals in the monitor directory are removed once the copy is verified."),
    Setting("recording_format", "opus",
            "Format recordings are converted to: opus (Ogg Opus, smallest) or mp3.",
            _recording_format),
    Setting("recording_wait_minutes", 10,
            "How long a call's recording that is not in the monitor directory yet (still "
            "being written, a share not mounted) is looked for before the call is put on the "
            "supervisors' \"recording missing\" list.", int),
    Setting("recording_silence_dbfs", -45.0,
            "Level (dBFS, RMS over 2-second windows) below which a direction of a call counts "
            "as silent: a call with one silent direction is flagged one-way audio, with both "
            "nobody spoke.", float),
    Setting("recording_retention_days", 0,
            "Recordings older than this many days are deleted by a daily job; 0 keeps them.",
            int),
    Setting("recording_workers", 1,
            "How many recordings are converted at once (each conversion runs ffmpeg in a "
            "worker thread, off the event loop).", int),
    Setting("operators_hear_own_recordings", True,
            "When true, operators may play the recordings of their own calls (supervisors and "
            "admins hear every call).", _bool),
    Setting("operators_download_recordings", False,
            "When true, operators allowed to play their own recordings may also download them.",
            _bool),
    Setting("asterisk_monitor_dir", "/var/spool/asterisk/monitor",
            "Asterisk's monitor directory as the PBX names it (the start of MIXMONITOR_FILENAME); "
            "recordings are stored relative to it."),
    Setting("spool_dir", "var/spool",
            "Folder for call records that could not be stored at shutdown; they are stored "
            "at the next start."),
    Setting("stop_store_seconds", 10.0,
            "At shutdown, how long to wait for the database to take the call records still "
            "queued before writing them to the spool folder.", float),
    Setting("call_unknown_after_seconds", 14400.0,
            "A call still in progress after this many seconds, not live on the PBX and in no "
            "CDR, is closed with status and outcome unknown (a late end or CDR still "
            "completes it).", float),
    Setting("call_vanished_grace_seconds", 60.0,
            "A call that ended while the AMI link was down is stored with status unknown "
            "(its end is a guess); after this many seconds, unless another server process or "
            "the CDR completed it meanwhile, the guess is stored as final and its callback "
            "opens.", float),
    Setting("ami_host", "", "Asterisk AMI host; empty disables the AMI listener."),
    Setting("ami_port", 5038, "Asterisk AMI port.", int),
    Setting("ami_username", "callcenter", "AMI user name (manager.conf)."),
    Setting("ami_secret", "", "AMI secret (manager.conf).", secret=True),
    Setting("ami_context", "operators",
            "Dialplan context click-to-call Originates into (Exten = the customer's number "
            "in E.164, with its +)."),
    Setting("shop_caller_id", "",
            "The shop's phone number customers see on click-to-call (passed to the dialplan as "
            "CRM_OUTBOUND_CID), e.g. 74951234567; empty leaves it to the dialplan's "
            "CALLCENTER_SHOP_CID.", _shop_caller_id),
    Setting("ami_ping_interval", 10.0,
            "Seconds between AMI Ping actions; a link silent for two intervals is reconnected.",
            float),
    Setting("trunk_endpoints", "",
            "Comma-separated carrier endpoints, e.g. PJSIP/trunk: every other endpoint is then "
            "an operator's phone, even one no user has. Empty: phones are the endpoints whose "
            "channels live in the operators' context (CALLCENTER_AMI_CONTEXT)."),
    Setting("users_check_seconds", 5.0,
            "Seconds between checks for users added or changed by another process (the CLI), "
            "so their phones are recognised without a restart.", float),
    Setting("asterisk_cdr_file", "/var/log/asterisk/cdr-custom/crm.csv",
            "Asterisk's CDR file the call log is reconciled from at start and after every AMI "
            "reconnect: cdr_custom's crm.csv (asterisk/cdr_custom.conf) or cdr_csv's Master.csv "
            "with newcdrcolumns; empty disables it."),
    Setting("asterisk_cdr_timezone", "",
            "IANA time zone of the PBX's local time, in which cdr_custom writes start/answer/end; "
            "empty means CALLCENTER_TIMEZONE. Master.csv (usegmtime = yes) is always read as UTC.",
            _optional_timezone),
    Setting("asterisk_cdr_db_url", "",
            "Database holding the cdr table Asterisk writes (cdr_pgsql, cdr_adaptive_odbc), for a "
            "CRM on another machine than the PBX: postgresql+asyncpg://USER:PASSWORD@HOST/DB; "
            "empty disables it.", secret=True),
    Setting("asterisk_cdr_db_table", "cdr", "Name of that cdr table (or schema.table).",
            _table_name),
    Setting("asterisk_cdr_db_timezone", "UTC",
            "IANA time zone of calldate in that table (UTC with timezone = UTC in "
            "cdr_pgsql.conf, as asterisk/cdr_pgsql.conf.example has it).", _timezone),
    Setting("asterisk_cdr_max_call_minutes", 240,
            "Longest call expected, in minutes: the cdr table is read again this far back, "
            "since a row is written when its call ends but dated when it started.", int),
    Setting("operators_see_own_clients_only", False,
            "When true, operators see and edit only the clients assigned to them.", _bool),
    Setting("session_days", 7, "How long a login session lasts, in days.", int),
    Setting("cookie_secure", False,
            "Mark the session cookie Secure (set true behind HTTPS).", _bool),
    Setting("session_check_seconds", 30.0,
            "Seconds between checks that every open websocket's session is still valid (ended "
            "by another process, expired, user deactivated or role changed); such pages are "
            "closed with code 4001.", float),
    Setting("max_websockets_per_user", 10,
            "Most websockets (open pages) one user may have; one more is refused with close "
            "code 4029.", int),
    Setting("pause_reasons", "lunch,break,training,meeting,technical",
            "Comma-separated reasons an operator may pause for (the first is the default); "
            "sent to Asterisk as QueuePause's Reason."),
    Setting("wrap_up_seconds", 60,
            "After-call work: how long an operator stays in wrap-up after a call before being "
            "ready again if no outcome is saved; 0 ends wrap-up only with the outcome.", int),
    Setting("calling_hours", "mon-sun 09:00-21:00",
            "When clients may be called, in each client's own local time: weekday ranges with "
            "hours, separated by ';', e.g. 'mon-fri 09:00-13:00,14:00-21:00; sat 10:00-18:00' "
            "(several ranges a day allowed, a range may end at 24:00 but not cross midnight; "
            "days not named are closed).", _calling_hours),
    Setting("holidays", "01-01,01-02,01-07,05-09",
            "Days no client is called, comma-separated: MM-DD every year or YYYY-MM-DD once, "
            "in the client's local calendar.", _holidays),
    Setting("redial_ladder", "5m,30m,3h,1d",
            "Delays before the next attempt after the 1st, 2nd, ... failed attempt (m, h: "
            "absolute; d: the same wall-clock time that many days later); one failure more "
            "than there are steps archives the task.", _redial_ladder),
    Setting("next_task_order",
            "own_callback,missed_call,redial,order_confirmation,order_followup,reminder",
            "Which due tasks the Next task button hands out first: own_callback (the "
            "operator's own callbacks), callback (anyone's), missed_call, redial (tasks with a "
            "failed attempt), order_confirmation, order_followup (an order stage's next step: "
            "ship it, check its delivery), reminder; kinds not named come last.",
            _next_task_order),
    Setting("callback_handover_minutes", 15,
            "A personal callback still undone this many minutes after it was due goes to "
            "anyone, so it is not lost while its owner is away.", int),
    Setting("task_lease_minutes", 10,
            "A task handed out by Next task goes back to the pool if no attempt is recorded "
            "within this many minutes.", int),
    Setting("autodial_preview_seconds", 5,
            "Power dialling: seconds an operator with auto-dial sees the next task's card "
            "before it is dialled.", int),
    Setting("scheduler_interval_seconds", 15.0,
            "Seconds between the scheduler's rounds (handing over overdue callbacks, returning "
            "expired leases, moving tasks into the next calling window).", float),
    Setting("supervise_context", "callcenter-supervise",
            "Dialplan context a supervisor's listen / whisper / barge Originates into "
            "(dialplan/callcenter.conf): it runs ChanSpy on the operator's phone.",
            _context_name),
    Setting("service_level_seconds", 20,
            "Service level in reports: the share of queue calls answered within this many "
            "seconds.", int),
    # --- pipeline settings ---
    Setting("parcel_check_days", 7,
            "Orders: a new shop's \"shipped\" stage opens a call to check the delivery this "
            "many days after the move (and the parcel reminder goes then).", _parcel_days),
    # --- notifications settings ---
    Setting("smtp_host", "",
            "Messages to customers: the SMTP server e-mail goes out through (empty = e-mail "
            "is not sent; messages wait in the queue)."),
    Setting("smtp_port", 587, "Messages: the SMTP server's port.", int),
    Setting("smtp_tls", "starttls",
            "Messages: starttls (port 587), tls (port 465) or none (a local relay).",
            _smtp_tls),
    Setting("smtp_username", "", "Messages: SMTP login (empty = no login)."),
    Setting("smtp_password", "", "Messages: SMTP password.", secret=True),
    Setting("smtp_from", "", "Messages: the From address, e.g. \"Shop <shop@example.ru>\"."),
    Setting("sms_provider", "",
            "Messages: SMS gateway: http (a generic JSON gateway), smsru (SMS.ru) or empty "
            "(SMS is not sent).", _sms_provider),
    Setting("sms_api_url", "",
            "Messages: the gateway's URL (http: where the JSON is posted; smsru: default "
            "https://sms.ru/sms/send)."),
    Setting("sms_api_key", "", "Messages: the gateway's API key.", secret=True),
    Setting("sms_sender", "", "Messages: the SMS sender name registered with the gateway."),
    Setting("sms_hours", "09:00-21:00",
            "Messages: SMS go out only in these hours of the client's own time; outside "
            "them they wait for the next opening.", _sms_hours),
    Setting("public_url", "http://127.0.0.1:8080",
            "Messages: the address customers reach this server at (unsubscribe and status "
            "links are built on it)."),
    Setting("message_workers", 2, "Messages: how many messages are sent at the same time.",
            int),
    # --- mailings settings ---
    Setting("mailing_rate_per_minute", 60,
            "Mailings: messages a mailing sends per minute at most (its own rate can be set "
            "lower or higher when it is composed).", int),
    Setting("cart_reminder_hours", 3.0,
            "Abandoned carts: hours after a shop's site last reported a cart before its "
            "customer is reminded (once; not when they ordered since).", float),
    # --- documents settings ---
    Setting("documents_dir", "var/documents",
            "Documents: folder of the invoice and offer PDFs and the shops' logo, stamp and "
            "signature images (a relative path is taken from the working directory)."),
    # --- webhooks settings ---
    Setting("webhook_allow_private", False,
            "Webhooks may call private, loopback and link-local addresses (a receiver on this "
            "machine or the shop's network). Off: such addresses are refused at registration "
            "and at delivery, after DNS.", _bool),
    Setting("webhook_timeout_seconds", 10.0,
            "Seconds a webhook receiver has to answer a delivery before it counts as failed "
            "and is tried again later.", float),
    Setting("webhook_workers", 4,
            "Webhook deliveries sent at the same time, at most.", int),
    # --- backups settings ---
    Setting("backup_dir", "var/backups",
            "Backups: folder of the backup files and their manifests (`callcenter backup`, "
            "the daily job, Back up now)."),
    Setting("backup_keep_days", 14,
            "Backups: days a backup is kept; the newest verified one is never deleted. "
            "0 keeps all.", int),
    Setting("backup_time", "03:00",
            "Backups: time of day (HH:MM, CALLCENTER_TIMEZONE) of the server's daily backup; "
            "empty: no daily backup.",
            lambda v: __import__("callcenter.domain.backups", fromlist=["x"])
            .parse_backup_time(str(v)) and str(v).strip() or ""),
    # --- scaling settings ---
    Setting("trusted_proxies", "",
            "Addresses (IPs or networks, comma-separated, e.g. 127.0.0.1,10.0.0.0/24) of the "
            "reverse proxies in front of the server: only from these is X-Forwarded-For "
            "believed, for the login lockout and the audit log. Empty: the peer's address is "
            "the client's.", _proxy_list),
    Setting("max_upload_mb", 20, "Largest accepted upload (CSV import), in megabytes.", int),
    Setting("log_level", "INFO", "Logging level: DEBUG, INFO, WARNING, ERROR."),
)

SETTINGS_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """Resolved settings; attribute names are the setting names."""

    values: Mapping[str, Any] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        values = object.__getattribute__(self, "values")
        try:
            return values[name]
        except KeyError:
            raise AttributeError(name) from None

    def replace(self, **changes: Any) -> "Settings":
        values = dict(self.values)
        sources = dict(self.sources)
        for key, value in changes.items():
            if key not in SETTINGS_BY_NAME:
                raise SettingsError(f"unknown setting {key!r}")
            values[key] = _parse(SETTINGS_BY_NAME[key], value, "override")
            sources[key] = "override"
        return Settings(values, sources)

    def public(self) -> dict[str, Any]:
        """The settings with secrets masked, for logs and the admin page."""
        return {
            s.name: ("***" if s.secret and self.values.get(s.name) else self.values.get(s.name))
            for s in SETTINGS
        }


def _parse(setting: Setting, raw: Any, source: str) -> Any:
    try:
        return setting.parse(raw)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"setting {setting.name} (from {source}): {exc}") from None


def load_settings(
    cli: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: str | Path | None = None,
) -> Settings:
    """Resolve every setting: CLI flag > environment > config file (TOML) > default.

    ``cli`` holds only flags the user gave (``None`` values are ignored). The config file is
    ``config_file`` or ``$CALLCENTER_CONFIG``; a missing explicit file is an error.
    """
    environ = os.environ if environ is None else environ
    cli = {k: v for k, v in (cli or {}).items() if v is not None}
    file_values: dict[str, Any] = {}
    path = config_file or environ.get(ENV_PREFIX + "CONFIG")
    if path:
        try:
            with open(path, "rb") as fh:
                file_values = tomllib.load(fh)
        except FileNotFoundError:
            raise SettingsError(f"config file {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path} is not valid TOML: {exc}") from None
        unknown = sorted(set(file_values) - set(SETTINGS_BY_NAME))
        if unknown:
            raise SettingsError(f"config file {path}: unknown settings {', '.join(unknown)}")
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for setting in SETTINGS:
        if setting.name in cli:
            raw, source = cli[setting.name], "cli"
        elif setting.env in environ:
            raw, source = environ[setting.env], "env"
        elif setting.name in file_values:
            raw, source = file_values[setting.name], "file"
        else:
            raw, source = setting.default, "default"
        values[setting.name] = _parse(setting, raw, source)
        sources[setting.name] = source
    return Settings(values, sources)
