"""create_app: the one place that builds the services and wires them into the web server."""

from __future__ import annotations

import logging
import secrets
from typing import AsyncIterator

from aiohttp import web

from callcenter.config import Settings
from callcenter.domain.calling_hours import parse_calling_hours
from callcenter.domain.tasks import parse_order as parse_task_order, rank_for
from callcenter.http import (
    api_agents, api_audit, api_auth, api_backups, api_board, api_calls, api_clients,
    api_documents, api_import, api_mailings, api_notifications, api_orders, api_outcomes,
    api_pipeline, api_planner, api_recordings, api_reports, api_supervise, api_tasks, api_users,
    api_webhooks, openapi,
)
from callcenter.http import static
from callcenter.http.keys import CALLS, OPENAPI, SERVICES, Services
from callcenter.http.middleware import auth_middleware, error_middleware, security_headers
from callcenter.http.routing import RouteSpec
from callcenter.http.ws_hub import WebSocketHub
from callcenter.http.ws_sessions import (
    check_sessions_once, close_on_sessions_ended, session_watch,
)
from callcenter.services.accounts import AccountService
from callcenter.services.agents import RECORDER_LOCK_KEY, AgentService, staff_pages
from callcenter.services.audit import AuditService
from callcenter.services.board import BoardService
from callcenter.services.clients import ClientService
from callcenter.services.cluster import ClusterBus, Leadership, relay_to_pages
from callcenter.services.context import Clock, utc_now
from callcenter.services.importer import ImportService
from callcenter.services.orders import OrderService
from callcenter.services.outbox import EventOutbox
from callcenter.services.planner import PlannerService
from callcenter.services.recording_pipeline import RecordingPipeline
from callcenter.services.reports import ReportService
from callcenter.services.recording_access import RecordingAccess
from callcenter.services.outcomes import OutcomeService
from callcenter.services.scheduler import LOCK_KEY as SCHEDULER_LOCK_KEY, Scheduler
from callcenter.services.tasks import TaskService
from callcenter.services.supervise import SuperviseService
from callcenter.services.telephony import Telephony
from callcenter.storage.database import Database

log = logging.getLogger("callcenter")

ROUTE_TABLES = (api_auth.routes, api_clients.routes, api_orders.routes, api_users.routes,
                api_import.routes, api_calls.routes, api_agents.routes, api_tasks.routes,
                api_outcomes.routes, api_planner.routes, api_recordings.routes, api_board.routes,
                api_supervise.routes, api_reports.routes, api_audit.routes, api_pipeline.routes,
                api_notifications.routes, api_mailings.routes, api_documents.routes,
                api_webhooks.routes, api_backups.routes, openapi.routes, static.routes)


def all_route_specs() -> list[RouteSpec]:
    return [spec for table in ROUTE_TABLES for spec in table.specs]


