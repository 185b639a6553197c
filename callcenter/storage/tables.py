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
)

client_phones = Table(
    "client_phones", metadata,
    Column("id", Integer, primary_key=True),
    Column("client_id", Integer, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("number", String(64), nullable=False),
    Column("e164", String(32), nullable=False, index=True),
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
)

# Work for operators: callbacks owed after missed calls, redials, new orders to confirm.
tasks = Table(
    "tasks", metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),
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
    Index("ix_tasks_status_due", "status", "due_at"),
    # at most one open callback per number: repeated missed calls do not pile up tasks
    Index("uq_tasks_open_callback", "phone_e164", unique=True,
          sqlite_where=text("status = 'open' AND kind = 'callback'"),
          postgresql_where=text("status = 'open' AND kind = 'callback'")),
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
