"""The outcomes operators press after a call, as admins configure them: list, add, edit,
deactivate.  The built-in ones (no_answer ... paid) may be relabelled, never removed nor given
another meaning, as the PBX's outcomes and the redial ladder rely on them."""

from __future__ import annotations

from typing import Any, Mapping

from sqlalchemy.exc import IntegrityError

from callcenter.domain.tasks import (
    BUILTIN_FIXED, OUTCOME_FLAGS, FieldErrors, OutcomeRule, check_meaning, validate_outcome,
)
from callcenter.errors import BadRequest, BuiltinOutcome, Conflict, NotFound, ValidationFailed
from callcenter.services.context import Actor, Clock
from callcenter.storage import audit
from callcenter.storage import outcomes as repo
from callcenter.storage.database import Database

PUBLIC_FIELDS = ("code", "label_ru", "label_en", *OUTCOME_FLAGS, "next_task_kind", "hotkey",
                 "position", "active", "builtin")


def outcome_json(row: Mapping[str, Any], language: str | None = None) -> dict[str, Any]:
    out = {name: row[name] for name in PUBLIC_FIELDS}
    out["label"] = row["label_en"] if language == "en" else row["label_ru"]
    return out


class OutcomeService:
    def __init__(self, db: Database, clock: Clock):
        self.db = db
        self.clock = clock

    async def list(self, actor: Actor, *, language: str | None = None) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            rows = await repo.list_outcomes(conn)
        return [outcome_json(r, language) for r in rows]

    async def rule(self, conn, code: Any) -> OutcomeRule:
        """The active outcome ``code`` read in ``conn``; ValidationFailed when there is none."""
        row = await repo.get_outcome(conn, code) \
            if isinstance(code, str) and 0 < len(code) <= 32 else None
        if row is None or not row["active"]:
            raise ValidationFailed.fields(
                {"outcome": f"{str(code)[:40]!r} is not an outcome (see GET /api/outcomes)"})
        return OutcomeRule.of(row)

    async def create(self, actor: Actor, data: Mapping[str, Any]) -> dict[str, Any]:
        try:
            values = validate_outcome(data, partial=False)
        except FieldErrors as exc:
            raise ValidationFailed.fields(exc.fields) from None
        now = self.clock()
        try:
            async with self.db.write() as conn:
                if await repo.get_outcome(conn, values["code"]) is not None:
                    raise Conflict(f"The outcome {values['code']} exists already",
                                   {"code": values["code"]})
                await repo.insert_outcome(conn, values, now)
                await audit.record(conn, at=now, action="outcome.create",
                                   user_id=actor.user_id, login=actor.login, ip=actor.ip,
                                   entity="outcome", entity_id=values["code"],
                                   details={k: v for k, v in values.items() if k != "code"})
                row = await repo.get_outcome(conn, values["code"])
        except IntegrityError:  # created at the same moment by another request
            raise Conflict(f"The outcome {values['code']} exists already",
                           {"code": values["code"]}) from None
        return outcome_json(row)

    async def update(self, actor: Actor, code: str, data: Mapping[str, Any]) -> dict[str, Any]:
        try:
            values = validate_outcome(data, partial=True)
        except FieldErrors as exc:
            raise ValidationFailed.fields(exc.fields) from None
        now = self.clock()
        async with self.db.write() as conn:
            old = await repo.get_outcome(conn, code)
            if old is None:
                raise NotFound.entity("outcome", code)
            if old["builtin"]:
                fixed = [k for k in BUILTIN_FIXED if k in values and values[k] != old[k]]
                if fixed:
                    raise BuiltinOutcome(
                        f"{code} is built in: it may be relabelled, not changed in "
                        f"{', '.join(fixed)}", {"fields": {k: "fixed" for k in fixed}})
            errors: dict[str, str] = {}
            check_meaning({k: values.get(k, old[k]) for k in OUTCOME_FLAGS}, errors)
            if errors:
                raise ValidationFailed.fields(errors)
            changed = {k: v for k, v in values.items() if old[k] != v}
            if changed:
                await repo.update_outcome(conn, code, changed, now)
                await audit.record(conn, at=now, action="outcome.update",
                                   user_id=actor.user_id, login=actor.login, ip=actor.ip,
                                   entity="outcome", entity_id=code, details={
                                       k: {"old": old[k], "new": v} for k, v in changed.items()})
            row = await repo.get_outcome(conn, code)
        return outcome_json(row)

    async def deactivate(self, actor: Actor, code: str) -> dict[str, Any]:
        if not isinstance(code, str) or len(code) > 32:
            raise BadRequest("Not an outcome code", {"param": "code"})
        now = self.clock()
        async with self.db.write() as conn:
            old = await repo.get_outcome(conn, code)
            if old is None:
                raise NotFound.entity("outcome", code)
            if old["builtin"]:
                raise BuiltinOutcome(f"{code} is built in: it may be relabelled, not removed",
                                     {"code": code})
            if old["active"]:
                await repo.update_outcome(conn, code, {"active": False}, now)
                await audit.record(conn, at=now, action="outcome.deactivate",
                                   user_id=actor.user_id, login=actor.login, ip=actor.ip,
                                   entity="outcome", entity_id=code)
            row = await repo.get_outcome(conn, code)
        return outcome_json(row)
