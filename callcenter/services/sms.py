"""SMS gateways behind one small interface: ``await gateway.send(to, text, message_id)``.

``HttpJsonGateway`` posts ``{"to", "text", "sender", "id"}`` with ``Authorization: Bearer`` to
CALLCENTER_SMS_API_URL and reads ``{"id": ...}`` back (``id`` is our message's own key, so a
gateway can drop a repeat). ``SmsRuGateway`` speaks SMS.ru's ``/sms/send?api_id=…&json=1``.
Foreign errors become :class:`SmsError` (``permanent`` when trying again cannot help). SMPP is
not supported; reach an SMPP centre through an HTTP gateway.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp


class SmsError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


class SmsGateway(Protocol):
    # resending a message whose first try may have gone out is safe only if the gateway
    # drops repeats of the same id
    idempotent: bool

    async def send(self, to: str, text: str, message_id: str) -> str: ...


@dataclass
class HttpJsonGateway:
    url: str
    api_key: str
    sender: str
    session: aiohttp.ClientSession
    timeout_seconds: float = 10.0
    idempotent: bool = True

    async def send(self, to: str, text: str, message_id: str) -> str:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        body = {"to": to, "text": text, "sender": self.sender, "id": message_id}
        data = await _call(self.session.post(self.url, json=body, headers=headers,
                                             timeout=aiohttp.ClientTimeout(self.timeout_seconds)))
        return str(data.get("id") or message_id) if isinstance(data, dict) else message_id


@dataclass
class SmsRuGateway:
    url: str
    api_key: str
    sender: str
    session: aiohttp.ClientSession
    timeout_seconds: float = 10.0
    idempotent: bool = False

    async def send(self, to: str, text: str, message_id: str) -> str:
        params = {"api_id": self.api_key, "to": to.lstrip("+"), "msg": text, "json": "1"}
        if self.sender:
            params["from"] = self.sender
        data = await _call(self.session.post(self.url or "https://sms.ru/sms/send",
                                             data=params,
                                             timeout=aiohttp.ClientTimeout(self.timeout_seconds)))
        if not isinstance(data, dict) or data.get("status") != "OK":
            raise SmsError(f"sms.ru: {_text(data)}", permanent=False)
        one = next(iter((data.get("sms") or {}).values()), {})
        if one.get("status") != "OK":
            # a refused number or text will be refused again
            raise SmsError(f"sms.ru: {one.get('status_text') or _text(one)}", permanent=True)
        return str(one.get("sms_id") or message_id)


async def _call(request) -> Any:
    try:
        async with request as response:
            text = await response.text()
            if response.status >= 500 or response.status == 429:
                raise SmsError(f"gateway answered {response.status}: {text[:200]}")
            if response.status >= 400:
                raise SmsError(f"gateway refused ({response.status}): {text[:200]}",
                               permanent=response.status not in (401, 403, 408))
            try:
                return await response.json(content_type=None)
            except ValueError:
                return {}
    except SmsError:
        raise
    except asyncio.TimeoutError as exc:
        raise SmsError("gateway did not answer in time") from exc
    except aiohttp.ClientError as exc:
        raise SmsError(f"gateway unreachable: {type(exc).__name__}: {exc}") from exc


def _text(data: Any) -> str:
    if isinstance(data, dict):
        return str(data.get("status_text") or data.get("status") or data)[:200]
    return str(data)[:200]


def build_gateway(settings: Any, session: aiohttp.ClientSession) -> SmsGateway | None:
    provider = getattr(settings, "sms_provider", "")
    timeout = float(getattr(settings, "webhook_timeout_seconds", 10) or 10)
    if provider == "http" and settings.sms_api_url:
        return HttpJsonGateway(settings.sms_api_url, settings.sms_api_key, settings.sms_sender,
                               session, timeout)
    if provider == "smsru":
        return SmsRuGateway(settings.sms_api_url, settings.sms_api_key, settings.sms_sender,
                            session, timeout)
    return None
