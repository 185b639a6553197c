"""Demo only: a local mail catcher (aiosmtpd) and an SMS gateway sink on 127.0.0.1, so a
newcomer running ``callcenter demo`` sees customer messages go out (status "sent") without an
SMTP server or an SMS contract. Each message received is logged; nothing leaves the machine.
Started only when no SMTP host / SMS provider is configured."""

from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

log = logging.getLogger("callcenter.demo")


class _Catcher:
    async def handle_DATA(self, server, session, envelope):
        subject = ""
        for line in envelope.content.decode("utf-8", "replace").splitlines():
            if line.lower().startswith("subject:"):
                subject = line[8:].strip()
                break
        log.info("demo mail catcher: to %s, subject %s", ", ".join(envelope.rcpt_tos), subject)
        return "250 OK"


class _SmsSink(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server's name)
        length = min(int(self.headers.get("Content-Length") or 0), 64 * 1024)
        try:
            data = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            data = {}
        log.info("demo SMS sink: to %s: %s", data.get("to"), str(data.get("text"))[:160])
        body = json.dumps({"id": f"demo-{data.get('id', '')}"[:200]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_demo_sinks(settings: Any) -> tuple[Any, Callable[[], None]]:
    """The settings pointed at the sinks (only the parts not configured), and a stop."""
    stops: list[Callable[[], None]] = []
    changes: dict[str, Any] = {}
    if not settings.smtp_host:
        from aiosmtpd.controller import Controller

        controller = Controller(_Catcher(), hostname="127.0.0.1", port=_free_port())
        controller.start()
        stops.append(controller.stop)
        changes.update(smtp_host="127.0.0.1", smtp_port=controller.port, smtp_tls="none",
                       smtp_from=settings.smtp_from or "Demo shop <shop@demo.local>")
    if not settings.sms_provider:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _SmsSink)
        threading.Thread(target=server.serve_forever, name="demo-sms-sink", daemon=True).start()
        stops.append(server.shutdown)
        changes.update(sms_provider="http", sms_api_url=f"http://127.0.0.1:"
                                                        f"{server.server_address[1]}/send")

    def stop() -> None:
        for one in stops:
            try:
                one()
            except Exception:   # a demo sink failing to stop must not hide the real error
                log.debug("demo sink stop failed", exc_info=True)

    return (settings.replace(**changes) if changes else settings), stop
