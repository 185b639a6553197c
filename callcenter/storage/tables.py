"""The database schema, as SQLAlchemy Core tables. Migrations in ``migrations/`` must match it."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UtcDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite keeps no offset, so store naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


users = Table(
    "users", metadata,
    Column("id", Integer, primary_key=True),
    Column("login", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("role", String(16), nullable=False),
    Column("extension", String(64), unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("language", String(8), nullable=False, default="ru"),
    # power dialling: in ready state the next task is dialled after a short preview
    Column("autodial", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

sessions = Table(
    "sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("ip", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

login_attempts = Table(
    "login_attempts", metadata,
    Column("id", Integer, primary_key=True),
    Column("login", String(64), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("success", Boolean, nullable=False),
    Index("ix_login_attempts_login_ip_at", "login", "ip", "at"),
)

# one row per login and address, locked while an attempt is claimed or settled, so the lockout
# holds however many guesses arrive at once and however many server processes share the database
login_guards = Table(
    "login_guards", metadata,
    Column("login", String(64), primary_key=True),
    Column("ip", String(64), primary_key=True),
    Column("window_start", UtcDateTime, nullable=False),
    Column("failures", Integer, nullable=False, server_default="0"),
    Column("in_flight", Integer, nullable=False, server_default="0"),
    Column("locked_until", UtcDateTime),
)

shops = Table(
    "shops", metadata,
    Column("id", Integer, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    # notifications: the language of its customer messages (ru / en)
    Column("language", String(2), nullable=False, server_default="ru"),
)

clients = Table(
    "clients", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(300), nullable=False),
    # casefolded name for search: SQLite's lower() leaves Cyrillic as it is
    Column("search_name", String(300), nullable=False, index=True),
    Column("company", String(300)),
    Column("notes", Text),
    Column("timezone", String(64)),
    Column("city", String(200)),
    Column("region", String(200)),
    Column("tags", JSON, nullable=False, default=list),
    Column("assigned_operator_id", Integer, ForeignKey("users.id", ondelete="SET NULL"),
           index=True),
    Column("birthday", Date),
    Column("do_not_call", Boolean, nullable=False, default=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # mailings: the client opted out of mailings (order notifications still go)
    Column("unsubscribed_at", UtcDateTime),
)

def reversed_digits(e164: str) -> str:
    """The number's digits read backwards: "the last digits" search is a prefix search on it."""
    return "".join(ch for ch in reversed(e164) if ch.isdigit())


def _reversed_digits_default(context) -> str:
    # every insert through SQLAlchemy fills it, whichever module writes the phones
    return reversed_digits(context.get_current_parameters()["e164"])


client_phones = Table(
    "client_phones", metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("number", String(64), nullable=False),
    Column("e164", String(32), nullable=False, index=True),
    Column("digits_reversed", String(32), nullable=False, default=_reversed_digits_default,
           index=True),
    Column("extension", String(16)),
    Column("label", String(32)),
    Column("position", Integer, nullable=False, default=0),
)

client_emails = Table(
    "client_emails", metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("email", String(320), nullable=False, index=True),
    Column("label", String(32)),
    Column("position", Integer, nullable=False, default=0),
)

