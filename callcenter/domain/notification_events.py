"""Customer notifications: the events, their default wording, rendering, SMS hours, retries. Pure.

A shop may override a template (``message_templates`` rows); :func:`choose_template` picks the
shop's own, then the one for every shop, then the default below. E-mail bodies are plain text;
:func:`render_message` also makes a simple HTML part with every value escaped, so a customer's
name like ``<script>`` is text in the mail and in the editor's preview.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Iterable, Mapping
from zoneinfo import ZoneInfo

from callcenter.domain.placeholders import render, unknown_names

EVENTS = ("order_received", "order_confirmed", "payment_received", "order_shipped",
          "order_at_pickup", "parcel_reminder", "abandoned_cart")
CHANNELS = ("email", "sms")
LANGS = ("ru", "en")

COMMON = ("client_name", "order_number", "order_total", "currency", "tracking_number",
          "tracking_url", "shop_name", "shop_phone")
CART = ("client_name", "cart_items", "cart_total", "currency", "shop_name", "shop_phone",
        "unsubscribe_url")
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    **{event: COMMON for event in EVENTS if event != "abandoned_cart"},
    "abandoned_cart": CART,
}


@dataclass(frozen=True)
class Template:
    event: str
    channel: str
    lang: str
    subject: str | None
    body: str
    enabled: bool
    source: str = "default"   # default / all_shops / shop


_T = {  # (event, lang) -> (subject, e-mail body, sms body)
    ("order_received", "ru"): (
        "Заказ {order_number} принят",
        "Здравствуйте, {client_name}!\n\nСпасибо за заказ {order_number} в магазине {shop_name} "
        "на сумму {order_total} {currency}. Мы свяжемся с вами для подтверждения.\n\n"
        "Вопросы — по телефону {shop_phone}.",
        "{shop_name}: заказ {order_number} на {order_total} {currency} принят. Скоро позвоним."),
    ("order_received", "en"): (
        "Order {order_number} received",
        "Hello {client_name},\n\nThank you for order {order_number} at {shop_name} "
        "({order_total} {currency}). We will contact you to confirm it.\n\n"
        "Questions: {shop_phone}.",
        "{shop_name}: order {order_number} ({order_total} {currency}) received."),
    ("order_confirmed", "ru"): (
        "Заказ {order_number} подтверждён",
        "Здравствуйте, {client_name}!\n\nЗаказ {order_number} подтверждён и передан в сборку. "
        "Сумма: {order_total} {currency}.\n\n{shop_name}, {shop_phone}",
        "{shop_name}: заказ {order_number} подтверждён и собирается."),
    ("order_confirmed", "en"): (
        "Order {order_number} confirmed",
        "Hello {client_name},\n\nOrder {order_number} is confirmed and being packed. "
        "Total: {order_total} {currency}.\n\n{shop_name}, {shop_phone}",
        "{shop_name}: order {order_number} confirmed."),
    ("payment_received", "ru"): (
        "Оплата заказа {order_number} получена",
        "Здравствуйте, {client_name}!\n\nМы получили оплату заказа {order_number}: "
        "{order_total} {currency}. Спасибо!\n\n{shop_name}, {shop_phone}",
        "{shop_name}: оплата заказа {order_number} получена. Спасибо!"),
    ("payment_received", "en"): (
        "Payment for order {order_number} received",
        "Hello {client_name},\n\nWe have received {order_total} {currency} for order "
        "{order_number}. Thank you!\n\n{shop_name}, {shop_phone}",
        "{shop_name}: payment for order {order_number} received. Thank you!"),
    ("order_shipped", "ru"): (
        "Заказ {order_number} отправлен",
        "Здравствуйте, {client_name}!\n\nЗаказ {order_number} отправлен. "
        "Трек-номер: {tracking_number}\nОтследить посылку: {tracking_url}\n\n"
        "{shop_name}, {shop_phone}",
        "{shop_name}: заказ {order_number} отправлен, трек {tracking_number}"),
    ("order_shipped", "en"): (
        "Order {order_number} shipped",
        "Hello {client_name},\n\nOrder {order_number} is on its way. "
        "Tracking number: {tracking_number}\nTrack it: {tracking_url}\n\n"
        "{shop_name}, {shop_phone}",
        "{shop_name}: order {order_number} shipped, tracking {tracking_number}"),
    ("order_at_pickup", "ru"): (
        "Заказ {order_number} ждёт вас в пункте выдачи",
        "Здравствуйте, {client_name}!\n\nЗаказ {order_number} прибыл в пункт выдачи. "
        "Трек-номер: {tracking_number}. Не забудьте паспорт.\n\n{shop_name}, {shop_phone}",
        "{shop_name}: заказ {order_number} ждёт в пункте выдачи. Трек {tracking_number}"),
    ("order_at_pickup", "en"): (
        "Order {order_number} is waiting at the pickup point",
        "Hello {client_name},\n\nOrder {order_number} has arrived at the pickup point. "
        "Tracking number: {tracking_number}.\n\n{shop_name}, {shop_phone}",
        "{shop_name}: order {order_number} is at the pickup point."),
    ("parcel_reminder", "ru"): (
        "Напоминаем о заказе {order_number}",
        "Здравствуйте, {client_name}!\n\nЗаказ {order_number} в пути или уже ждёт вас. "
        "Трек-номер: {tracking_number}\nОтследить: {tracking_url}\n\n"
        "Если посылку не забрать вовремя, она вернётся к нам. {shop_name}, {shop_phone}",
        "{shop_name}: не забудьте забрать заказ {order_number}, трек {tracking_number}"),
    ("parcel_reminder", "en"): (
        "A reminder about order {order_number}",
        "Hello {client_name},\n\nOrder {order_number} is on its way or waiting for you. "
        "Tracking number: {tracking_number}\nTrack it: {tracking_url}\n\n"
        "{shop_name}, {shop_phone}",
        "{shop_name}: please collect order {order_number}, tracking {tracking_number}"),
    ("abandoned_cart", "ru"): (
        "Вы забыли товары в корзине",
        "Здравствуйте, {client_name}!\n\nВ корзине магазина {shop_name} остались товары:\n"
        "{cart_items}\nНа сумму {cart_total} {currency}. Оформите заказ, пока они в наличии.\n\n"
        "Отписаться от писем: {unsubscribe_url}",
        "{shop_name}: в корзине остались товары на {cart_total} {currency}"),
    ("abandoned_cart", "en"): (
        "You left something in your cart",
        "Hello {client_name},\n\nYour cart at {shop_name} still holds:\n{cart_items}\n"
        "Total: {cart_total} {currency}.\n\nUnsubscribe: {unsubscribe_url}",
        "{shop_name}: your cart ({cart_total} {currency}) is waiting"),
}


def default_template(event: str, channel: str, lang: str) -> Template:
    subject, email, sms = _T[(event, lang if lang in LANGS else "ru")]
    if channel == "email":
        return Template(event, channel, lang, subject, email, True)
    return Template(event, channel, lang, None, sms, False)  # SMS off until configured


def choose_template(event: str, channel: str, lang: str, shop_id: int | None,
                    rows: Iterable[Mapping[str, Any]]) -> Template:
    """The shop's own row, else the row for every shop (shop_id None), else the default."""
    lang = lang if lang in LANGS else "ru"
    best: Template | None = None
    for row in rows:
        if (row["event"], row["channel"], row["lang"]) != (event, channel, lang):
            continue
        if shop_id is not None and row["shop_id"] == shop_id:
            return Template(event, channel, lang, row.get("subject"), row["body"],
                            bool(row["enabled"]), "shop")
        if row["shop_id"] is None:
            best = Template(event, channel, lang, row.get("subject"), row["body"],
                            bool(row["enabled"]), "all_shops")
    return best or default_template(event, channel, lang)


