"""Errors a user can see: each has a name, a machine code, an HTTP status and one JSON shape.

    AppError
    ├── BadRequest            400 bad_request
    │   ├── UnreadableTime    400 unreadable_time
    │   └── SearchTooLong     400 search_too_long
    ├── NotAuthenticated      401 not_authenticated
    ├── InvalidCredentials    401 invalid_credentials
    ├── LoginLocked           429 login_locked
    ├── Forbidden             403 forbidden
    │   └── DownloadNotAllowed  403 download_not_allowed
    ├── CsrfFailed            403 csrf_failed
    ├── NotFound              404 not_found
    ├── Conflict              409 conflict
    │   ├── DuplicateClient   409 duplicate_client
    │   ├── DoNotCall         409 do_not_call
    │   ├── NotOnCall         409 not_on_call
    │   └── BuiltinOutcome    409 builtin_outcome
    ├── ValidationFailed      422 validation_failed
    │   ├── BadCsv            422 bad_csv
    │   ├── WeakPassword      422 weak_password
    │   └── NoExtension       422 no_extension
    ├── PayloadTooLarge       413 payload_too_large
    ├── UnsupportedMediaType  415 unsupported_media_type
    ├── ServiceUnavailable    503 service_unavailable
    └── DatabaseNotMigrated   (raised at start, not over HTTP)

The JSON shape is ``{"error": {"code": ..., "message": ..., "details": {...}}}``.
"""

from __future__ import annotations

from typing import Any

from callcenter.domain.field_codes import field_codes


class AppError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, details: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}

    def to_json(self) -> dict[str, Any]:
        details = self.details
        fields = details.get("fields")
        if isinstance(fields, dict) and fields and "field_codes" not in details:
            # each field message's machine code, for pages to say it in the user's language
            details = {**details, "field_codes": field_codes(fields)}
        return {"error": {"code": self.code, "message": self.message, "details": details}}


class BadRequest(AppError):
    status, code = 400, "bad_request"


class UnreadableTime(BadRequest):
    """A quick date/time entry that cannot be read; ``details.reason`` says why."""
    code = "unreadable_time"


class SearchTooLong(BadRequest):
    """A search with more words or characters than ``details.max_words`` / ``max_chars``."""
    code = "search_too_long"


class NotAuthenticated(AppError):
    status, code = 401, "not_authenticated"


class InvalidCredentials(AppError):
    status, code = 401, "invalid_credentials"


class LoginLocked(AppError):
    status, code = 429, "login_locked"


class Forbidden(AppError):
    status, code = 403, "forbidden"


class DownloadNotAllowed(Forbidden):
    """The recording may be heard, not downloaded (operators_download_recordings is off)."""
    code = "download_not_allowed"


class CsrfFailed(AppError):
    status, code = 403, "csrf_failed"


class NotFound(AppError):
    status, code = 404, "not_found"

    @classmethod
    def entity(cls, kind: str, ident: Any) -> "NotFound":
        return cls(f"{kind} {ident} does not exist", {"entity": kind, "id": ident})


class Conflict(AppError):
    status, code = 409, "conflict"


class DuplicateClient(Conflict):
    code = "duplicate_client"


class DoNotCall(Conflict):
    """The client asked not to be called: no call, task or schedule for them."""
    code = "do_not_call"


class NotOnCall(Conflict):
    """A listen-in asked for an operator who is on no call right now."""
    code = "not_on_call"


class BuiltinOutcome(Conflict):
    """A built-in outcome may be relabelled, not removed nor given another meaning."""
    code = "builtin_outcome"


class ValidationFailed(AppError):
    status, code = 422, "validation_failed"

    @classmethod
    def fields(cls, fields: dict[str, str], message: str | None = None) -> "ValidationFailed":
        text = message or "Some fields are invalid: " + ", ".join(
            f"{name}: {msg}" for name, msg in fields.items()
        )
        return cls(text, {"fields": fields})


class BadCsv(ValidationFailed):
    code = "bad_csv"


class WeakPassword(ValidationFailed):
    """A password shorter than the rule allows, or the login itself."""
    code = "weak_password"


class NoExtension(ValidationFailed):
    code = "no_extension"


class PayloadTooLarge(AppError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(AppError):
    status, code = 415, "unsupported_media_type"


class ServiceUnavailable(AppError):
    status, code = 503, "service_unavailable"


class DatabaseNotMigrated(AppError):
    code = "database_not_migrated"


# webhooks
class WebhookAddressRefused(ValidationFailed):
    """A webhook URL at a private, loopback or link-local address (allowed only with
    CALLCENTER_WEBHOOK_ALLOW_PRIVATE)."""
    code = "webhook_address_refused"


# documents
class BadImage(UnsupportedMediaType):
    """A logo, stamp or signature upload that is not a PNG or JPEG image (by its bytes)."""
    code = "bad_image"


class NoEmailAddress(ValidationFailed):
    """A document sent by e-mail to a client without an e-mail address, none given."""
    code = "no_email_address"


# backups
class BackupRunning(Conflict):
    """Back up now while a backup is already running."""
    code = "backup_running"


class BackupFailed(AppError):
    """A backup or restore that cannot be done (a corrupt file, a database in use...)."""
    status, code = 422, "backup_failed"
