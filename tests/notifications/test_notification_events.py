"""The notification events' pure parts: templates, rendering, SMS hours (DST), backoff."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest

from callcenter.domain import notification_events as ne

UTC = timezone.utc


def test_every_event_has_ru_and_en_defaults_email_on_sms_off():
    for event in ne.EVENTS:
        for lang in ne.LANGS:
            mail = ne.default_template(event, "email", lang)
            sms = ne.default_template(event, "sms", lang)
            assert mail.enabled and not sms.enabled
            assert mail.subject and mail.body and sms.body
            assert ne.template_problems(event, mail.subject, mail.body) == []
            assert ne.template_problems(event, None, sms.body) == []


@pytest.mark.parametrize("event", ne.EVENTS)
def test_default_sms_fit_two_segments_with_realistic_values(event):
    context = dict(ne.SAMPLE_CONTEXT, shop_name="Домашний уют")
    for lang in ne.LANGS:
        text = ne.render_message(ne.default_template(event, "sms", lang), context).body
        assert ne.sms_segments(text) <= 2, text


@pytest.mark.parametrize("text,segments", [
    ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3),
    ("я" * 70, 1), ("я" * 71, 2), ("я" * 134, 2), ("я" * 135, 3), ("", 1),
])
def test_sms_segments(text, segments):
    assert ne.sms_segments(text) == segments


def test_choose_template_shop_over_all_shops_over_default():
    rows = [
        {"shop_id": None, "event": "order_shipped", "channel": "email", "lang": "ru",
         "subject": "Всем", "body": "всем", "enabled": True},
        {"shop_id": 2, "event": "order_shipped", "channel": "email", "lang": "ru",
         "subject": "Свой", "body": "свой", "enabled": False},
    ]
    assert ne.choose_template("order_shipped", "email", "ru", 2, rows).source == "shop"
    assert not ne.choose_template("order_shipped", "email", "ru", 2, rows).enabled
    assert ne.choose_template("order_shipped", "email", "ru", 3, rows).body == "всем"
    assert ne.choose_template("order_shipped", "email", "en", 2, rows).source == "default"
    assert ne.choose_template("order_shipped", "sms", "ru", 2, rows).source == "default"
    assert ne.choose_template("order_shipped", "email", "de", 2, rows).lang == "ru"


def test_render_escapes_values_in_html_but_not_in_text():
    template = ne.Template("order_shipped", "email", "ru", "Заказ {order_number}\r\nBcc: x",
                           "Привет, {client_name}!\n\nТрек {tracking_number} {nope}", True)
    out = ne.render_message(template, {"client_name": "<script>alert(1)</script>",
                                       "order_number": "7", "tracking_number": "RA1"})
    assert "<script>" in out.body and "{nope}" in out.body
    assert "<script>" not in out.html and "&lt;script&gt;" in out.html
    assert "\n" not in out.subject and "\r" not in out.subject
    assert ne.template_problems("order_shipped", template.subject, template.body) == ["nope"]


@pytest.mark.parametrize("now,zone,expected", [
    # inside the window: now
    (datetime(2026, 11, 23, 9, 0, tzinfo=UTC), "Europe/Moscow", datetime(2026, 11, 23, 9, 0)),
    # 22:00 in Moscow → 09:00 next day Moscow = 06:00 UTC
    (datetime(2026, 11, 23, 19, 0, tzinfo=UTC), "Europe/Moscow", datetime(2026, 11, 24, 6, 0)),
    # 05:00 in Moscow → 09:00 the same day
    (datetime(2026, 11, 23, 2, 0, tzinfo=UTC), "Europe/Moscow", datetime(2026, 11, 23, 6, 0)),
    # Vladivostok (+10): 09:00 UTC is 19:00 there, inside
    (datetime(2026, 11, 23, 9, 0, tzinfo=UTC), "Asia/Vladivostok", datetime(2026, 11, 23, 9, 0)),
    # Vladivostok: 12:00 UTC is 22:00 there → 09:00 local next day = 23:00 UTC
    (datetime(2026, 11, 23, 12, 0, tzinfo=UTC), "Asia/Vladivostok", datetime(2026, 11, 23, 23, 0)),
    # DST: Berlin springs forward on 2026-03-29; 06:00 UTC on the 29th is 08:00 CEST
    (datetime(2026, 3, 29, 6, 0, tzinfo=UTC), "Europe/Berlin", datetime(2026, 3, 29, 7, 0)),
    # the evening before (CET, +1): 21:30 local → 09:00 CEST = 07:00 UTC
    (datetime(2026, 3, 28, 20, 30, tzinfo=UTC), "Europe/Berlin", datetime(2026, 3, 29, 7, 0)),
    # autumn: 2026-10-25 back to CET; 21:30 CEST on the 24th → 09:00 CET = 08:00 UTC
    (datetime(2026, 10, 24, 19, 30, tzinfo=UTC), "Europe/Berlin", datetime(2026, 10, 25, 8, 0)),
])
def test_next_sms_time(now, zone, expected):
    hours = ne.parse_sms_hours("09:00-21:00")
    assert ne.next_sms_time(now, zone, hours) == expected.replace(tzinfo=UTC)


@pytest.mark.parametrize("text,ok", [
    ("09:00-21:00", (time(9), time(21))), (" 8:30 - 20:00 ", (time(8, 30), time(20))),
    ("00:00-24:00", (time(0), time(23, 59, 59))),
    ("21:00-09:00", None), ("9-21", None), ("", None), ("25:00-26:00", None),
])
def test_parse_sms_hours(text, ok):
    if ok is None:
        with pytest.raises(ValueError):
            ne.parse_sms_hours(text)
    else:
        assert ne.parse_sms_hours(text) == ok


@pytest.mark.parametrize("attempts,after", [
    (1, timedelta(minutes=1)), (2, timedelta(minutes=5)), (3, timedelta(minutes=30)),
    (4, timedelta(hours=2)), (5, timedelta(hours=6)), (6, timedelta(hours=12)),
    (7, None), (8, None),
])
def test_backoff(attempts, after):
    now = datetime(2026, 11, 23, tzinfo=UTC)
    got = ne.next_attempt(now, attempts)
    assert (got - now if got else None) == after


def test_backoff_gives_up_after_about_a_day():
    assert timedelta(hours=20) < sum(ne.BACKOFF, timedelta()) < timedelta(hours=26)


@pytest.mark.parametrize("number,url", [
    ("RA123456789RU", "https://www.pochta.ru/tracking#RA123456789RU"),
    (" ra123456789ru ", "https://www.pochta.ru/tracking#RA123456789RU"),
    ("80085412345678", "https://www.pochta.ru/tracking#80085412345678"),
    ("CDEK-1", ""), (None, ""),
])
def test_tracking_url(number, url):
    assert ne.tracking_url(number) == url
