"""``AmiClient``: the one place that talks to Asterisk's AMI (the I/O edge).

Why not ``panoramisk.Manager``: its reconnect loop has a fixed delay and no backoff, its pinger
never awaits the Ping reply (a silently dead link goes unnoticed), a refused Login only sets a
flag, and after every reconnect it re-sends unanswered actions (an ``Originate`` would ring a
customer twice). Disabling all that would leave nothing of it. So the client drives
panoramisk's protocol layer directly: :class:`~callcenter.ami.protocol.AmiProtocol` (a subclass
of panoramisk's ``AMIProtocol``) with panoramisk's ``Action`` objects and futures, over a plain
``loop.create_connection``.

Contract:

* ``start()`` connects and logs in, and keeps doing so forever with capped exponential backoff
  (jitter from the injected ``rng``); a refused Login gives state ``auth_failed`` and slower
  retries. ``stop()`` logs off, cancels and awaits every task and closes the socket.
* A Ping is sent every ``ping_interval`` seconds and its reply awaited for ``ping_interval``
  seconds: a dead link is noticed within two intervals and the link is rebuilt. A late reply
  while events kept arriving within the interval is not a dead link but a process behind the
  PBX's stream (a busy machine): the link is kept, and warned about, since dropping it would
  lose what is in flight and add a resync to the load.
* After every login: ``on_resync_begin()``, then ``CoreShowChannels`` and ``QueueStatus``; their
  events reach ``on_event`` like any other, then ``on_resync_end(at)`` right after the last
  ``...Complete`` event (or after a refusal/timeout of one of the lists, which is logged).
* All listener calls go through one queue and one task, in wire order; a listener that raises
  is logged and the stream goes on; a listener may be sync or async.
* Actions are written once. If the link drops (or no reply comes within ``action_timeout``)
  the caller gets :class:`ActionLost`; nothing is ever re-sent after a reconnect.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Any

from panoramisk.actions import Action
from panoramisk.message import Message

from .backoff import backoff_delay
from .errors import ActionFailed, ActionLost, AmiAuthFailed, AmiNotConnected
from .framing import DEFAULT_MAX_MESSAGE_BYTES
from .listener import AmiListener, ListenerCalls
from .protocol import AmiProtocol
from .status import AmiState, AmiStatus


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class _SessionEnd:
    reason: str
    logged_in: bool
    duration: float


class _Link:
    """The protocol's owner for one TCP session: routes events to the client, notes the loss."""

    def __init__(self, client: AmiClient) -> None:
        self.client = client
        self.lost: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def dispatch(self, message: Message) -> None:
        self.client.heard_at = time.monotonic()
        self.client._event_received(message.fields)

    def connection_lost(self, exc: BaseException | Message | None) -> None:
        if self.lost.done():
            return
        if isinstance(exc, Message):
            reason = "Asterisk is shutting down"
        elif exc is None:
            reason = "connection closed by Asterisk"
        else:
            reason = f"connection lost: {exc}"
        self.lost.set_result(reason)


