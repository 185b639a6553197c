"""Reports as files: CSV (UTF-8 with a BOM, so Excel reads Cyrillic right) and XLSX (openpyxl).

A table is ``(header, rows, kinds)``: the header in the user's language (ru or en), rows of
plain values, and each column's kind, which the XLSX writer turns into a cell format:
``text``, ``int``, ``rate`` (a fraction shown as a percentage), ``seconds`` (a duration shown as
[h]:mm:ss; CSV keeps whole seconds), ``minutes``, ``money`` (a Decimal).  A report has one row
per operator or queue plus a totals row, so a file is small; the workbook is written in
openpyxl's write-only mode all the same, so its memory stays bounded by the rows.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: (key, kind, ru, en) of an operator row, in column order
OPERATOR_COLUMNS = (
    ("name", "text", "Оператор", "Operator"),
    ("login", "text", "Логин", "Login"),
    ("calls_in", "int", "Входящие", "Inbound"),
    ("calls_out", "int", "Исходящие", "Outbound"),
    ("answered", "int", "Отвечено", "Answered"),
    ("missed", "int", "Пропущено", "Missed"),
    ("missed_rate", "rate", "Доля пропущенных", "Missed rate"),
    ("service_level", "rate", "Уровень сервиса", "Service level"),
    ("avg_wait", "seconds", "Среднее ожидание", "Average wait"),
    ("max_wait", "seconds", "Макс. ожидание", "Max wait"),
    ("avg_talk", "seconds", "Средний разговор", "Average talk"),
    ("talk_seconds", "seconds", "Время разговоров", "Talk time"),
    ("avg_wrap_up", "seconds", "Средняя обработка", "Average wrap-up"),
    ("ready_seconds", "seconds", "Время в готовности", "Ready time"),
    ("paused_seconds", "seconds", "Время на паузе", "Paused time"),
    ("callbacks_done", "int", "Перезвонов сделано", "Callbacks done"),
    ("callbacks_late_avg_minutes", "minutes", "Опоздание перезвона, мин",
     "Callback lateness, min"),
    ("redial_attempts", "int", "Попыток дозвона", "Redial attempts"),
    ("redial_reached", "int", "Дозвонились", "Reached"),
    ("reach_rate", "rate", "Доля дозвона", "Reach rate"),
    ("orders_confirmed", "int", "Заказов подтверждено", "Orders confirmed"),
    ("sales", "money", "Продажи", "Sales"),
)
KPI_COLUMNS = (("calls", "КПЭ: звонки", "KPI: calls"), ("orders", "КПЭ: заказы", "KPI: orders"),
               ("sales", "КПЭ: продажи", "KPI: sales"))
QUEUE_COLUMNS = (
    ("queue", "text", "Очередь", "Queue"),
    ("offered", "int", "Поступило", "Offered"),
    ("answered", "int", "Отвечено", "Answered"),
    ("abandoned", "int", "Брошено", "Abandoned"),
    ("abandon_rate", "rate", "Доля брошенных", "Abandon rate"),
    ("service_level", "rate", "Уровень сервиса", "Service level"),
    ("avg_wait", "seconds", "Среднее ожидание", "Average wait"),
    ("max_wait", "seconds", "Макс. ожидание", "Max wait"),
    ("avg_talk", "seconds", "Средний разговор", "Average talk"),
)
_TOTAL = {"ru": "Итого", "en": "Total"}
_NO_QUEUE = {"ru": "(без очереди)", "en": "(no queue)"}
_PAUSED = {"ru": "Пауза: ", "en": "Paused: "}
_NO_REASON = {"ru": "без причины", "en": "no reason"}


def _value(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "money":
        return Decimal(value)
    return value


def operators_table(report: dict[str, Any], lang: str):
    """The per-operator report as (header, rows, kinds): the fixed figures, paused time per
    reason, the outcomes pressed, and KPI, each in a column; the totals row last."""
    pick = 2 if lang == "ru" else 3
    reasons = sorted({r for row in report["operators"] for r in row["paused_by_reason"]}
                     | set(report["totals"]["paused_by_reason"]))
    outcomes = [o for o in report["outcomes"] if o["count"]]
    header = [c[pick] for c in OPERATOR_COLUMNS]
    header += [_PAUSED[lang] + (r or _NO_REASON[lang]) for r in reasons]
    header += [o["label_" + lang] for o in outcomes]
    header += [k[1 if lang == "ru" else 2] for k in KPI_COLUMNS]
    kinds = [c[1] for c in OPERATOR_COLUMNS] + ["seconds"] * len(reasons) \
        + ["int"] * len(outcomes) + ["rate"] * len(KPI_COLUMNS)

    def line(row: dict[str, Any], total: bool) -> list[Any]:
        values = [_value(kind, row.get(key)) for key, kind, *_ in OPERATOR_COLUMNS]
        if total:
            values[0], values[1] = _TOTAL[lang], None
        values += [row["paused_by_reason"].get(r, 0) for r in reasons]
        values += [row["outcomes"].get(o["code"], 0) for o in outcomes]
        kpi = row.get("kpi") or {}
        values += [kpi.get(k[0]) for k in KPI_COLUMNS]
        return values

    rows = [line(r, False) for r in report["operators"]] + [line(report["totals"], True)]
    return header, rows, kinds


def queues_table(report: dict[str, Any], lang: str):
    """The per-queue report as (header, rows, kinds), the totals row last."""
    pick = 2 if lang == "ru" else 3
    header = [c[pick] for c in QUEUE_COLUMNS]
    kinds = [c[1] for c in QUEUE_COLUMNS]
    rows = []
    for row in report["queues"] + [dict(report["totals"], queue=_TOTAL[lang])]:
        values = [_value(kind, row.get(key)) for key, kind, *_ in QUEUE_COLUMNS]
        if values[0] is None:
            values[0] = _NO_QUEUE[lang]
        rows.append(values)
    return header, rows, kinds


def to_csv(header: list[str], rows: list[list[Any]]) -> bytes:
    """Comma-separated, UTF-8 with a BOM; empty cells for no data; durations whole seconds."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


_FORMATS = {"int": "0", "rate": "0.0%", "seconds": "[h]:mm:ss", "minutes": "0.0",
            "money": "#,##0.00"}
_DAY = 86400


def to_xlsx(title: str, header: list[str], rows: list[list[Any]], kinds: list[str]) -> bytes:
    """One sheet: a bold frozen header, numbers as numbers (durations as days with an
    [h]:mm:ss format, so Excel sums them), columns as wide as their header."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.freeze_panes = "A2"
    for index, text in enumerate(header, start=1):
        width = max(10, min(40, len(text) + 2))
        if index == 1:
            width = max(width, 24)
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    cells = []
    for text in header:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    for row in rows:
        out = []
        for value, kind in zip(row, kinds):
            if kind == "seconds" and value is not None:
                value = value / _DAY
            cell = WriteOnlyCell(sheet, value=value)
            if kind in _FORMATS and value is not None:
                cell.number_format = _FORMATS[kind]
            out.append(cell)
        sheet.append(out)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
