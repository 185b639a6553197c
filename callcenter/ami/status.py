"""The state of the AMI link, as shown by ``/api/health`` and the UI."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class AmiState(str, enum.Enum):
    """``connecting``: the first connection since ``start()`` is being made; ``connected``:
    logged in and healthy; ``down``: no link, retrying with backoff (or the client is stopped);
    ``auth_failed``: Asterisk refused the Login, retrying with a slower backoff. Retries do not
    change the state: it changes only when the link is made or a different failure comes."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    DOWN = "down"
    AUTH_FAILED = "auth_failed"


@dataclass(frozen=True)
class AmiStatus:
    """A snapshot; a new one is made on every state change.

    ``since``: when this state began. ``last_error``: why the link last went down or was
    refused (kept after a successful reconnect, for the admin). ``reconnects``: how many times
    the link was re-established (successful Logins after the first). ``attempts``: failures
    since the link was last up, the loss itself included (0 while connected).
    """

    state: AmiState
    since: datetime
    last_error: str | None = None
    reconnects: int = 0
    attempts: int = 0

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form for ``/api/health``."""
        return {
            "state": self.state.value,
            "since": self.since.isoformat(),
            "last_error": self.last_error,
            "reconnects": self.reconnects,
            "attempts": self.attempts,
        }
