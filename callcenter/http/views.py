"""JSON views of stored rows that more than one endpoint returns."""

from __future__ import annotations

from typing import Any


def user_json(user: dict[str, Any] | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user["id"], "login": user["login"], "name": user["name"],
            "role": user["role"], "extension": user["extension"], "active": user["active"],
            "language": user["language"]}
