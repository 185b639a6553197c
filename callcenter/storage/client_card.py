"""The client card in one statement: the client row with its phones, e-mails, operator, orders,
notes, edit history, last calls and open tasks, aggregated into one JSON document by the database.

Nine queries each cost a round trip (and, on SQLite, a hop to the driver's thread); one
statement costs one. The database builds the JSON (SQLite's ``json_object`` /
``json_group_array``, PostgreSQL's ``json_build_object`` / ``json_agg``) and
:func:`read_card_document` turns its text values back into what the columns hold (aware UTC
datetimes, dates, Decimals, booleans), so the service formats the card exactly as it formats
rows read one query at a time.

The SQL is written from the table definitions in ``tables.py``: a column added there appears in
the card's rows without a change here.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Any, Callable, Sequence

from sqlalchemy import JSON, Boolean, Column, Date, Numeric, String, Table, TextClause, bindparam
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.storage.database import Database

from callcenter.storage.tables import (
    UtcDateTime,
    activities,
    calls,
    changes,
    client_emails,
    client_phones,
    clients,
    orders,
    tasks,
)

CLIENT_FIELDS = ("id", "name", "company", "notes", "timezone", "city", "region", "tags",
                 "assigned_operator_id", "birthday", "do_not_call", "created_at", "updated_at")
ACTIVITIES_LIMIT = 100
HISTORY_LIMIT = 200
CALLS_LIMIT = 20
CALL_FIELDS_LEFT_OUT = ("variables",)  # channel variables: never shown on the card


class _Part:
    """One collection of the card: a subquery of rows (alias ``t``), in a given order."""

    def __init__(self, key: str, columns: Sequence[tuple[str, Any, str]], source: str,
                 where: str, order: str, limit: int | None = None) -> None:
        self.key = key
        self.columns = columns  # (name in the document, column type, SQL expression)
        self.source, self.where, self.order, self.limit = source, where, order, limit

    def subquery(self) -> str:
        select_list = ", ".join(f'{expr} AS "{name}"' for name, _, expr in self.columns)
        limit = f" LIMIT {self.limit}" if self.limit else ""
        return (f"SELECT {select_list} FROM {self.source} WHERE {self.where} "
                f"ORDER BY {self.order}{limit}")


def _columns(table: Table, alias: str, leave_out: Sequence[str] = ()
             ) -> list[tuple[str, Any, str]]:
    return [(c.name, c.type, _column_sql(c, alias)) for c in table.columns
            if c.name not in leave_out]


def _column_sql(column: Column, alias: str) -> str:
    ref = f'{alias}."{column.name}"'
    if isinstance(column.type, Numeric):
        return f"CAST({ref} AS TEXT)"  # the exact digits, not a binary float
    return ref


@lru_cache(maxsize=1)
def _parts() -> tuple[_Part, ...]:
    t_order = "o.created_at DESC, o.id DESC"
    return (
        _Part("phones", _columns(client_phones, "p"), "client_phones p", "p.client_id = c.id",
              "p.position, p.id"),
        _Part("emails", _columns(client_emails, "e"), "client_emails e", "e.client_id = c.id",
              "e.position, e.id"),
        _Part("orders", _columns(orders, "o") + [("shop_slug", String(), "s.slug"),
                                                 ("shop_name", String(), "s.name")],
              "orders o JOIN shops s ON s.id = o.shop_id", "o.client_id = c.id", t_order),
        _Part("activities", _columns(activities, "a") + [("author_name", String(), "u.name")],
              "activities a LEFT JOIN users u ON u.id = a.author_id", "a.client_id = c.id",
              "a.created_at DESC, a.id DESC", ACTIVITIES_LIMIT),
        _Part("history", _columns(changes, "h") + [("user_name", String(), "u.name")],
              "changes h LEFT JOIN users u ON u.id = h.user_id", "h.client_id = c.id",
              "h.at DESC, h.id DESC", HISTORY_LIMIT),
        _Part("calls", _columns(calls, "k", CALL_FIELDS_LEFT_OUT), "calls k",
              "k.client_id = c.id", "k.started_at DESC, k.id DESC", CALLS_LIMIT),
        _Part("tasks", _columns(tasks, "k"), "tasks k",
              "k.client_id = c.id AND k.status = 'open'", "k.due_at, k.id"),
    )


def _client_columns() -> list[tuple[str, Any, str]]:
    return [(name, clients.c[name].type, _column_sql(clients.c[name], "c"))
            for name in CLIENT_FIELDS]


def _object(dialect: str, columns: Sequence[tuple[str, Any, str]], alias: str | None) -> str:
    """A JSON object of ``columns`` (read from ``alias`` when given, else their expressions)."""
    pairs = []
    for name, type_, expr in columns:
        ref = f'{alias}."{name}"' if alias else expr
        if dialect == "sqlite" and isinstance(type_, JSON):
            ref = f"json({ref})"  # stored as text: embed it as JSON, not as a string
        pairs.append(f"'{name}', {ref}")
    function = "json_object" if dialect == "sqlite" else "json_build_object"
    return f"{function}({', '.join(pairs)})"


def _array(dialect: str, part: _Part) -> str:
    if dialect == "sqlite":
        # SQLite aggregates in the order of the (unflattened, ordered) subquery
        row = _object(dialect, part.columns, "t")
        return f"(SELECT json_group_array({row}) FROM ({part.subquery()}) AS t)"
    # the whole row of t as an object: no limit of 100 arguments as json_build_object has
    order = ", ".join(_in_t(term) for term in part.order.split(","))
    return (f"(SELECT coalesce(json_agg(t ORDER BY {order}), '[]'::json) "
            f"FROM ({part.subquery()}) AS t)")


def _in_t(term: str) -> str:
    """``o.created_at DESC`` -> ``t."created_at" DESC``: the same order over the subquery."""
    column, _, direction = term.strip().partition(" ")
    return f't."{column.split(".", 1)[1]}" {direction}'.rstrip()


@lru_cache(maxsize=None)
def card_statement(dialect: str) -> TextClause:
    """The card of the client ``:client_id`` as one JSON text column (no row: no client)."""
    client = _client_columns()
    fields = [(name, type_, expr) for name, type_, expr in client]
    extra = [f"'operator_name', (SELECT u.name FROM users u WHERE u.id = c.assigned_operator_id)"]
    extra += [f"'{part.key}', {_array(dialect, part)}" for part in _parts()]
    document = _object(dialect, fields, None)
    document = f"{document[:-1]}, {', '.join(extra)})"
    as_text = "" if dialect == "sqlite" else "::text"
    return text(f"SELECT {document}{as_text} FROM clients c WHERE c.id = :client_id"
                ).bindparams(bindparam("client_id"))


@lru_cache(maxsize=None)
def summaries_statement(dialect: str) -> TextClause:
    """Client rows of ``:ids`` with phones, e-mails and operator name, one JSON text each."""
    parts = {p.key: p for p in _parts()}
    extra = ["'operator_name', (SELECT u.name FROM users u WHERE u.id = c.assigned_operator_id)"]
    extra += [f"'{key}', {_array(dialect, parts[key])}" for key in ("phones", "emails")]
    document = _object(dialect, _client_columns(), None)
    document = f"{document[:-1]}, {', '.join(extra)})"
    as_text = "" if dialect == "sqlite" else "::text"
    return text(f"SELECT {document}{as_text} FROM clients c WHERE c.id IN :ids"
                ).bindparams(bindparam("ids", expanding=True))


# reading the document back

def _utc(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=timezone.utc) if parsed.tzinfo is None else parsed


def _converter(type_: Any) -> Callable[[Any], Any] | None:
    if isinstance(type_, UtcDateTime):
        return _utc
    if isinstance(type_, Date):
        return lambda v: None if v is None else date.fromisoformat(v)
    if isinstance(type_, Boolean):
        return lambda v: None if v is None else bool(v)
    if isinstance(type_, Numeric):
        return lambda v: None if v is None else Decimal(str(v))
    return None


@lru_cache(maxsize=None)
def _converters(key: str) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    columns = _client_columns() if key == "client" else \
        {p.key: p for p in _parts()}[key].columns
    return tuple((name, conv) for name, type_, _ in columns
                 if (conv := _converter(type_)) is not None)


def _typed(row: dict[str, Any], key: str) -> dict[str, Any]:
    for name, conv in _converters(key):
        row[name] = conv(row[name])
    return row


def read_card_document(document: str | dict[str, Any]) -> dict[str, Any]:
    """The card's rows from the statement's JSON: ``client`` (the client row),
    ``operator_name`` and a list of rows per collection, with column values typed as a query
    of that table returns them."""
    data = json.loads(document) if isinstance(document, str) else document
    out: dict[str, Any] = {"operator_name": data.pop("operator_name", None)}
    for part in _parts():
        if part.key in data:
            out[part.key] = [_typed(row, part.key) for row in data.pop(part.key) or []]
    out["client"] = _typed(data, "client")
    return out


# running them

NUMBER_TO_CLIENTS = select(client_phones.c.client_id).where(
    client_phones.c.e164 == bindparam("e164"))


async def client_ids_for_number(db: Database, e164: str, *, lane: str = "telephony"
                                ) -> list[int]:
    """Ids of the clients holding the number ``e164`` (the E.164 index), each once, in the
    order the index gives them; the screen pop's first read, at the driver's own speed."""
    rows = await db.quick_rows(NUMBER_TO_CLIENTS, {"e164": e164}, lane=lane)
    return list(dict.fromkeys(row[0] for row in rows))


async def card_rows(db: Database, client_id: int, *, lane: str = "api"
                    ) -> dict[str, Any] | None:
    """The card's rows of one client (see :func:`read_card_document`), None if there is no
    such client: one statement."""
    statement = card_statement(db.engine.dialect.name)
    rows = await db.quick_rows(statement, {"client_id": client_id}, lane=lane)
    return read_card_document(rows[0][0]) if rows else None


async def summary_rows(conn: AsyncConnection, ids: Sequence[int]) -> list[dict[str, Any]]:
    """Client rows with phones, e-mails and operator name for ``ids``, in that order (missing
    ones left out): one statement on ``conn``."""
    if not ids:
        return []
    result = await conn.execute(summaries_statement(conn.dialect.name), {"ids": list(ids)})
    by_id = {}
    for (document,) in result:
        card = read_card_document(document)
        by_id[card["client"]["id"]] = card
    return [by_id[i] for i in ids if i in by_id]
