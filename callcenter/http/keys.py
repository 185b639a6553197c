"""Typed application keys for what create_app wires into the aiohttp application."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from callcenter.config import Settings
    from callcenter.services.accounts import AccountService
    from callcenter.services.clients import ClientService
    from callcenter.services.importer import ImportService
    from callcenter.services.orders import OrderService
    from callcenter.services.telephony import Telephony
    from callcenter.storage.database import Database


@dataclass
class Services:
    settings: "Settings"
    db: "Database"
    accounts: "AccountService"
    clients: "ClientService"
    orders: "OrderService"
    importer: "ImportService"
    ami_status: Any = None  # callable returning the AMI link status, set when AMI is wired
    agents: Any = None      # services.agents.AgentService
    tasks: Any = None       # services.tasks.TaskService
    outcomes: Any = None    # services.outcomes.OutcomeService
    planner: Any = None     # services.planner.PlannerService
    scheduler: Any = None   # services.scheduler.Scheduler
    recordings: Any = None  # services.recordings.RecordingService (pipeline, playback, retention)
    recording_access: Any = None  # services.recording_access.RecordingAccess (who hears what)
    board: Any = None       # services.board.BoardService (the supervisors' live board)
    supervise: Any = None   # services.supervise.SuperviseService (listen / whisper / barge)
    reports: Any = None     # services.reports.ReportService (reports, KPI plans, exports)
    audit: Any = None       # services.audit.AuditService (the audit log viewer)
    outbox: Any = None      # services.outbox.EventOutbox (events to webhooks, notifications)
    pipeline: Any = None    # services.pipeline.PipelineService (order stages, board, funnel)
    notifications: Any = None  # services.notifications.NotificationService (templates, queue)
    messages: Any = None    # services.message_sender.MessageSender (e-mail / SMS sending)
    mailings: Any = None    # services.mailings.MailingService (segments, mailings, carts)
    carts: Any = None       # mailings: services.carts.CartService (cart intake, reminders)
    unsubscribe: Any = None  # mailings: services.unsubscribe.UnsubscribeLinks
    documents: Any = None   # services.documents.DocumentService (PDF, requisites, XLSX)
    webhooks: Any = None    # services.webhooks.WebhookService (registrations, deliveries)
    backups: Any = None     # services.backup.BackupService (daily backup, status)
    bus: Any = None         # services.cluster.ClusterBus (notices between server processes)


SERVICES: web.AppKey[Services] = web.AppKey("services", Services)
OPENAPI: web.AppKey[dict] = web.AppKey("openapi", dict)
CALLS: web.AppKey["Telephony"] = web.AppKey("telephony")
