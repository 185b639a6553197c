"""The telephony runtime: AMI link -> call tracker -> call service -> operators' browsers.

It is the AMI client's listener. Events are fed to the pure tracker synchronously (cheap), and
the effects handed to the CallService, which does the I/O in the background; so the AMI
listener never waits for the database or a browser.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from callcenter.ami.client import AmiClient
from callcenter.ami.status import AmiState, AmiStatus
from callcenter.config import Settings
from callcenter.domain.call_records import TrackerConfig
from callcenter.domain.call_tracker import CallTracker
from callcenter.domain.click_to_call import OriginateParams
from callcenter.services.accounts import AccountService
from callcenter.services.calls import CallService, OperatorDirectory
from callcenter.services.cdr_reconcile import reconciler_from_settings
from callcenter.services.click_to_call import ClickToCallService
from callcenter.services.recordings import RecordingProbe
from callcenter.services.clients import ClientService
from callcenter.services.context import Actor, Clock
from callcenter.storage.database import Database

if TYPE_CHECKING:
    from callcenter.http.ws_hub import WebSocketHub

log = logging.getLogger("callcenter.telephony")
CARD_READER = Actor(user_id=None, login="screen-pop", role=None, name="screen-pop")


class Telephony:

    def __init__(self, settings: Settings, db: Database, clock: Clock, clients: ClientService,
                 accounts: AccountService, hub: "WebSocketHub"):
        self.settings = settings
        self.hub = hub
        self.directory = OperatorDirectory(db, check_seconds=settings.users_check_seconds)
        self.tracker = CallTracker(TrackerConfig(
            operator_endpoints=self.directory.is_operator,
            monitor_spool=settings.asterisk_monitor_dir,
            trunk_endpoints=frozenset(e.strip() for e in settings.trunk_endpoints.split(",")
                                      if e.strip()),
            operator_contexts=frozenset({settings.ami_context, *TrackerConfig.operator_contexts})))
        self._directory_watch: asyncio.Task | None = None
        self._unknown_sweep: asyncio.Task | None = None
        # whether the tracker's live calls are the PBX's: not while AMI is down or resyncing
        self._in_sync = not settings.ami_host
        self.calls = CallService(
            db, clock, self.directory, self.hub.publish,
            card=lambda client_id: clients.card(CARD_READER, client_id, lane="telephony"),
            summaries=self._summaries(db, clients), region=settings.default_region,
            own_clients_only=settings.operators_see_own_clients_only)
        self.calls.reaches = self.hub.reaches
        self.ami: AmiClient | None = None
        self.agents: Any = None  # services.agents.AgentService: follows every AMI event
        self.board: Any = None   # services.board.BoardService: follows AMI events and effects
        if settings.ami_host:
            self.ami = AmiClient(
                settings.ami_host, settings.ami_port, settings.ami_username,
                settings.ami_secret, listener=self, ping_interval=settings.ami_ping_interval,
                clock=clock, logger=logging.getLogger("callcenter.ami"))
        accounts.on_change.append(lambda _user_id: self.directory.refresh())
        self.click_to_call = ClickToCallService(db, self.originate,
                                                shop_cid=settings.shop_caller_id)
        # recordings with no audio (the header MixMonitor leaves) are not listed
        self.calls.log.recording_probe = RecordingProbe(settings.monitor_dir)
        self.calls.log.vanished_grace_seconds = settings.call_vanished_grace_seconds
        # calls that rang and ended while the CRM was down or off AMI, from Asterisk's CDR
        self.cdr = reconciler_from_settings(settings, db, clock,
                                            lambda call: self.calls.store(call),
                                            self.directory.is_operator, self._followed)

    @staticmethod
    def _summaries(db: Database, clients: ClientService):
        async def read(ids: list[int]) -> list[dict[str, Any]]:
            async with db.read() as conn:
                return await clients.summaries(conn, ids)
        return read

    # lifecycle

    @property
    def spool_path(self) -> Path:
        """Where this process spools at stop: a name of its own (several server processes may
        share the spool folder), while every spool in the folder is stored at start."""
        return Path(self.settings.spool_dir) / \
            f"unsaved-calls-{socket.gethostname()}-{os.getpid()}.jsonl"

    def spools(self) -> list[Path]:
        """The spools left in the folder (by this process's earlier runs, another process, or
        a version that named it ``unsaved-calls.jsonl``), oldest first."""
        folder = Path(self.settings.spool_dir)
        found = []
        try:
            for path in folder.glob("unsaved-calls*.jsonl"):
                try:
                    found.append((path.stat().st_mtime, path.name, path))
                except OSError:  # stored and removed by another process meanwhile
                    continue
        except OSError:
            return []
        return [path for *_, path in sorted(found)]

    async def start(self) -> None:
        await self.directory.refresh()
        # users added or changed by the CLI (another process) are noticed without a restart
        self._directory_watch = asyncio.get_running_loop().create_task(self.directory.watch())
        self.calls.start()
        # what a previous run could not store (its stop spooled it) is stored before anything
        for spool in self.spools():
            await self.calls.log.restore(spool)
        self._unknown_sweep = asyncio.get_running_loop().create_task(
            self._close_unknown_calls(), name="unknown-calls")
        self.cdr.request()
        if self.ami is not None:
            self.ami.start()
            log.info("AMI: connecting to %s:%s as %s", self.settings.ami_host,
                     self.settings.ami_port, self.settings.ami_username)
        else:
            log.info("AMI disabled (CALLCENTER_AMI_HOST is empty): no calls will be tracked")

    async def stop(self) -> None:
        if self._directory_watch is not None:
            self._directory_watch.cancel()
            await asyncio.gather(self._directory_watch, return_exceptions=True)
            self._directory_watch = None
        await self.cdr.close()
        if self.ami is not None:
            await self.ami.stop()
        if self._unknown_sweep is not None:
            self._unknown_sweep.cancel()
            await asyncio.gather(self._unknown_sweep, return_exceptions=True)
            self._unknown_sweep = None
        # every record not stored within the time allowed goes to the spool, none is dropped
        await self.calls.stop(self.settings.stop_store_seconds, self.spool_path)
        await self.hub.close_all()

    def status(self) -> dict[str, Any]:
        if self.ami is None:
            return {"status": "disabled", "last_error": None}
        data = self.ami.status.as_dict()
        data["status"] = data["state"]
        return data

    def live(self) -> list[dict[str, Any]]:
        return [self.calls.live_json(c) for c in self.tracker.live_calls()]

    async def pops_for(self, endpoint: str | None) -> list[dict[str, Any]]:
        """What a page of the operator at ``endpoint`` missed if it (re)connects now: a
        call.ringing for each call ringing their phone, a call.answered for each call they are
        in. Sent after "hello", so a call that rang while the page's link was down still pops."""
        user = self.directory.user(endpoint)
        if user is None:
            return []
        pops = await self.calls.ringing_pops(user, self.tracker.ringing_at(endpoint))
        # the lookups took a while: only the calls that still ring, and those it is in by now
        still = {call.key for call in self.tracker.ringing_at(endpoint)}
        talking = [self.calls.answered_message(call) for call in self.tracker.live_calls()
                   if call.answered_by == endpoint and call.ended_at is None]
        return [pop for pop in pops if pop["call_key"] in still] + talking

    async def originate(self, params: OriginateParams, *, context: str | None = None) -> str:
        """Send one Originate (never re-sent) into ``context`` (click-to-call's ami_context
        when None; a listen-in passes supervise_context); its ActionID.

        AMI errors become ServiceUnavailable, with what is known about the call's fate.
        """
        from callcenter.ami.errors import ActionFailed, ActionLost, AmiNotConnected
        from callcenter.errors import ServiceUnavailable

        if self.ami is None:
            raise ServiceUnavailable("No Asterisk is connected (CALLCENTER_AMI_HOST is not set)")
        # told before it is sent: its OriginateResponse may arrive in the same read as the reply
        action_id = self.ami.new_action_id("originate")
        self.tracker.originate_sent({
            "ActionID": action_id, "Channel": params.channel, "Exten": params.exten,
            "Context": context or self.settings.ami_context,
            "Variable": [f"{name}={value}" for name, value in (params.variables or {}).items()]},
            self.calls.clock())
        try:
            return await self.ami.originate(channel=params.channel,
                                            context=context or self.settings.ami_context,
                                            exten=params.exten, caller_id=params.caller_id,
                                            variables=params.variables, action_id=action_id)
        except AmiNotConnected as exc:
            raise ServiceUnavailable(f"Asterisk is not connected: {exc}") from None
        except ActionLost as exc:
            raise ServiceUnavailable(
                f"The link to Asterisk dropped before it answered; the call may or may not "
                f"have been placed and was not retried: {exc}") from None
        except ActionFailed as exc:
            raise ServiceUnavailable(f"Asterisk refused the call: {exc}") from None

    # the AMI listener

    def on_event(self, event: dict[str, str], at: datetime) -> None:
        effects = self.tracker.feed(event, at)
        if effects:
            self.calls.carry_out(effects)
        if self.agents is not None:
            self.agents.on_ami_event(event)
        if self.board is not None:
            self.board.on_ami_event(event, at)
            if effects:
                self.board.on_effects(effects)

    def on_resync_begin(self) -> None:
        self._in_sync = False
        self.tracker.begin_resync()
        if self.board is not None:
            self.board.on_resync_begin()

    def on_resync_end(self, at: datetime) -> None:
        self.calls.carry_out(self.tracker.end_resync(at))
        self._in_sync = True
        if self.agents is not None:
            self.agents.on_resync_end()
        if self.board is not None:
            self.board.on_resync_end()
        self.cdr.request()

    def _followed(self) -> set[str]:
        # the live record (recording, task, hangup cause) is better than the CDR's; not the
        # guessed end of a call that vanished during an AMI outage, which the CDR corrects
        return {*self.calls.log.followed_keys(), *(c.key for c in self.tracker.live_calls())}

    async def _close_unknown_calls(self) -> None:
        """Close as ``unknown`` the calls left in progress whose end never came (the CRM was
        killed or off AMI when they ended) and that no CDR completed: run now and then, only
        while the tracker knows what is live on the PBX, and after the CDR reconciliation
        (at start and after every reconnect) had its go, since it completes them properly."""
        older_than = timedelta(seconds=self.settings.call_unknown_after_seconds)
        every = min(max(older_than.total_seconds() / 4, 0.05), 300.0)
        while True:
            try:
                await self.close_unknown_calls(older_than)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("closing calls left in progress failed; trying again later")
            await asyncio.sleep(every)

    async def close_unknown_calls(self, older_than: timedelta) -> int:
        """One sweep (see ``_close_unknown_calls``); returns how many calls were closed."""
        if not self._in_sync:
            return 0
        await self.cdr.wait_idle()
        live = {c.key for c in self.tracker.live_calls()}
        return await self.calls.log.close_unknown(older_than, live.__contains__)

    def on_status(self, status: AmiStatus) -> None:
        if status.state != AmiState.CONNECTED:
            self._in_sync = False
        if self.board is not None:
            self.board.on_status(status)
        users = self.hub.connected_users()
        self.hub.publish(users, {"type": "ami.status", "ami": self.status()})
