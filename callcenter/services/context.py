"""What every service call carries: who acts, from where, and the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from callcenter.domain.access import Role

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Actor:
    """The person (or system) doing something; written into the audit log."""

    user_id: int | None
    login: str | None
    role: Role | None
    ip: str | None = None
    name: str | None = None

    @classmethod
    def system(cls, what: str = "system") -> "Actor":
        return cls(user_id=None, login=what, role=Role.ADMIN, ip=None, name=what)