orders = Table(
    "orders", metadata,
    Column("id", Integer, primary_key=True),
    Column("shop_id", Integer, ForeignKey("shops.id"), nullable=False),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("external_id", String(128)),
    Column("number", String(64), nullable=False),
    Column("number_key", String(64), nullable=False, index=True),
    Column("status", String(32), nullable=False),
    Column("total", Numeric(14, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("items", JSON, nullable=False, default=list),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    # pipeline: the parcel's tracking number and when the order entered its current stage
    Column("tracking_number", String(64)),
    Column("stage_changed_at", UtcDateTime),
    UniqueConstraint("shop_id", "external_id", name="uq_orders_shop_external"),
)

activities = Table(
    "activities", metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("kind", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("author_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UtcDateTime, nullable=False),
)

# Field-level edit history of clients and orders, shown on the client card.
changes = Table(
    "changes", metadata,
    Column("id", Integer, primary_key=True),
    Column("entity", String(16), nullable=False),
    Column("entity_id", Integer, nullable=False),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), index=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("at", UtcDateTime, nullable=False),
    Column("field", String(64), nullable=False),
    Column("old", Text),
    Column("new", Text),
    Index("ix_changes_entity", "entity", "entity_id"),
    Index("ix_changes_report", "field", "at", "entity", "new", "entity_id", "user_id"),
)

# Who did what, from where: logins, and every change, for supervisors and admins.
audit_log = Table(
    "audit_log", metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=False, index=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("login", String(64)),
    Column("action", String(64), nullable=False),
    Column("entity", String(32)),
    Column("entity_id", String(64)),
    Column("ip", String(64)),
    Column("details", JSON, nullable=False, default=dict),
    # the viewer's filters: one action (and the list of actions), one user; newest first
    Index("ix_audit_log_action_at", "action", "at"),
    Index("ix_audit_log_user_at", "user_id", "at"),
)

# One row per call (a Linkedid in Asterisk), written once when the call ends; idempotent by key.
calls = Table(
    "calls", metadata,
    Column("id", Integer, primary_key=True),
    Column("call_key", String(128), nullable=False, unique=True),
    Column("linkedid", String(64)),
    Column("direction", String(16), nullable=False),
    Column("caller", String(64)),
    Column("caller_e164", String(32)),
    Column("caller_name", String(200)),
    Column("callee", String(64)),
    Column("callee_e164", String(32)),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="SET NULL"), index=True),
    Column("operators_rung", JSON, nullable=False, default=list),
    Column("answered_by", String(64)),
    Column("answered_by_user_id", Integer, ForeignKey("users.id", ondelete="SET NULL"),
           index=True),
    Column("handled_by", JSON, nullable=False, default=list),
    Column("placed_by", String(64)),
    Column("started_at", UtcDateTime, nullable=False, index=True),
    Column("answered_at", UtcDateTime),
    Column("ended_at", UtcDateTime),
    Column("outcome", String(16), nullable=False),
    Column("talk_seconds", Integer, nullable=False, default=0),
    Column("wait_seconds", Integer),
    Column("hangup_side", String(16)),
    Column("hangup_cause", Integer),
    Column("hangup_cause_text", String(100)),
    Column("recording", String(300)),
    Column("queue", String(64)),
    Column("action_id", String(128)),
    Column("task_id", Integer),
    Column("variables", JSON, nullable=False, default=dict),
    Column("disposition", String(32)),
    Column("note", Text),
    # in_progress: written when the call started; completed: its end is known (final);
    # unknown: closed without its end (outcome unknown) until a late end or CDR fills it in
    Column("status", String(16), nullable=False, server_default="completed"),
    Index("ix_calls_caller_e164", "caller_e164"),
    Index("ix_calls_status_started", "status", "started_at"),
    Index("ix_calls_callee_e164", "callee_e164"),
    # the reports' covering index (migration 0011): a period's calls read from the index alone
    Index("ix_calls_report", "started_at", "direction", "status", "outcome",
          "answered_by_user_id", "placed_by", "queue", "disposition", "wait_seconds",
          "talk_seconds"),
)

# Work for operators: missed calls to return, callbacks agreed with a client, redials, new
# orders to confirm, reminders.  A failed attempt keeps the task and moves its due time along the
# redial ladder (``failures`` is the position on it; ``attempts`` counts every attempt); a final
# outcome closes it (done) or archives it.  ``ready_at`` is the first moment it may be handed out
# (its due time moved into the client's calling window) and ``window_ends_at`` the end of that
# window: the claim is one indexed query with no time-zone arithmetic in SQL.
tasks = Table(
    "tasks", metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),
    # open / done / archived
    Column("status", String(16), nullable=False),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), index=True),
    Column("phone_e164", String(32)),
    Column("title", String(300), nullable=False),
    Column("due_at", UtcDateTime, nullable=False),
    Column("call_id", Integer, ForeignKey("calls.id", ondelete="SET NULL")),
    Column("attempts", Integer, nullable=False, default=0),
    Column("assigned_to", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("claimed_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("claimed_at", UtcDateTime),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("closed_at", UtcDateTime),
    Column("closed_reason", String(64)),
    Column("priority", Integer, nullable=False, server_default="0"),
    Column("failures", Integer, nullable=False, server_default="0"),
    # place in the next-task order (CALLCENTER_NEXT_TASK_ORDER), lower first
    Column("rank", Integer, nullable=False, server_default="0"),
    Column("ready_at", UtcDateTime),
    Column("window_ends_at", UtcDateTime),
    Column("lease_until", UtcDateTime),
    Column("result", String(32)),
    Column("note", Text),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="SET NULL"), index=True),
    Column("previous_task_id", Integer, ForeignKey("tasks.id", ondelete="SET NULL")),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    # when a personal callback still undone was handed over to anyone
    Column("handed_over_at", UtcDateTime),
    # the IANA zone (or candidate zones, comma-separated) the times were computed in
    Column("timezone", String(400)),
    Index("ix_tasks_status_due", "status", "due_at"),
    Index("ix_tasks_claim", "status", "rank", "ready_at"),
    Index("ix_tasks_claimed_by", "claimed_by", "lease_until"),
    Index("ix_tasks_assigned_status", "assigned_to", "status"),
    # the reports' callbacks done in a period (migration 0011)
    Index("ix_tasks_report", "kind", "status", "closed_at", "due_at", "assigned_to"),
    # at most one open missed-call task per number: repeated missed calls do not pile up tasks
    Index("uq_tasks_open_missed_call", "phone_e164", unique=True,
          sqlite_where=text("status = 'open' AND kind = 'missed_call'"),
          postgresql_where=text("status = 'open' AND kind = 'missed_call'")),
)