@dataclass(frozen=True)
class Rendered:
    subject: str | None
    body: str
    html: str | None


def render_message(template: Template, context: Mapping[str, Any]) -> Rendered:
    body = render(template.body, context)
    if template.channel == "sms":
        return Rendered(None, body, None)
    subject = render(template.subject or "", context).replace("\r", " ").replace("\n", " ")
    escaped = render(html.escape(template.body, quote=False), context, escape=html.escape)
    paragraphs = "".join(f"<p>{part.replace(chr(10), '<br>')}</p>"
                         for part in escaped.split("\n\n") if part.strip())
    page = ('<!doctype html><html><body style="font-family:sans-serif;font-size:15px">'
            f"{paragraphs}</body></html>")
    return Rendered(subject[:300], body, page)


def template_problems(event: str, subject: str | None, body: str) -> list[str]:
    """Placeholder names the event does not know (shown as a warning in the editor)."""
    known = frozenset(PLACEHOLDERS.get(event, ()))
    return sorted(set(unknown_names(body, known)) | set(unknown_names(subject or "", known)))


_GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡"
            "ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")


def sms_segments(text: str) -> int:
    """How many SMS parts a text takes (GSM-7: 160/153, else UCS-2: 70/67 characters)."""
    if all(ch in _GSM7 for ch in text):
        single, multi = 160, 153
    else:
        single, multi = 70, 67
    n = len(text)
    return 1 if n <= single else -(-n // multi)


# --- SMS hours ---------------------------------------------------------------------------
_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def parse_sms_hours(text: str) -> tuple[time, time]:
    """"09:00-21:00" → (09:00, 21:00); ValueError for anything else (start before end)."""
    match = _HOURS.match(text or "")
    if not match:
        raise ValueError(f"expected HH:MM-HH:MM, got {text!r}")
    h1, m1, h2, m2 = map(int, match.groups())
    if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"not a time range: {text!r}")
    start = time(h1, m1)
    end = time(23, 59, 59) if h2 == 24 else time(h2, m2)
    if start >= end:
        raise ValueError(f"the start must be before the end: {text!r}")
    return start, end