class AmiClient:
    """Connects, logs in, stays healthy and reconnects; see the module docstring."""

    def __init__(
        self,
        host: str,
        port: int,
        username: str,
        secret: str,
        *,
        listener: AmiListener | object | None = None,
        ping_interval: float = 10.0,
        backoff_initial: float = 1.0,
        backoff_cap: float = 30.0,
        backoff_jitter: float = 0.3,
        auth_backoff_initial: float = 10.0,
        auth_backoff_cap: float = 300.0,
        connect_timeout: float = 10.0,
        action_timeout: float = 10.0,
        resync_timeout: float = 30.0,
        events: str = "on",
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        rng: random.Random | None = None,
        clock: Callable[[], datetime] = utc_now,
        logger: logging.Logger | None = None,
    ) -> None:
        self.host, self.port = host, port
        self._username, self._secret, self._events = username, secret, events
        self.ping_interval = ping_interval
        self._backoff = (backoff_initial, backoff_cap, backoff_jitter)
        self._auth_backoff = (auth_backoff_initial, auth_backoff_cap, backoff_jitter)
        self._connect_timeout = connect_timeout
        self._action_timeout = action_timeout
        self._resync_timeout = resync_timeout
        self._max_message_bytes = max_message_bytes
        self._rng = rng or random.Random()
        self._clock = clock
        self._log = logger or logging.getLogger(__name__)
        self._status = AmiStatus(AmiState.DOWN, clock())
        self._protocol: AmiProtocol | None = None
        self._runner: asyncio.Task[None] | None = None
        self._listener_calls = ListenerCalls(listener, self._log)
        self.heard_at = float("-inf")  # time.monotonic() of the last event received
        self._connected = asyncio.Event()
        self._stopping = False
        self._logged_in_once = False
        self._reconnects = 0
        self._attempts = 0
        self._resync_pending: set[str] = set()
        self._ids = itertools.count(1)
        self._id_prefix = f"crm-{uuid.uuid4().hex[:8]}"

    # -- public API ---------------------------------------------------------------------------

    @property
    def status(self) -> AmiStatus:
        return self._status

    @property
    def connected(self) -> bool:
        return self._status.state is AmiState.CONNECTED

    def start(self) -> None:
        """Begin connecting in the background (idempotent)."""
        if self._runner is not None:
            return
        self._stopping = False
        self._listener_calls.start()
        self._runner = asyncio.create_task(self._run_forever(), name="ami-link")

    async def stop(self) -> None:
        """Log off, cancel and await all tasks, close the socket; listener calls are drained."""
        if self._runner is None:
            return
        self._stopping = True
        protocol = self._protocol
        if protocol is not None and not protocol.closed and self.connected:
            try:
                await self._request(protocol, {"Action": "Logoff"}, timeout=1.0)
            except Exception:  # best effort: the socket is closed below anyway
                pass
        self._runner.cancel()
        await asyncio.gather(self._runner, return_exceptions=True)
        self._runner = None
        self._attempts = 0
        self._set_state(AmiState.DOWN, "stopped", "AMI client stopped")
        await self._listener_calls.stop()

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until logged in (raises ``TimeoutError`` after ``timeout`` seconds)."""
        await asyncio.wait_for(self._connected.wait(), timeout)

    async def originate(
        self,
        channel: str,
        context: str,
        exten: str,
        priority: int = 1,
        variables: Mapping[str, str] | None = None,
        caller_id: str | None = None,
        timeout_ms: int = 30000,
        action_id: str | None = None,
    ) -> str:
        """Queue an async Originate; return its ActionID once Asterisk accepted it.

        The outcome arrives later as an ``OriginateResponse`` event (same ActionID) through
        ``on_event``. Raises :class:`AmiNotConnected` (nothing sent), :class:`ActionFailed`
        (refused) or :class:`ActionLost` (sent, reply lost: never re-sent).
        """
        action_id = action_id or self.new_action_id("originate")
        fields: dict[str, Any] = {
            "Action": "Originate", "ActionID": action_id, "Channel": channel,
            "Context": context, "Exten": exten, "Priority": str(priority),
            "Timeout": str(timeout_ms), "Async": "true",
        }
        if caller_id:
            fields["CallerID"] = caller_id
        if variables:
            fields["Variable"] = [f"{name}={value}" for name, value in variables.items()]
        await self.send_action(fields)
        return action_id

    async def queue_pause(self, interface: str, paused: bool, reason: str | None = None,
                          queue: str | None = None) -> dict[str, str]:
        """Pause (``paused``) or unpause ``interface`` (``PJSIP/101``) in ``queue``, or in every
        queue it is a member of when ``queue`` is None; ``reason`` goes to Asterisk's
        ``PausedReason``. Raises like :meth:`send_action` (``ActionFailed`` when Asterisk
        refuses, e.g. the interface is no queue's member)."""
        fields: dict[str, Any] = {"Action": "QueuePause",
                                  "ActionID": self.new_action_id("queuepause"),
                                  "Interface": interface, "Paused": "true" if paused else "false"}
        if queue:
            fields["Queue"] = queue
        if reason:
            fields["Reason"] = reason
        return await self.send_action(fields)

    async def send_action(self, fields: Mapping[str, Any], timeout: float | None = None
                          ) -> dict[str, str]:
        """Send one single-reply action once; return the reply's fields.

        Values must not contain line breaks (they would inject AMI headers): ``ValueError``.
        """
        for key, value in fields.items():
            for item in (key, *(value if isinstance(value, (list, tuple)) else [value])):
                if "\r" in str(item) or "\n" in str(item):
                    raise ValueError(f"line break in AMI header {key!r}")
        protocol = self._protocol
        if protocol is None or protocol.closed or not self.connected:
            raise AmiNotConnected(f"AMI is {self._status.state.value}: "
                                  f"{fields.get('Action', 'action')} not sent")
        reply = await self._request(protocol, dict(fields), timeout=timeout or
                                    self._action_timeout)
        if not reply.success:
            raise ActionFailed(reply.fields.get("Message", "refused"),
                               action=str(fields.get("Action", "")),
                               action_id=reply.fields.get("ActionID", ""))
        return reply.fields

    def new_action_id(self, kind: str = "action") -> str:
        return f"{self._id_prefix}-{kind}-{next(self._ids)}"

    # -- the link -----------------------------------------------------------------------------

    async def _run_forever(self) -> None:
        attempt = auth_attempt = 0
        self._set_state(AmiState.CONNECTING, None,
                        f"AMI connecting to {self.host}:{self.port} as {self._username!r}")
        while not self._stopping:
            try:
                end = await self._session()
            except AmiAuthFailed as exc:
                delay = self._delay(self._auth_backoff, auth_attempt)
                auth_attempt += 1
                self._failed(AmiState.AUTH_FAILED, f"login refused: {exc}", delay,
                             f"AMI login refused by {self.host}:{self.port} for user "
                             f"{self._username!r}: {exc} - check the AMI username/secret "
                             f"(manager.conf)", level=logging.ERROR)
                await asyncio.sleep(delay)
                continue
            except Exception as exc:  # a bug must not end the link for good
                self._log.exception("AMI session failed unexpectedly")
                end = _SessionEnd(f"internal error: {exc!r}", False, 0.0)
            if self._stopping:
                return
            if end.logged_in:
                auth_attempt = 0
                if end.duration >= self._backoff[1]:
                    attempt = 0  # after a long healthy session the ladder starts over
            delay = self._delay(self._backoff, attempt)
            attempt += 1
            self._failed(AmiState.DOWN, end.reason, delay, f"AMI down: {end.reason}",
                         level=logging.WARNING)
            await asyncio.sleep(delay)

    def _failed(self, state: AmiState, error: str, delay: float, line: str, level: int) -> None:
        """A session ended or a connection attempt failed; a retry follows after ``delay``.

        Entering ``down``/``auth_failed`` is a state change (one log line at ``level``, an
        ``on_status``); a further failed retry in the same state only updates ``last_error``
        and ``attempts`` and logs at DEBUG, so a long outage does not flood the log.
        """
        self._attempts += 1
        line = f"{line}; retry {self._attempts} in {delay:.3g} s"
        if state is self._status.state:
            self._status = replace(self._status, last_error=error, attempts=self._attempts)
            self._log.debug(line)
        else:
            self._set_state(state, error, line, level)

    def _delay(self, params: tuple[float, float, float], attempt: int) -> float:
        initial, cap, jitter = params
        return backoff_delay(attempt, initial=initial, cap=cap, jitter=jitter,
                             rand=self._rng.random())

    async def _session(self) -> _SessionEnd:
        loop = asyncio.get_running_loop()
        link = _Link(self)
        started = loop.time()
        try:
            _, protocol = await asyncio.wait_for(loop.create_connection(
                lambda: AmiProtocol(link, dispatch_all_events=True, log=self._log,
                                    max_message_bytes=self._max_message_bytes),
                self.host, self.port), self._connect_timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            return _SessionEnd(f"connect to {self.host}:{self.port} failed: "
                               f"{exc or type(exc).__name__}", False, 0.0)
        tasks: list[asyncio.Task[Any]] = []
        logged_in = False
        reason = "stopped"
        try:
            try:
                reply = await self._request(protocol, {
                    "Action": "Login", "Username": self._username, "Secret": self._secret,
                    "Events": self._events}, timeout=self._connect_timeout)
            except ActionLost as exc:
                return _SessionEnd(f"login got no reply: {exc}", False, 0.0)
            if not reply.success:
                raise AmiAuthFailed(reply.fields.get("Message") or "Login refused")
            logged_in = True
            self._protocol = protocol
            if self._logged_in_once:
                self._reconnects += 1
            self._logged_in_once = True
            after = f" at retry {self._attempts}" if self._attempts else ""
            self._attempts = 0
            self._set_state(AmiState.CONNECTED, self._status.last_error,
                            f"AMI connected to {self.host}:{self.port} "
                            f"(Asterisk Call Manager {protocol.version or '?'}){after}")
            self._notify("on_connected")
            tasks = [asyncio.create_task(self._keep_alive(protocol)),
                     asyncio.create_task(self._resync(protocol))]
            waiting: set[asyncio.Future[Any]] = {link.lost, *tasks}
            while True:
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if link.lost in done:
                    reason = "stopped" if self._stopping else link.lost.result()
                    break
                task = done.pop()
                if task.exception() is not None:
                    reason = str(task.exception())
                    break
                waiting.discard(task)
            return _SessionEnd(reason, True, loop.time() - started)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._protocol = None
            self._resync_pending.clear()
            protocol.close()
            if logged_in:
                self._notify("on_disconnected", reason)

    async def _request(self, protocol: AmiProtocol, fields: dict[str, Any], *, timeout: float,
                       as_list: bool | None = False) -> Any:
        """Write one action; await its reply. ``ActionLost`` on timeout or link loss."""
        if protocol.closed:
            raise ActionLost(f"AMI link closed: {fields.get('Action')} not sent")
        action = Action(fields, as_list=as_list)
        future = protocol.send(action, as_list=as_list)
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            protocol.responses.pop(action.id, None)
            raise ActionLost(f"no reply to {action['Action']} within {timeout:g} s",
                             action=action["Action"], action_id=action.id) from None

    async def _keep_alive(self, protocol: AmiProtocol) -> None:
        while True:
            await asyncio.sleep(self.ping_interval)
            try:
                await self._request(protocol, {"Action": "Ping"}, timeout=self.ping_interval)
            except ActionLost as exc:
                if time.monotonic() - self.heard_at < self.ping_interval:
                    self._log.warning("AMI: no reply to Ping within %g s, but events keep "
                                      "arriving: this process is behind the PBX's stream; the "
                                      "link is kept", self.ping_interval)
                    continue
                raise ActionLost(f"link dead: {exc}") from None

    async def _resync(self, protocol: AmiProtocol) -> None:
        lists = [Action({"Action": name, "ActionID": self.new_action_id(name)})
                 for name in ("CoreShowChannels", "QueueStatus")]
        self._resync_pending = {action.id for action in lists}
        self._notify("on_resync_begin")
        for action in lists:
            protocol.send(action, as_list=None)  # None: multi-reply decided by "EventList"
        try:
            replies = await asyncio.wait_for(asyncio.gather(*(a.future for a in lists)),
                                             self._resync_timeout)
        except asyncio.TimeoutError:
            raise ActionLost(f"resync got no complete answer within "
                             f"{self._resync_timeout:g} s") from None
        for action, reply in zip(lists, replies):
            if not isinstance(reply, list):  # a single reply: no list will follow
                if not reply.success:
                    self._log.warning("AMI %s refused during resync: %s", action["Action"],
                                      reply.fields.get("Message", ""))
                self._list_completed(action.id)

    # -- delivery to the listener -------------------------------------------------------------

    def _event_received(self, fields: dict[str, str]) -> None:
        at = self._clock()
        self._notify("on_event", fields, at)
        if self._resync_pending and fields["Event"].endswith("Complete"):
            self._list_completed(fields.get("ActionID", ""))

    def _list_completed(self, action_id: str) -> None:
        if action_id in self._resync_pending:
            self._resync_pending.discard(action_id)
            if not self._resync_pending:
                self._notify("on_resync_end", self._clock())

    def _set_state(self, state: AmiState, error: str | None, line: str,
                   level: int = logging.INFO) -> None:
        self._status = AmiStatus(state, self._clock(), error, self._reconnects, self._attempts)
        if state is AmiState.CONNECTED:
            self._connected.set()
        else:
            self._connected.clear()
        self._log.log(level, line)
        self._notify("on_status", self._status)

    def _notify(self, name: str, *args: Any) -> None:
        self._listener_calls.call(name, *args)