# the next-task claim's order, then the columns it filters on (migration 0007)
Index("ix_tasks_next", tasks.c.status, tasks.c.rank, tasks.c.priority.desc(), tasks.c.ready_at,
      tasks.c.id, tasks.c.window_ends_at, tasks.c.assigned_to, tasks.c.lease_until,
      tasks.c.claimed_by, tasks.c.claimed_at, tasks.c.client_id)

# Every attempt on a task: who, when, the outcome, through which call.
task_attempts = Table(
    "task_attempts", metadata,
    Column("id", Integer, primary_key=True),
    Column("task_id", Integer, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("at", UtcDateTime, nullable=False),
    Column("outcome", String(32), nullable=False),
    Column("note", Text),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("call_id", Integer, ForeignKey("calls.id", ondelete="SET NULL")),
    # operator (a button or the API) or pbx (the outcome of a call placed for the task)
    Column("source", String(16), nullable=False),
    Column("next_at", UtcDateTime),
    # the call key of a PBX outcome: the same call moves the ladder once
    Column("call_key", String(128), unique=True),
    Index("ix_task_attempts_report", "at", "user_id", "task_id", "outcome", "call_id"),
)

# The outcomes operators press after a call, edited by admins.
outcome_definitions = Table(
    "outcome_definitions", metadata,
    Column("code", String(32), primary_key=True),
    Column("label_ru", String(100), nullable=False),
    Column("label_en", String(100), nullable=False),
    # closes the task (done), unless it archives
    Column("final", Boolean, nullable=False, server_default=text("false")),
    # a failed attempt: moves the task along the redial ladder
    Column("failed_attempt", Boolean, nullable=False, server_default=text("false")),
    # archives the task at once, with this outcome as the reason
    Column("archives", Boolean, nullable=False, server_default=text("false")),
    # needs next_at (a callback the client asked for)
    Column("requires_next_at", Boolean, nullable=False, server_default=text("false")),
    # kind of the task opened next in the chain (e.g. a reminder after a confirmed order)
    Column("next_task_kind", String(32)),
    Column("hotkey", String(8)),
    Column("position", Integer, nullable=False, server_default="0"),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("builtin", Boolean, nullable=False, server_default=text("false")),
    Column("updated_at", UtcDateTime),
)

# Each operator's state right now, and every change of it (for the reports).
agent_states = Table(
    "agent_states", metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    # offline / ready / paused / ringing / talking / wrap_up
    Column("state", String(16), nullable=False),
    Column("reason", String(64)),
    Column("since", UtcDateTime, nullable=False),
    # ready or paused: what the operator chose, returned to after a call
    Column("chosen", String(16), nullable=False, server_default="offline"),
    Column("chosen_reason", String(64)),
    Column("wrap_up_until", UtcDateTime),
    # the choice was made while AMI was down: QueuePause is still to be sent (migration 0008)
    Column("pbx_pending", Boolean, nullable=False, server_default=text("false")),
)

agent_state_changes = Table(
    "agent_state_changes", metadata,
    Column("id", Integer, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("reason", String(64)),
    # crm (the operator's click), pbx (the phone, Asterisk's autopause), system (wrap-up limit)
    Column("source", String(16), nullable=False),
    Index("ix_agent_state_changes_user_at", "user_id", "at"),
    Index("ix_agent_state_changes_report", "user_id", "at", "state", "reason"),
)

# The scheduler's progress per job, so a restart catches up from where it was.
scheduler_jobs = Table(
    "scheduler_jobs", metadata,
    Column("name", String(64), primary_key=True),
    Column("last_run_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
)

# How far each source of Asterisk CDRs has been read: a CSV file by inode and byte offset, a cdr
# table by the newest calldate taken.  ``source`` is the file's path or ``table:<name>``.
cdr_cursors = Table(
    "cdr_cursors", metadata,
    Column("source", String(500), primary_key=True),
    Column("inode", BigInteger),
    Column("position", BigInteger, nullable=False, default=0),
    Column("last_calldate", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
)


# Each call's recording: the MixMonitor file(s) found in the monitor directory, converted to
# CALLCENTER_RECORDING_FORMAT under CALLCENTER_RECORDINGS_DIR and checked.  ``status``:
# pending (looked for / being converted), ready, missing (never appeared within
# CALLCENTER_RECORDING_WAIT_MINUTES), empty (no audio beyond the WAV header), failed (unreadable
# or not convertible), deleted (by the retention job).  ``health``: ok, customer_silent,
# operator_silent (one-way audio), both_silent (nobody spoke), unknown (no direction files).
recordings = Table(
    "recordings", metadata,
    Column("call_id", Integer, ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True),
    # the main file's name relative to the monitor directory (2026/12/01/<uniqueid>.wav)
    Column("source", String(300), nullable=False),
    # every MixMonitor file of the call in order (several legs), joined into one recording
    Column("parts", JSON, nullable=False, default=list),
    Column("status", String(16), nullable=False),
    # relative to CALLCENTER_RECORDINGS_DIR
    Column("file", String(300)),
    Column("format", String(8)),
    Column("bytes", BigInteger),
    Column("duration_seconds", Float),
    Column("health", String(24)),
    # levels per direction and window, what was checked
    Column("details", JSON, nullable=False, default=dict),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_try_at", UtcDateTime),
    # a worker (of any process) is converting it until then
    Column("lease_until", UtcDateTime),
    Column("error", String(300)),
    Column("call_started_at", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_recordings_status_next", "status", "next_try_at"),
    Index("ix_recordings_call_started_at", "call_started_at"),
)

# What each operator is expected to do per working day, for the KPI in the reports.
operator_plans = Table(
    "operator_plans", metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("calls_per_day", Integer),
    Column("confirmed_orders_per_day", Integer),
    Column("sales_per_day", Numeric(14, 2)),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
)

# Each operator's time per state (and pause reason, '' for none) per local day of ``zone``, kept
# by the reports for days that are over (state changes are written as they happen, so a day
# two days past no longer changes); ``report_state_days_done`` names the days kept (migration
# 0011).
report_state_days = Table(
    "report_state_days", metadata,
    Column("zone", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("state", String(16), primary_key=True),
    Column("reason", String(64), primary_key=True),
    Column("seconds", Float, nullable=False),
    Column("spans", Integer, nullable=False),
)

report_state_days_done = Table(
    "report_state_days_done", metadata,
    Column("zone", String(64), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("computed_at", UtcDateTime, nullable=False),
)

# The outbox of what happened (migration 0013): written in the same transaction as the change it
# tells of, so no event is lost or told of a change that was rolled back.  A dispatcher hands
# each event to its consumers (webhook deliveries, customer notifications) and marks it
# dispatched; ``attempts``/``error`` keep an event whose consumer failed visible.
events = Table(
    "events", metadata,
    Column("id", Integer, primary_key=True),
    Column("type", String(64), nullable=False),
    Column("entity", String(32)),
    Column("entity_id", Integer),
    Column("payload", JSON, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("dispatched_at", UtcDateTime),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("error", String(500)),
    Index("ix_events_pending", "dispatched_at", "id"),
)

# Every message to a customer (migration 0013): order notifications, mailings, documents, test
# sends.  Queued here in the transaction that causes it and sent by the message sender;
# ``dedupe_key`` (unique) makes "one message per order event" hold across retries and restarts.
messages = Table(
    "messages", metadata,
    Column("id", Integer, primary_key=True),
    # notification / mailing / document / test / manual
    Column("kind", String(16), nullable=False),
    # email / sms
    Column("channel", String(8), nullable=False),
    Column("event", String(32)),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), index=True),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="SET NULL"), index=True),
    Column("shop_id", Integer, ForeignKey("shops.id", ondelete="SET NULL")),
    Column("mailing_id", Integer, index=True),
    Column("to_address", String(320), nullable=False),
    Column("subject", String(300)),
    Column("body", Text, nullable=False),
    Column("html", Text),
    # extra e-mail headers, e.g. {"List-Unsubscribe": "<https://…>", "List-Unsubscribe-Post": …}
    Column("headers", JSON),
    # [{"path": relative to documents_dir, "name": file name shown, "type": MIME type}]
    Column("attachments", JSON, nullable=False, default=list),
    # queued / sending / sent / delivered / failed / skipped
    Column("status", String(16), nullable=False),
    Column("dedupe_key", String(200), nullable=False, unique=True),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime),
    Column("last_error", String(500)),
    Column("provider_id", String(200)),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime),
    Column("delivered_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
    Index("ix_messages_due", "status", "next_attempt_at"),
)

# --- mailings tables ---
# Saved audiences (migration 0016): ``filter`` is domain.segments' filter, compiled to one query.
segments = Table(
    "segments", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("filter", JSON, nullable=False),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

# A mailing keeps the filter it was started with (``filter``), so editing the segment later
# does not change who it went to; its messages carry ``mailing_id``.
mailings = Table(
    "mailings", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("segment_id", Integer, ForeignKey("segments.id", ondelete="SET NULL")),
    Column("filter", JSON, nullable=False),
    # email / sms
    Column("channel", String(8), nullable=False),
    Column("shop_id", Integer, ForeignKey("shops.id", ondelete="SET NULL")),
    Column("subject", String(300)),
    Column("body", Text, nullable=False),
    # draft / sending / sent / cancelled
    Column("status", String(16), nullable=False),
    Column("rate_per_minute", Integer, nullable=False),
    Column("recipients", Integer, nullable=False, server_default="0"),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
)

# Carts the shops' sites report (abandoned-cart reminders); idempotent by the shop's id.
carts = Table(
    "carts", metadata,
    Column("id", Integer, primary_key=True),
    Column("shop_id", Integer, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("external_id", String(128), nullable=False),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("items", JSON, nullable=False, default=list),
    Column("total", Numeric(14, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("ordered_at", UtcDateTime),
    Column("reminded_at", UtcDateTime),
    UniqueConstraint("shop_id", "external_id", name="uq_carts_shop_external"),
    Index("ix_carts_due", "reminded_at", "ordered_at", "updated_at"),
)

# --- webhooks tables ---
# Outgoing webhooks (migration 0018): where to POST which events. ``secret`` signs each
# delivery, so it is kept; the API shows it once, at creation, and masked after.
webhooks = Table(
    "webhooks", metadata,
    Column("id", Integer, primary_key=True),
    Column("url", String(2000), nullable=False),
    Column("events", JSON, nullable=False),
    Column("secret", String(200), nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("description", String(300)),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("failing_since", UtcDateTime),
)

# One row per (webhook, event): ``body`` holds the exact bytes signed, so a retry sends the
# same body; ``lease_until`` keeps two processes from sending the same row.
webhook_deliveries = Table(
    "webhook_deliveries", metadata,
    Column("id", Integer, primary_key=True),
    Column("webhook_id", Integer, ForeignKey("webhooks.id", ondelete="CASCADE"),
           nullable=False),
    # the outbox event's id; pings get a negative number of their own
    Column("event_id", Integer, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("body", Text, nullable=False),
    # pending / delivering / delivered / failed (given up)
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime),
    Column("last_status", Integer),
    Column("last_response", String(2000)),
    Column("last_error", String(500)),
    Column("duration_ms", Integer),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime),
    UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_webhook_event"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_webhook", "webhook_id", "id"),
)


# --- notifications tables ---
# A shop's own wording of a customer notification (migration 0015); the defaults live in code
# (domain.notification_events). ``shop_key`` is shop_id or 0 for "every shop": a NULL in a
# unique key would not keep two "every shop" rows apart on either database.
message_templates = Table(
    "message_templates", metadata,
    Column("id", Integer, primary_key=True),
    Column("shop_id", Integer, ForeignKey("shops.id", ondelete="CASCADE")),
    Column("shop_key", Integer, nullable=False),
    Column("event", String(32), nullable=False),
    # email / sms
    Column("channel", String(8), nullable=False),
    # ru / en
    Column("lang", String(2), nullable=False),
    Column("subject", String(300)),
    Column("body", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    UniqueConstraint("shop_key", "event", "channel", "lang", name="uq_message_templates_scope"),
)


# --- documents tables ---
# A shop's requisites for its invoices and offers (migration 0017). The image columns hold file
# names the server generated, under documents_dir/shops/<shop_id>/, never a user's path.
shop_requisites = Table(
    "shop_requisites", metadata,
    Column("shop_id", Integer, ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True),
    Column("legal_name", String(300), nullable=False, server_default=""),
    Column("inn", String(12), nullable=False, server_default=""),
    Column("kpp", String(9), nullable=False, server_default=""),
    Column("ogrn", String(15), nullable=False, server_default=""),
    Column("address", String(500), nullable=False, server_default=""),
    Column("phone", String(64), nullable=False, server_default=""),
    Column("email", String(320), nullable=False, server_default=""),
    Column("bank_name", String(300), nullable=False, server_default=""),
    Column("bik", String(9), nullable=False, server_default=""),
    Column("account", String(20), nullable=False, server_default=""),
    Column("corr_account", String(20), nullable=False, server_default=""),
    Column("director", String(200), nullable=False, server_default=""),
    Column("accountant", String(200), nullable=False, server_default=""),
    # none / 0 / 10 / 20: VAT included in the prices at that rate, or no VAT
    Column("vat_rate", String(8), nullable=False, server_default="none"),
    Column("invoice_prefix", String(16), nullable=False, server_default="INV"),
    Column("logo_file", String(100)),
    Column("stamp_file", String(100)),
    Column("signature_file", String(100)),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("updated_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
)

# Every invoice or offer made (migration 0017): the PDF lives at ``file`` under documents_dir.
# Numbers run per shop, kind and year ("INV-2026-0001"); the unique key keeps two at once apart.
documents = Table(
    "documents", metadata,
    Column("id", Integer, primary_key=True),
    # invoice / offer
    Column("kind", String(16), nullable=False),
    Column("number", String(64), nullable=False),
    Column("shop_id", Integer, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="SET NULL"), index=True),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("file", String(300), nullable=False),
    Column("bytes", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("total", Numeric(14, 2), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("created_by", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("created_at", UtcDateTime, nullable=False),
    Column("sent_message_id", Integer, ForeignKey("messages.id", ondelete="SET NULL")),
    Column("sent_to", String(320)),
    UniqueConstraint("shop_id", "kind", "number", name="uq_documents_shop_kind_number"),
)

# --- pipeline tables ---
# A shop's order stages (migration 0014): ``code`` is the value stored in orders.status; ``roles``
# may move an order INTO the stage; ``next_task`` {"title", "in_days"} opens a follow-up call.
order_stages = Table(
    "order_stages", metadata,
    Column("id", Integer, primary_key=True),
    Column("shop_id", Integer, ForeignKey("shops.id", ondelete="CASCADE"), nullable=False),
    Column("code", String(32), nullable=False),
    Column("name_ru", String(100), nullable=False),
    Column("name_en", String(100), nullable=False),
    Column("position", Integer, nullable=False),
    # open / won / lost
    Column("kind", String(8), nullable=False),
    Column("roles", JSON, nullable=False),
    Column("next_task", JSON),
    Column("notify_event", String(32)),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    UniqueConstraint("shop_id", "code", name="uq_order_stages_shop_code"),
)

# Every move of an order between stages: the funnel report reads it.
order_stage_changes = Table(
    "order_stage_changes", metadata,
    Column("id", Integer, primary_key=True),
    Column("order_id", Integer, ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
    Column("shop_id", Integer, nullable=False),
    Column("from_stage", String(32)),
    Column("to_stage", String(32), nullable=False),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="SET NULL")),
    Column("login", String(100)),
    Column("at", UtcDateTime, nullable=False),
    Column("seconds_in_previous", Float),
    Index("ix_order_stage_changes_shop_at", "shop_id", "at"),
    Index("ix_order_stage_changes_order_at", "order_id", "at"),
)
