"""The pure webhook rules, table by table: URLs, addresses, events, signatures, the schedule."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta, timezone

import pytest

from callcenter.domain.webhooks import (
    BACKOFF, MAX_ATTEMPTS, WebhookRuleError, address_refused, check_events, check_secret,
    check_url, delivery_outcome, mask_secret, next_attempt, sign, subscribed, verify_signature,
)

KNOWN = ("call.started", "call.ended", "client.created")


@pytest.mark.parametrize("url, allow_private, expected", [
    ("https://shop.example.com/hooks/crm", False, "https://shop.example.com/hooks/crm"),
    ("  http://shop.example.com:8080/x?a=1  ", False, "http://shop.example.com:8080/x?a=1"),
    ("http://127.0.0.1:9000/hook", True, "http://127.0.0.1:9000/hook"),
    ("http://[::1]:9000/hook", True, "http://[::1]:9000/hook"),
    ("https://пример.рф/hook", False, "https://пример.рф/hook"),
])
def test_good_urls(url, allow_private, expected):
    assert check_url(url, allow_private=allow_private) == expected


@pytest.mark.parametrize("url, fragment", [
    ("", "http"), (None, "http"), (42, "http"),
    ("ftp://shop.example.com/x", "only http"),
    ("javascript:alert(1)", "only http"),
    ("file:///etc/passwd", "only http"),
    ("https://user:pw@shop.example.com/", "no user name"),
    ("https://token@shop.example.com/", "no user name"),
    ("https:///nohost", "no host"),
    ("https://shop.example.com/" + "a" * 2000, "at most 2000"),
    ("https://shop.example.com/a b", "no spaces"),
    ("https://shop.example.com:99999/", "not a valid address"),
    ("http://127.0.0.1/hook", "private"),
    ("http://localhost:8080/", "private"),
    ("http://10.1.2.3/", "private"),
    ("http://192.168.0.10/", "private"),
    ("http://169.254.169.254/latest/meta-data/", "private"),
    ("http://[::1]/", "private"),
    ("http://[::ffff:127.0.0.1]/", "private"),
    ("http://0.0.0.0/", "private"),
    ("http://100.64.0.1/", "private"),
    ("http://metadata.google.internal/", "private"),
])
def test_bad_urls(url, fragment):
    with pytest.raises(WebhookRuleError) as caught:
        check_url(url, allow_private=False)
    assert caught.value.field == "url"
    assert fragment in caught.value.message


@pytest.mark.parametrize("address, refused", [
    ("127.0.0.1", True), ("10.0.0.1", True), ("172.16.5.4", True), ("192.168.1.1", True),
    ("169.254.169.254", True), ("::1", True), ("fe80::1%eth0", True), ("fc00::1", True),
    ("::ffff:10.0.0.1", True), ("0.0.0.0", True), ("224.0.0.1", True), ("100.64.1.1", True),
    ("93.184.216.34", False), ("8.8.8.8", False), ("2606:4700::1111", False),
])
def test_addresses(address, refused):
    assert address_refused(address) is refused


def test_a_name_is_not_an_address():
    with pytest.raises(ValueError):
        address_refused("shop.example.com")


@pytest.mark.parametrize("value, expected", [
    (["client.created", "call.started"], ["call.started", "client.created"]),
    (["call.ended", "call.ended"], ["call.ended"]),
    (["*"], ["*"]), (["call.ended", "*"], ["*"]),
])
def test_good_event_lists(value, expected):
    assert check_events(value, KNOWN) == expected


@pytest.mark.parametrize("value", [[], None, "call.ended", ["call.ended", 3], ["order.eaten"]])
def test_bad_event_lists(value):
    with pytest.raises(WebhookRuleError) as caught:
        check_events(value, KNOWN)
    assert caught.value.field == "events"


@pytest.mark.parametrize("events, event_type, expected", [
    (["*"], "call.ended", True), (["call.ended"], "call.ended", True),
    (["call.started"], "call.ended", False), ([], "call.ended", False),
])
def test_subscribed(events, event_type, expected):
    assert subscribed(events, event_type) is expected


@pytest.mark.parametrize("secret, good", [
    ("s" * 16, True), ("whsec_" + "ab" * 20, True), ("short", False), ("s" * 201, False),
    ("with space inside!!", False), ("секретсекретсекрет", False), (None, False),
])
def test_secrets(secret, good):
    if good:
        assert check_secret(secret) == secret
    else:
        with pytest.raises(WebhookRuleError):
            check_secret(secret)


def test_mask_secret_shows_only_the_end():
    assert mask_secret("whsec_0123456789abcdef") == "…cdef"
    assert mask_secret("short") == "…"


# known vectors, computed independently of sign(): HMAC-SHA256 over "<t>.<body>"
VECTORS = [
    (b'{"id":1,"type":"ping"}', "whsec_test_secret_123", 1700000000),
    ("{\"name\":\"Анна\"}".encode(), "another-secret-0000", 1),
    (b"", "s" * 16, 1999999999),
]


@pytest.mark.parametrize("body, secret, t", VECTORS)
def test_signature_known_vectors(body, secret, t):
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    assert sign(body, secret, t) == f"t={t},v1={expected}"


def test_signature_fixed_value():
    assert sign(b'{"id":1,"type":"ping"}', "whsec_test_secret_123", 1700000000) == (
        "t=1700000000,v1=" + hmac.new(b"whsec_test_secret_123",
                                      b'1700000000.{"id":1,"type":"ping"}',
                                      hashlib.sha256).hexdigest())


BODY, SECRET, T = b'{"id":7}', "whsec_verify_secret", 1_800_000_000
HEADER = sign(BODY, SECRET, T)


@pytest.mark.parametrize("header, body, secret, now, ok", [
    (HEADER, BODY, SECRET, T, True),
    (HEADER, BODY, SECRET, T + 300, True),
    (HEADER, BODY, SECRET, T - 300, True),
    (HEADER, BODY, SECRET, T + 301, False),          # too old: a replay
    (HEADER, b'{"id":8}', SECRET, T, False),          # body changed
    (HEADER, BODY, "whsec_other_secret!", T, False),  # wrong secret
    (HEADER.replace("t=", "t=1"), BODY, SECRET, T, False),
    ("v1=" + HEADER.split("v1=")[1], BODY, SECRET, T, False),  # no time
    (f"t={T}", BODY, SECRET, T, False),               # no signature
    (f"t={T},v1=deadbeef,{HEADER.split(',')[1]}", BODY, SECRET, T, True),  # rotated keys
    ("", BODY, SECRET, T, False), ("garbage", BODY, SECRET, T, False),
])
def test_verify_signature(header, body, secret, now, ok):
    assert verify_signature(header, body, secret, now) is ok


START = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("attempts, wait", [
    (1, timedelta(minutes=1)), (2, timedelta(minutes=5)), (3, timedelta(minutes=15)),
    (4, timedelta(hours=1)), (5, timedelta(hours=3)), (6, timedelta(hours=6)),
    (7, timedelta(hours=12)), (8, None), (0, None),
])
def test_backoff(attempts, wait):
    assert next_attempt(attempts, START) == (START + wait if wait else None)


def test_the_schedule_lasts_about_a_day():
    total = sum(BACKOFF, timedelta())
    assert timedelta(hours=20) < total <= timedelta(hours=24)
    assert MAX_ATTEMPTS == 8


@pytest.mark.parametrize("status, outcome", [
    (200, "delivered"), (204, "delivered"), (299, "delivered"), (301, "retry"),
    (404, "retry"), (500, "retry"), (None, "retry"),
])
def test_delivery_outcome(status, outcome):
    assert delivery_outcome(status) == outcome
