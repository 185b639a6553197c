"""``AmiProtocol``: panoramisk's ``AMIProtocol`` with byte-safe framing and no action re-sends.

Differences from panoramisk 1.4's ``AMIProtocol`` (everything else — ``send()``, Actions and
their futures, ``Message`` objects, ``factory.dispatch`` — is panoramisk's own):

* **Decoding.** Stock ``data_received`` decodes each TCP read by itself with ``errors="ignore"``
  (and ASCII unless told otherwise), so a multi-byte letter split between reads is lost. Here
  bytes are buffered by :class:`~callcenter.ami.framing.AmiFramer` and each whole message is
  decoded once as UTF-8 (``errors="replace"``), then parsed by the pure
  :func:`~callcenter.ami.message_text.parse_message`. Messages are capped in size; junk never
  raises; text that is neither an Event nor a Response is logged and skipped.
* **Lost actions are failed, never queued.** Stock ``close()`` appends unanswered actions to
  ``factory.awaiting_actions`` and panoramisk's Manager re-sends them after the next login — an
  ``Originate`` could ring a customer twice. Here every unanswered action's future fails with
  :class:`~callcenter.ami.errors.ActionLost` and nothing is queued.
* **Optional in-order dispatch of list events** (``dispatch_all_events=True``): stock
  panoramisk hands events carrying the ActionID of a pending action (``CoreShowChannel``,
  ``QueueMember``...) only to that action's future. With the flag, every event is also passed to
  ``factory.dispatch`` in wire order, so a consumer sees one ordered stream.

The protocol is usable as ``panoramisk.Manager(protocol_factory=AmiProtocol)`` too.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import Any, Protocol
from urllib.parse import unquote

from panoramisk.ami_protocol import AMIProtocol
from panoramisk.message import Message

from .errors import ActionLost
from .framing import DEFAULT_MAX_MESSAGE_BYTES, AmiFramer
from .message_text import REPEAT_SEPARATOR, parse_message

_LOG_PREVIEW = 120


class ProtocolOwner(Protocol):
    """What the protocol calls back (panoramisk names this object the ``factory``)."""

    def dispatch(self, message: Message) -> Any: ...

    def connection_lost(self, exc: BaseException | Message | None) -> None: ...


def to_panoramisk_message(fields: dict[str, str]) -> Message:
    """A panoramisk ``Message`` equal to what ``Message.from_line`` builds for the same text.

    Repeated keys become lists (panoramisk's convention) and ``Result`` is URL-unquoted. The
    plain dict is kept on the message as ``message.fields`` (a test pins the equivalence). Not
    reproduced: the body of a legacy ``Response: Follows`` (colon-less lines are skipped;
    Asterisk 13+ sends command output as ``Output:`` headers instead).
    """
    headers: dict[str, Any] = fields
    if REPEAT_SEPARATOR in "".join(fields.values()):
        headers = {k: v.split(REPEAT_SEPARATOR) if REPEAT_SEPARATOR in v else v
                   for k, v in fields.items()}
    if "Result" in headers and isinstance(headers["Result"], str):
        headers = dict(headers, Result=unquote(headers["Result"]).strip())
    message = _new_message(headers)
    message.fields = fields
    return message


def _message_via_store(headers: dict[str, Any]) -> Message:
    # Message(headers) costs one Python-level __setitem__ per header; filling the
    # CaseInsensitiveDict store directly is twice as fast. Used only if the probe below
    # shows it builds exactly what Message() builds.
    message = Message.__new__(Message)
    store = {key.lower(): (key, value) for key, value in headers.items()}
    store.setdefault("content", ("content", ""))
    message._store = store
    message.manager = None
    return message


def _probe_fast_path() -> bool:
    sample = {"Event": "Probe", "ActionID": "x", "Variable": ["a=1", "b=2"]}
    try:
        fast, slow = _message_via_store(sample), Message(sample)
        return fast._store == slow._store and vars(fast) == vars(slow)
    except Exception:  # pragma: no cover - a future panoramisk changed its internals
        return False


_new_message = _message_via_store if _probe_fast_path() else Message


class AmiProtocol(AMIProtocol):
    """See the module docstring. ``factory`` may be given here or set later (as Manager does)."""

    encoding = "utf-8"
    #: messages handled in one turn of the event loop before other work gets its turn
    slice_messages = 64

    def __init__(
        self,
        factory: ProtocolOwner | None = None,
        *,
        dispatch_all_events: bool = False,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        log: logging.Logger | None = None,
    ) -> None:
        self.factory = factory
        self.dispatch_all_events = dispatch_all_events
        self.max_message_bytes = max_message_bytes
        self.log = log or logging.getLogger(__name__)
        self.messages_received = 0
        self.messages_skipped = 0
        self.closed = False
        self.responses: dict[str, Any] = {}
        self.framer = AmiFramer(max_message_bytes=max_message_bytes, log=self.log)
        self._backlog: collections.deque[str] = collections.deque()
        self._draining = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        factory, log = self.factory, self.log
        super().connection_made(transport)  # resets factory/log/responses, like panoramisk
        self.factory, self.log = factory, log
        self.framer = AmiFramer(max_message_bytes=self.max_message_bytes, log=log)

    def data_received(self, data: bytes) -> None:
        try:
            texts = self.framer.feed(data)
        except Exception:  # pragma: no cover - the framer is total; belt and braces
            self.log.exception("AMI framing failed; %d bytes discarded", len(data))
            self.framer.reset()
            return
        if self.version is None and self.framer.version is not None:
            self.version = self.framer.version
            self.log.debug("AMI protocol version: %r", self.version)
        self._backlog.extend(texts)
        if not self._draining:
            self._drain_backlog()

    def _drain_backlog(self) -> None:
        # A burst arrives as reads of hundreds of messages; handling them all in one go would
        # keep the event loop from the web API for as long. Handle a slice, then let the loop
        # breathe; while a backlog remains the socket is not read, so a PBX sending faster than
        # the CRM can follow is slowed by TCP instead of growing our memory.
        backlog = self._backlog
        for _ in range(min(len(backlog), self.slice_messages)):
            self.text_received(backlog.popleft())
        transport = self.transport
        if backlog and not self.closed:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # fed by hand, outside an event loop: handle it all now
                self._flush_backlog()
                return
            if not self._draining:
                self._draining = True
                if transport is not None and hasattr(transport, "pause_reading"):
                    transport.pause_reading()
            loop.call_soon(self._drain_backlog)
        elif self._draining:
            self._draining = False
            if transport is not None and not self.closed and hasattr(transport, "resume_reading"):
                transport.resume_reading()

    def _flush_backlog(self) -> None:
        while self._backlog:
            self.text_received(self._backlog.popleft())

    def text_received(self, text: str) -> None:
        """Handle the decoded text of one whole message (skipped if malformed)."""
        fields = parse_message(text)
        if fields is None or ("Event" not in fields and "Response" not in fields):
            self.messages_skipped += 1
            self.log.warning("AMI: skipped a message that is neither Event nor Response: %r",
                             text[:_LOG_PREVIEW])
            return
        self.messages_received += 1
        try:
            self.handle_message(to_panoramisk_message(fields))
        except Exception:
            self.log.exception("AMI: failed to handle message %r", text[:_LOG_PREVIEW])

    def handle_message(self, message: Message) -> None:
        if not self.dispatch_all_events:
            return super().handle_message(message)
        is_event = "Event" in message.fields
        if is_event and self.factory is not None:
            self.factory.dispatch(message)
        action = self.responses.get(message.id)
        if action is None and message.action_id:
            action = self.responses.get(message.action_id)
        if action is not None:
            if action.add_message(message):
                self.responses.pop(action.id, None)
                if action.action_id:
                    self.responses.pop(action.action_id, None)
        elif is_event and message.fields["Event"].lower() == "shutdown":
            self.connection_lost(message)

    def connection_lost(self, exc: BaseException | Message | None) -> None:
        """The peer went away (or sent ``Event: Shutdown``): fail pending actions, tell the owner.

        Like panoramisk, the owner is not told when the close was our own (``close()`` first).
        """
        if not self.closed:
            self._flush_backlog()  # what arrived before the end is handled, never dropped
            self.close()
            if self.factory is not None:
                self.factory.connection_lost(exc)

    def close(self) -> None:
        """Close the transport; fail (never queue) every action still waiting for its reply."""
        pending = {id(action): action for action in self.responses.values()}
        self.responses.clear()
        for action in pending.values():
            if not action.future.done():
                name = action.get("Action", "")
                action.future.set_exception(ActionLost(
                    f"AMI link closed before the reply to {name} {action.action_id}",
                    action=name, action_id=action.action_id or ""))
                action.future.exception()  # mark retrieved: an abandoned waiter is no error
        if not self.closed:
            try:
                if getattr(self, "transport", None) is not None:
                    self.transport.close()
            finally:
                self.closed = True
