"""Whose address a request is from behind a reverse proxy (the login lockout and the audit log
key on it): X-Forwarded-For is believed only as far as trusted proxies wrote it."""

from __future__ import annotations

import pytest

from callcenter.config import SettingsError, load_settings
from callcenter.http.middleware import forwarded_client

PROXIES = "127.0.0.1,10.0.0.0/8,::1"


@pytest.mark.parametrize(("peer", "headers", "trusted", "expected"), [
    # no proxy configured: the header is anyone's to write, so never read
    ("203.0.113.9", ["1.2.3.4"], "", "203.0.113.9"),
    # from the proxy: the address it appended
    ("127.0.0.1", ["203.0.113.5"], PROXIES, "203.0.113.5"),
    # a forged entry left of the proxy's is not chosen
    ("127.0.0.1", ["6.6.6.6, 203.0.113.5"], PROXIES, "203.0.113.5"),
    ("127.0.0.1", ["6.6.6.6", "203.0.113.5"], PROXIES, "203.0.113.5"),
    # two trusted hops: the first untrusted one from the right
    ("127.0.0.1", ["198.51.100.7, 10.1.2.3"], PROXIES, "198.51.100.7"),
    # straight to the server, past the proxy: the header is ignored
    ("198.51.100.1", ["1.2.3.4"], PROXIES, "198.51.100.1"),
    # garbage, empty, or only proxies in the chain: the proxy's own address
    ("127.0.0.1", ["junk"], PROXIES, "127.0.0.1"),
    ("127.0.0.1", ["1.2.3.4, junk"], PROXIES, "127.0.0.1"),
    ("127.0.0.1", [], PROXIES, "127.0.0.1"),
    ("127.0.0.1", ["10.0.0.5"], PROXIES, "127.0.0.1"),
    # IPv6, with and without brackets
    ("::1", ["2001:db8::7"], PROXIES, "2001:db8::7"),
    ("::1", ["[2001:db8::8]"], PROXIES, "2001:db8::8"),
    (None, ["1.2.3.4"], PROXIES, "unknown"),
])
def test_forwarded_client(peer, headers, trusted, expected):
    assert forwarded_client(peer, headers, trusted) == expected


def test_trusted_proxies_setting_is_checked():
    settings = load_settings(environ={"CALLCENTER_TRUSTED_PROXIES": " 127.0.0.1 , 10.0.0.0/8"})
    assert settings.trusted_proxies == "127.0.0.1,10.0.0.0/8"
    with pytest.raises(SettingsError, match="trusted_proxies.*nginx"):
        load_settings(environ={"CALLCENTER_TRUSTED_PROXIES": "127.0.0.1,nginx"})
