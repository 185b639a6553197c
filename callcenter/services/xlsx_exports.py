"""The client list and the order list as XLSX files, streamed page by page.

Rows come through the same service calls as ``GET /api/clients`` and ``GET /api/orders`` (so the
same filters and the same visibility: an operator limited to their own clients exports only
those), a page at a time, into an openpyxl write-only workbook on disk: memory stays bounded by
a page, whatever the number of rows.  Appending runs in a worker thread.

Text is always written as text: a value starting with ``=``, ``+``, ``-`` or ``@`` is a string
cell, never a formula (CSV/formula injection).  Dates are in the shop's time zone.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Sequence
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

PAGE = 2000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

CLIENT_COLUMNS = (("ID", "ID", 8), ("Имя", "Name", 30), ("Компания", "Company", 24),
                  ("Телефоны", "Phones", 24), ("E-mail", "E-mail", 28), ("Город", "City", 18),
                  ("Метки", "Tags", 20), ("Оператор", "Operator", 20),
                  ("Не звонить", "Do not contact", 12))
ORDER_COLUMNS = (("ID", "ID", 8), ("Номер", "Number", 14), ("Магазин", "Shop", 20),
                 ("Клиент", "Client", 28), ("Этап", "Stage", 14), ("Трек-номер", "Tracking", 18),
                 ("Сумма", "Total", 14),
                 ("Валюта", "Currency", 8), ("Товары", "Items", 40), ("Создан", "Created", 18),
                 ("Изменён", "Updated", 18))
_RISKY = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(sheet: Any, value: Any) -> WriteOnlyCell:
    """A cell for ``value``: text stays text (never a formula); numbers and dates typed."""
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # openpyxl would make "=…" a formula
    elif isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm"
    elif isinstance(value, Decimal):
        cell.number_format = "#,##0.00"
    return cell


class SheetWriter:
    """One write-only sheet saved to ``path``; rows appended in batches."""

    def __init__(self, path: Path, title: str, columns: Sequence[tuple[str, str, int]],
                 lang: str):
        self.path = path
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet(title=title[:31])
        self.sheet.freeze_panes = "A2"
        header = []
        for index, (ru, en, width) in enumerate(columns, start=1):
            self.sheet.column_dimensions[get_column_letter(index)].width = width
            cell = WriteOnlyCell(self.sheet, value=en if lang == "en" else ru)
            cell.font = Font(bold=True)
            header.append(cell)
        self.sheet.append(header)
        self.rows = 0

    def append(self, rows: list[list[Any]]) -> None:
        for row in rows:
            self.sheet.append([safe_cell(self.sheet, v) for v in row])
        self.rows += len(rows)

    def save(self) -> None:
        self.book.save(self.path)


def _local(value: str | None, zone: ZoneInfo) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value).astimezone(zone).replace(tzinfo=None)


def client_row(c: dict[str, Any]) -> list[Any]:
    op = c.get("assigned_operator") or {}
    return [c["id"], c["name"], c.get("company") or None,
            ", ".join(p["e164"] for p in c["phones"]) or None,
            ", ".join(e["email"] for e in c["emails"]) or None, c.get("city") or None,
            ", ".join(c.get("tags") or []) or None, op.get("name"),
            "да" if c.get("do_not_call") else None]


def order_row(o: dict[str, Any], client_names: dict[int, str], zone: ZoneInfo,
              lang: str = "ru") -> list[Any]:
    items = "; ".join(f"{i.get('name')} × {i.get('qty')}" for i in o.get("items") or [])
    stage = o.get("stage") or {}
    stage_name = stage.get("name_en" if lang == "en" else "name_ru") or o["status"]
    return [o["id"], o["number"], o["shop"]["name"], client_names.get(o["client_id"]),
            stage_name, o.get("tracking_number"), Decimal(o["total"]), o["currency"], items or None,
            _local(o["created_at"], zone), _local(o["updated_at"], zone)]


async def write_pages(writer: SheetWriter, pages: AsyncIterator[list[list[Any]]]) -> int:
    async for rows in pages:
        await asyncio.to_thread(writer.append, rows)
    await asyncio.to_thread(writer.save)
    return writer.rows


async def paged(fetch: Callable[[int, int], Any], limit: int | None = None
                ) -> AsyncIterator[list[dict[str, Any]]]:
    """Pages of ``fetch(limit, offset)["items"]`` until one comes back short."""
    offset = 0
    while True:
        page = (await fetch(PAGE, offset))["items"]
        if page:
            yield page
        if len(page) < PAGE or (limit is not None and offset + PAGE >= limit):
            return
        offset += PAGE
