"""Outgoing webhooks, the pure part: which URLs and addresses may be called, which events may
be subscribed to, the signature of a delivery, and when a failed delivery is tried again.

The signature header is ``X-Callcenter-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>" keyed with the webhook's secret>``; :func:`verify_signature` is what a receiver
does with it (copy it: it needs only the standard library).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from datetime import datetime, timedelta
from typing import Any, Iterable
from urllib.parse import urlsplit

MAX_URL = 2000
MAX_DESCRIPTION = 300
MIN_SECRET, MAX_SECRET = 16, 200
SIGNATURE_HEADER = "X-Callcenter-Signature"
PING = "ping"
#: waits after the 1st, 2nd, ... failed attempt; after the last one the delivery is given up
#: (1 + 7 attempts over about 22.4 hours, the last one a day after the first)
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15),
           timedelta(hours=1), timedelta(hours=3), timedelta(hours=6), timedelta(hours=12))
MAX_ATTEMPTS = len(BACKOFF) + 1
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})


class WebhookRuleError(ValueError):
    """A URL, event list or secret that cannot be used; ``field`` names what is wrong."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def check_url(url: Any, *, allow_private: bool) -> str:
    """The URL, stripped, when a webhook may be registered at it: http or https, a host, no
    user or password in it, at most ``MAX_URL`` characters, and (unless ``allow_private``) not
    a literal private, loopback, link-local or metadata address. A host name is resolved, and
    its addresses checked, only at delivery time (see :func:`address_refused`)."""
    if not isinstance(url, str) or not url.strip():
        raise WebhookRuleError("url", "an http:// or https:// address")
    url = url.strip()
    if len(url) > MAX_URL:
        raise WebhookRuleError("url", f"at most {MAX_URL} characters")
    if any(ord(c) < 33 for c in url):
        raise WebhookRuleError("url", "no spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise WebhookRuleError("url", f"not a valid address: {exc}") from exc
    if parts.scheme not in ("http", "https"):
        raise WebhookRuleError("url", "only http:// and https:// addresses")
    if not parts.hostname:
        raise WebhookRuleError("url", "the address has no host")
    if parts.username is not None or parts.password is not None:
        raise WebhookRuleError("url", "no user name or password in the address: use the "
                                      "signature to authenticate")
    if port == 0:
        raise WebhookRuleError("url", "port 0 cannot be called")
    if not allow_private and host_refused(parts.hostname):
        raise WebhookRuleError("url", "a private, loopback or link-local address; set "
                                      "CALLCENTER_WEBHOOK_ALLOW_PRIVATE to allow it")
    return url


def host_refused(host: str) -> bool:
    """A host that is refused without looking it up: a private literal address, localhost or a
    cloud metadata name."""
    host = host.strip("[]").rstrip(".").lower()
    if host in METADATA_HOSTS or host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return address_refused(host)
    except ValueError:
        return False


def address_refused(address: str) -> bool:
    """True for an address a webhook may not reach unless private addresses are allowed:
    private, loopback, link-local (169.254.169.254, the metadata service, is one), unspecified,
    multicast, reserved, shared (100.64/10) and IPv4-mapped forms of those. Raises ValueError
    for text that is not an IP address."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_unspecified
            or ip.is_multicast or ip.is_reserved or not ip.is_global)


def check_events(value: Any, known: Iterable[str]) -> list[str]:
    """The subscribed event types, without repeats, in the order of ``known``; ``["*"]`` means
    every event."""
    known = list(known)
    if not isinstance(value, list) or not value or \
            not all(isinstance(v, str) for v in value):
        raise WebhookRuleError("events", "a non-empty list of event types")
    if "*" in value:
        return ["*"]
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise WebhookRuleError("events", f"unknown event type(s): {', '.join(unknown)}")
    return [e for e in known if e in value]


def check_secret(value: Any) -> str:
    if not isinstance(value, str) or not MIN_SECRET <= len(value) <= MAX_SECRET \
            or any(ord(c) < 33 or ord(c) > 126 for c in value):
        raise WebhookRuleError("secret", f"{MIN_SECRET} to {MAX_SECRET} printable ASCII "
                                         "characters, no spaces")
    return value


def subscribed(events: list[str], event_type: str) -> bool:
    return "*" in events or event_type in events


def mask_secret(secret: str) -> str:
    return "…" + secret[-4:] if len(secret) > 8 else "…"


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The value of the signature header for ``body`` sent at ``timestamp`` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify_signature(header: str, body: bytes, secret: str, now: int,
                     tolerance: int = 300) -> bool:
    """What a receiver checks: the header parses, its time is within ``tolerance`` seconds of
    ``now`` (unix seconds; a replayed old request fails) and one of its v1 values is the
    HMAC of ``"<t>.<body>"`` with the shared secret (compared in constant time)."""
    timestamp, candidates = None, []
    for item in (header or "").split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isdigit():
            timestamp = int(value)
        elif key == "v1":
            candidates.append(value)
    if timestamp is None or not candidates or abs(now - timestamp) > tolerance:
        return False
    expected = sign(body, secret, timestamp).split("v1=", 1)[1]
    return any(hmac.compare_digest(expected, c) for c in candidates)


def next_attempt(attempts: int, at: datetime) -> datetime | None:
    """When to try again after ``attempts`` failed attempts (the one just made included), or
    None: give up."""
    if attempts < 1 or attempts > len(BACKOFF):
        return None
    return at + BACKOFF[attempts - 1]


def delivery_outcome(status: int | None) -> str:
    """``delivered`` for a 2xx answer, else ``retry`` (other statuses, timeouts, refused
    connections, refused addresses are all tried again until the schedule ends)."""
    return "delivered" if status is not None and 200 <= status < 300 else "retry"