def build_services(settings: Settings, db: Database, clock: Clock) -> Services:
    # without a key a random one is used, so sessions end with the process (the server warns
    # about it; the admin commands need no key)
    secret_key = settings.secret_key or secrets.token_hex(32)
    accounts = AccountService(db, clock, secret_key, settings.session_days)
    clients = ClientService(db, clock, region=settings.default_region,
                            shop_timezone=settings.timezone,
                            own_clients_only=settings.operators_see_own_clients_only)
    orders = OrderService(db, clock, clients)
    importer = ImportService(db, clock, clients, region=settings.default_region,
                             shop_timezone=settings.timezone)
    services = Services(settings=settings, db=db, accounts=accounts, clients=clients,
                        orders=orders, importer=importer)
    services.planner = PlannerService(
        db, clock, clients, hours=parse_calling_hours(settings.calling_hours, settings.holidays),
        shop_timezone=settings.timezone)
    services.outcomes = OutcomeService(db, clock)
    services.tasks = TaskService(db, clock, settings, clients, services.outcomes,
                                 agents=lambda: services.agents)
    # --- playback wiring (build_services) ---
    services.recording_access = RecordingAccess(db, clock, settings,
                                                pipeline=lambda: services.recordings)
    services.clients.recordings_of = services.recording_access.for_card
    # --- reports wiring (build_services) ---
    services.reports = ReportService(
        db, clock, timezone=settings.timezone,
        hours=parse_calling_hours(settings.calling_hours, settings.holidays),
        service_level_seconds=settings.service_level_seconds)
    # --- audit wiring (build_services) ---
    services.audit = AuditService(db, clock, timezone=settings.timezone)
    # --- outbox wiring (build_services): the consumers below add themselves to it ---
    services.outbox = EventOutbox(db, clock)
    # --- pipeline wiring (build_services) ---
    from callcenter.services.pipeline import PipelineService
    services.pipeline = PipelineService(db, clock, clients, timezone=settings.timezone,
                                        parcel_check_days=settings.parcel_check_days)
    orders.pipeline = services.pipeline
    orders.events_recorded = services.outbox.wake
    # --- notifications wiring (build_services) ---
    from callcenter.services.message_sender import MessageSender
    from callcenter.services.notifications import NotificationService
    services.notifications = NotificationService(db, clock, settings, clients, secret_key)
    services.messages = MessageSender(db, clock, settings)
    services.notifications.messages_queued = services.messages.wake
    services.messages.periodic.append(services.notifications.queue_parcel_reminders)
    services.outbox.add_consumer("notifications", services.notifications.consume)
    # after the dispatcher's commit: a wake-up inside its transaction could find nothing yet
    services.outbox.after_dispatch.append(services.messages.wake)
    # --- mailings wiring (build_services) ---
    from callcenter.services.carts import CartService
    from callcenter.services.mailings import MailingService
    from callcenter.services.unsubscribe import UnsubscribeLinks

    services.unsubscribe = UnsubscribeLinks(
        db, clock, secret_key, getattr(settings, "public_url", "") or "http://127.0.0.1:8080")
    services.mailings = MailingService(db, clock, links=services.unsubscribe,
                                       timezone=settings.timezone,
                                       rate_per_minute=settings.mailing_rate_per_minute)
    services.carts = CartService(db, clock, orders,
                                 reminder_hours=settings.cart_reminder_hours)
    services.carts.rounds.append(services.mailings.finish_done)
    # --- documents wiring (build_services) ---
    from callcenter.services.documents import DocumentService
    services.documents = DocumentService(db, clock, services.clients, orders,
                                         documents_dir=settings.documents_dir,
                                         timezone=settings.timezone)
    # --- webhooks wiring (build_services) ---
    from callcenter.services.webhook_delivery import WebhookSender
    from callcenter.services.webhooks import WebhookService
    services.webhooks = WebhookService(db, clock,
                                       allow_private=settings.webhook_allow_private)
    services.webhooks.sender = WebhookSender(
        db, clock, workers=settings.webhook_workers,
        timeout_seconds=settings.webhook_timeout_seconds,
        allow_private=settings.webhook_allow_private)
    services.webhooks.wake = services.webhooks.sender.wake
    services.outbox.add_consumer("webhooks", services.webhooks.consume)
    services.outbox.after_dispatch.append(services.webhooks.sender.wake)
    services.clients.events_recorded = services.outbox.wake
    services.tasks.events_recorded = services.outbox.wake
    # --- backups wiring (build_services) ---
    from callcenter.services.backup import BackupService
    services.backups = BackupService(db, clock, url=settings.db_url,
                                     backup_dir=settings.backup_dir,
                                     keep_days=settings.backup_keep_days,
                                     backup_time=settings.backup_time,
                                     timezone=settings.timezone)
    return services


async def _close_accounts(services: Services) -> None:
    services.accounts.close()


