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


def may_see_call(role: Role, user_id: int, endpoint: str | None, own_clients_only: bool, *,
                 client_owner: int | None, has_client: bool, answered_by_user_id: int | None,
                 placed_by: str | None) -> bool:
    """A limited operator sees the calls of their own clients, and the calls with no client
    that they answered or placed (``client_owner`` is the operator the call's client is
    assigned to). The SQL of the call log applies the same rule."""
    if role is not Role.OPERATOR or not own_clients_only:
        return True
    if has_client:
        return client_owner == user_id
    return answered_by_user_id == user_id or (endpoint is not None and placed_by == endpoint)


def client_for_pop(role: Role | None, user_id: int | None, own_clients_only: bool,
                   client: dict | None) -> dict | None:
    """The client as a screen pop shows it to this user: the whole card if they may see it,
    else only the name and whose client it is (the phone rang: they must know who calls)."""
    if client is None or role is None or may_see_client(
            role, user_id, (client.get("assigned_operator") or {}).get("id"), own_clients_only):
        return client
    return {"name": client.get("name"), "assigned_operator": client.get("assigned_operator"),
            "restricted": True}