def next_sms_time(now: datetime, zone: str, hours: tuple[time, time]) -> datetime:
    """``now`` (aware, UTC) when it is inside the SMS hours in ``zone``, else the next opening
    (the start of the window, today or tomorrow, in the zone's local time; DST-safe)."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    start, end = hours
    if start <= local.time().replace(tzinfo=None) < end:
        return now
    day = local.date() if local.time() < start else local.date() + timedelta(days=1)
    opening = datetime.combine(day, start, tzinfo=tz)
    # a start in a DST gap (02:30 on the spring-forward night) is moved on by fold rules;
    # round-trip through UTC gives the real instant
    return opening.astimezone(now.tzinfo)


# --- retries ----------------------------------------------------------------------------
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
           timedelta(hours=2), timedelta(hours=6), timedelta(hours=12))
GIVE_UP_AFTER = len(BACKOFF) + 1   # 7 attempts, the last about 21 hours after the first


def next_attempt(now: datetime, attempts: int) -> datetime | None:
    """After ``attempts`` failed tries in all: when to try again, or None to give up."""
    if attempts >= GIVE_UP_AFTER or attempts < 1:
        return None
    return now + BACKOFF[attempts - 1]


_S10 = re.compile(r"^[A-Z]{2}\d{9}[A-Z]{2}$")


def tracking_url(number: str | None) -> str:
    """Where the customer follows a parcel: Russian Post for S10 numbers (RA123456789RU) and
    14-digit domestic ones, else no link."""
    text = (number or "").strip().upper()
    if _S10.match(text) or re.fullmatch(r"\d{14}", text):
        return f"https://www.pochta.ru/tracking#{text}"
    return ""


def money(value: Any) -> str:
    """1234.5 → "1 234.50" (a narrow no-break space between thousands)."""
    try:
        return f"{float(value):,.2f}".replace(",", "\u202f")
    except (TypeError, ValueError):
        return str(value or "")


SAMPLE_CONTEXT = {
    "client_name": "Анна Петрова", "order_number": "10025", "order_total": money(4590),
    "currency": "RUB", "tracking_number": "RA123456789RU",
    "tracking_url": tracking_url("RA123456789RU"), "shop_name": "Магазин", "shop_phone": "",
    "unsubscribe_url": "http://127.0.0.1:8080/u/sample",
    "cart_items": "— Чайник электрический × 1", "cart_total": money(2490),
}