def create_app(settings: Settings, *, clock: Clock = utc_now) -> web.Application:
    """The web application. The database must be migrated; start-up fails with a clear
    message otherwise."""
    app = web.Application(
        middlewares=[error_middleware, auth_middleware],
        client_max_size=settings.max_upload_mb * 1024 * 1024 + 64 * 1024,
    )
    db = Database(settings.db_url)
    services = build_services(settings, db, clock)
    telephony = Telephony(settings, db, clock, services.clients, services.accounts,
                          WebSocketHub())
    services.ami_status = telephony.status
    services.agents = telephony.agents = AgentService(
        db, clock, pause_reasons=settings.pause_reasons.split(","),
        wrap_up_seconds=settings.wrap_up_seconds, publish=telephony.hub.publish,
        staff_ids=staff_pages(telephony.hub), user_of_endpoint=telephony.directory.user,
        ami=telephony.ami)
    services.accounts.on_change.append(services.agents.user_changed)
    services.accounts.on_sessions_ended.append(close_on_sessions_ended(telephony.hub))
    # --- several processes on one PostgreSQL: what only one process sees, told to the others
    services.bus = ClusterBus(db)
    services.accounts.attach_bus(services.bus)
    services.agents.bus = services.bus
    services.agents.recorder = Leadership(db, RECORDER_LOCK_KEY, name="agent-state recorder")
    services.bus.on_reconnect.append(
        lambda: check_sessions_once(telephony.hub, services.accounts))
    everywhere = relay_to_pages(services.bus, telephony.hub, staff_pages(telephony.hub))
    if services.bus.enabled:
        telephony.calls.look_up_at_start = False  # where a supervisor watches, or at the ring
        telephony.calls.relay = lambda users, message, watchers=False: services.bus.send_soon(
            "push", {"users": list(users), "watchers": watchers, "m": message})

    def task_changed(task: dict, also: tuple = ()) -> None:
        """A task changed here: its owner's (now and before) and the staff's pages, on every
        process, read their lists again (the message names it; the pages read what they may
        see)."""
        everywhere({task.get("assigned_to"), task.get("claimed_by"), *also}, {
            "type": "tasks.changed", "task": {k: task.get(k) for k in (
                "id", "kind", "status", "assigned_to", "claimed_by", "client_id")}},
            staff=True)

    services.tasks.changed = task_changed
    task_order = parse_task_order(settings.next_task_order)
    # one process schedules; the others try for the lead every second (or every interval, when
    # shorter) and the one that takes it runs a round at once
    services.scheduler = Scheduler(
        db, clock, interval_seconds=settings.scheduler_interval_seconds,
        handover_minutes=settings.callback_handover_minutes, publish=telephony.hub.publish,
        leadership=Leadership(db, SCHEDULER_LOCK_KEY, name="scheduler",
                              poll_seconds=min(1.0, settings.scheduler_interval_seconds)),
        bus=services.bus, task_order=task_order)
    services.scheduler.tasks_changed = task_changed
    telephony.calls.log.missed_call_rank = rank_for("missed_call", 0, None, task_order)
    telephony.click_to_call.clock = clock
    services.orders.confirmation_rank = rank_for("order_confirmation", 0, None, task_order)
    # --- recordings wiring (create_app) ---
    services.recordings = RecordingPipeline(db, clock, settings)
    telephony.calls.log.recordings_queued = services.recordings.wake
    # --- board wiring (create_app) ---
    services.board = telephony.board = BoardService(
        db, clock, timezone_name=settings.timezone, region=settings.default_region,
        agents=services.agents,
        telephony=telephony, publish=telephony.hub.publish,
        staff_ids=staff_pages(telephony.hub))
    services.agents.on_change.append(services.board.on_agent_change)
    # --- supervise wiring (create_app) ---
    services.supervise = SuperviseService(db, clock, settings, telephony)
    # --- pipeline wiring (create_app) ---
    services.pipeline.followup_rank = rank_for("order_followup", 0, None, task_order)
    services.pipeline.placement = services.tasks.placement
    # --- notifications wiring (create_app) ---
    # --- mailings wiring (create_app) ---
    def wake_sender() -> None:  # the message sender, whichever order it was wired in
        wake = getattr(services.messages, "wake", None)
        if wake is not None:
            wake()

    services.mailings.on_queued.append(wake_sender)
    services.carts.on_queued.append(wake_sender)
    # --- documents wiring (create_app) ---
    services.documents.on_queued.append(
        lambda: getattr(services.messages, "wake", lambda: None)())
    # --- webhooks wiring (create_app) ---
    telephony.calls.log.events_recorded = services.outbox.wake
    # --- backups wiring (create_app) ---
    app[SERVICES] = services
    app[CALLS] = telephony
    app[OPENAPI] = openapi.build_openapi(all_route_specs())
    for table in ROUTE_TABLES:
        table.add_to(app)
    static.add_static(app)

    async def database(app: web.Application) -> AsyncIterator[None]:
        await db.check_migrated()
        await services.bus.start()
        await services.agents.start()  # states loaded before AMI's first events
        await services.agents.recorder.start()
        await telephony.start()
        yield
        await telephony.stop()
        await services.agents.recorder.stop()
        await services.agents.stop()
        await services.bus.stop()
        await db.dispose()

    async def scheduling(app: web.Application) -> AsyncIterator[None]:
        # the task service's parts, whichever order the services were wired in
        if services.tasks is not None:
            services.scheduler.placement = services.orders.placement = \
                services.tasks.placement
            telephony.calls.log.pbx_outcome = services.tasks.apply_pbx_outcome
            telephony.calls.log.placement = services.tasks.placement
        await services.scheduler.start()  # its leadership first, then its loop
        yield
        await services.scheduler.stop()  # its loop, then its leadership (the lock is free)

    async def close_websockets(app: web.Application) -> None:
        # before aiohttp waits for running handlers, or every open page delays the shutdown
        await telephony.hub.shutdown()

    app.cleanup_ctx.append(database)
    app.cleanup_ctx.append(scheduling)
    # --- recordings cleanup_ctx ---
    async def recording_pipeline(app: web.Application) -> AsyncIterator[None]:
        await services.recordings.start()
        yield
        await services.recordings.stop()

    app.cleanup_ctx.append(recording_pipeline)
    # --- board cleanup_ctx ---
    async def live_board(app: web.Application) -> AsyncIterator[None]:
        await services.board.start()
        yield
        await services.board.stop()

    app.cleanup_ctx.append(live_board)

    async def event_outbox(app: web.Application) -> AsyncIterator[None]:
        await services.outbox.start()
        yield
        await services.outbox.stop()

    app.cleanup_ctx.append(event_outbox)
    # --- pipeline cleanup_ctx ---
    # --- notifications cleanup_ctx ---
    async def message_sender(app: web.Application) -> AsyncIterator[None]:
        await services.messages.start()
        yield
        await services.messages.stop()

    app.cleanup_ctx.append(message_sender)
    # --- mailings cleanup_ctx ---
    async def abandoned_carts(app: web.Application) -> AsyncIterator[None]:
        await services.carts.start()
        yield
        await services.carts.stop()

    app.cleanup_ctx.append(abandoned_carts)
    # --- documents cleanup_ctx ---
    # --- webhooks cleanup_ctx ---
    async def webhook_sender(app: web.Application) -> AsyncIterator[None]:
        await services.webhooks.sender.start()
        yield
        await services.webhooks.sender.stop()

    app.cleanup_ctx.append(webhook_sender)
    # --- backups cleanup_ctx ---
    async def daily_backup(app: web.Application) -> AsyncIterator[None]:
        await services.backups.start()
        yield
        await services.backups.stop()

    app.cleanup_ctx.append(daily_backup)
    app.cleanup_ctx.append(session_watch(telephony.hub, services.accounts,
                                         settings.session_check_seconds))
    app.on_shutdown.append(close_websockets)
    app.on_response_prepare.append(security_headers)
    app.on_cleanup.append(lambda app: _close_accounts(services))
    app.on_cleanup.append(lambda app: services.tasks.close())
    return app
