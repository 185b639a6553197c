"""Roles and what each may do. Pure: the HTTP layer asks, this module answers."""

from __future__ import annotations

from enum import Enum


class Role(str, Enum):
    OPERATOR = "operator"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


ALL_ROLES = frozenset(Role)
STAFF = frozenset({Role.SUPERVISOR, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})

# A route open to everybody, logged in or not (login, health, the static app).
PUBLIC = frozenset()


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ValueError(f"unknown role {value!r}; one of: {', '.join(r.value for r in Role)}") from None


def may_see_client(
    role: Role, user_id: int, assigned_operator_id: int | None, own_clients_only: bool
) -> bool:
    """Operators see every client unless the shop limits them to the clients assigned to them."""
    if role is not Role.OPERATOR or not own_clients_only:
        return True
    return assigned_operator_id == user_id
