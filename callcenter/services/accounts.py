"""Accounts: users, passwords (argon2), login with lockout, sessions."""

from __future__ import annotations

import asyncio
import hashlib
import os
import hmac
import re
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Awaitable, Callable

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError

from callcenter.domain.access import Role, parse_role
from callcenter.domain.lockout import LockoutPolicy, claim_attempt, settle_attempt
from callcenter.domain.passwords import password_problem
from callcenter.errors import (
    Conflict,
    InvalidCredentials,
    LoginLocked,
    NotFound,
    ValidationFailed,
    WeakPassword,
)
from callcenter.services.context import Actor, Clock
from callcenter.storage import audit
from callcenter.storage import users as repo
from callcenter.storage.database import Database

LOGIN_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
EXTENSION_RE = re.compile(r"^[A-Za-z0-9]+/[A-Za-z0-9_.-]+$")
# Argon2 takes tens of milliseconds of CPU: a burst of logins is verified by this many threads,
# the rest wait their turn, and the event loop never runs a hash itself
PASSWORD_THREADS = max(1, min(4, (os.cpu_count() or 2)))
# a hash that always fails, so unknown logins cost the same time as wrong passwords
_DUMMY_HASH = PasswordHasher().hash(secrets.token_hex(16))


@dataclass(frozen=True)
class LoginResult:
    user: dict[str, Any]
    token: str
    csrf_token: str


class AccountService:
    def __init__(self, db: Database, clock: Clock, secret_key: str, session_days: int,
                 lockout: LockoutPolicy = LockoutPolicy()):
        self.db = db
        self.clock = clock
        self._key = secret_key.encode()
        self.session_lifetime = timedelta(days=session_days)
        self.lockout = lockout
        self.hasher = PasswordHasher()
        self._hashing = ThreadPoolExecutor(PASSWORD_THREADS, thread_name_prefix="argon2")
        # coroutines to run after a user changed here, called with the user's id (None when
        # not known): the softphone directory refreshes itself, the agents' cache follows
        self.on_change: list[Callable[[int | None], Awaitable[None]]] = []
        # coroutines to run when sessions end here, so what lives on them (websockets) ends too:
        # called with user_id= (every session of that user) or token_hash= (one session)
        self.on_sessions_ended: list[Callable[..., Awaitable[None]]] = []

        self.bus: Any = None  # a ClusterBus: the other server processes hear of both

    def attach_bus(self, bus: Any) -> None:
        """Tell the other server processes of sessions ended and users changed here, and run
        the hooks for theirs (a logout on one process closes the user's pages on all)."""
        self.bus = bus
        if bus is None or not bus.enabled:
            return

        async def sessions(payload: dict[str, Any]) -> None:
            user_id, token_hash = payload.get("u"), payload.get("t")
            if isinstance(user_id, int) or isinstance(token_hash, str):
                await self._run_session_hooks(
                    user_id=user_id if isinstance(user_id, int) else None,
                    token_hash=token_hash if isinstance(token_hash, str) else None)

        async def user(payload: dict[str, Any]) -> None:
            user_id = payload.get("u")
            await self._run_change_hooks(user_id if isinstance(user_id, int) else None)

        bus.on("sessions", sessions)
        bus.on("user", user)

    async def _sessions_ended(self, *, user_id: int | None = None,
                              token_hash: str | None = None) -> None:
        await self._run_session_hooks(user_id=user_id, token_hash=token_hash)
        if self.bus is not None:
            await self.bus.send("sessions", {"u": user_id, "t": token_hash})

    async def _run_session_hooks(self, *, user_id: int | None,
                                 token_hash: str | None) -> None:
        for hook in self.on_sessions_ended:
            await hook(user_id=user_id, token_hash=token_hash)

    def close(self) -> None:
        self._hashing.shutdown(wait=False, cancel_futures=True)

    async def _changed(self, user_id: int | None) -> None:
        await self._run_change_hooks(user_id)
        if self.bus is not None:
            await self.bus.send("user", {"u": user_id})

    async def _run_change_hooks(self, user_id: int | None) -> None:
        for hook in self.on_change:
            await hook(user_id)

    def token_hash(self, token: str) -> str:
        return hmac.new(self._key, token.encode(), hashlib.sha256).hexdigest()

    async def hash_password(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(self._hashing, self.hasher.hash,
                                                                password)

    async def _verify(self, stored_hash: str, password: str) -> bool:
        def check() -> bool:
            try:
                return self.hasher.verify(stored_hash, password)
            except (VerificationError, InvalidHashError):
                return False
        return await asyncio.get_running_loop().run_in_executor(self._hashing, check)

    # users

    def _check_user_fields(self, data: dict[str, Any], *, partial: bool,
                           current_login: str | None = None) -> dict[str, Any]:
        """The columns to write, or ValidationFailed naming every bad field (WeakPassword when
        the password is the only one)."""
        errors: dict[str, str] = {}
        login_for_password = data.get("login") if isinstance(data.get("login"), str) \
            else current_login
        values: dict[str, Any] = {}
        if "login" in data or not partial:
            login = data.get("login")
            if not isinstance(login, str) or not LOGIN_RE.match(login):
                errors["login"] = "1-64 letters, digits, _ . @ -"
            else:
                values["login"] = login
        if "name" in data or not partial:
            name = data.get("name")
            if name in (None, "") and not partial:  # only a missing name is the login
                name = data.get("login")
            if not isinstance(name, str) or not name.strip() or len(name) > 200:
                errors["name"] = "is required (up to 200 characters)"
            else:
                values["name"] = name.strip()
        if "role" in data or not partial:
            try:
                values["role"] = parse_role(str(data.get("role"))).value
            except ValueError as exc:
                errors["role"] = str(exc)
        if "extension" in data:
            ext = data["extension"]
            if ext in (None, ""):
                values["extension"] = None
            elif not isinstance(ext, str) or not EXTENSION_RE.match(ext.strip()):
                errors["extension"] = "a softphone endpoint such as PJSIP/101"
            else:
                values["extension"] = ext.strip()
        if "active" in data:
            if not isinstance(data["active"], bool):
                errors["active"] = "must be true or false"
            else:
                values["active"] = data["active"]
        if "autodial" in data:
            if not isinstance(data["autodial"], bool):
                errors["autodial"] = "must be true or false"
            else:
                values["autodial"] = data["autodial"]
        if "language" in data:
            if data["language"] not in ("ru", "en", "uk"):
                errors["language"] = "one of ru, en, uk"
            else:
                values["language"] = data["language"]
        if "password" in data or not partial:
            problem = password_problem(login_for_password, data.get("password"))
            if problem:
                errors["password"] = problem
        unknown = set(data) - {"login", "name", "role", "extension", "active", "language",
                               "autodial", "password"}
        for field in sorted(unknown):
            errors[field] = "unknown field"
        if set(errors) == {"password"}:
            raise WeakPassword(f"The password is too weak: {errors['password']}",
                               {"fields": errors})
        if errors:
            raise ValidationFailed.fields(errors)
        return values

    async def create_user(self, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
        values = self._check_user_fields(data, partial=False)
        values["password_hash"] = await self.hash_password(data["password"])
        values.setdefault("active", True)
        now = self.clock()
        try:
            async with self.db.write() as conn:
                user_id = await repo.insert_user(conn, values, now)
                await audit.record(conn, at=now, action="user.create", user_id=actor.user_id,
                                   login=actor.login, ip=actor.ip, entity="user",
                                   entity_id=user_id,
                                   details={k: v for k, v in values.items()
                                            if k != "password_hash"})
        except IntegrityError:
            raise Conflict("A user with this login or extension already exists",
                           {"login": values["login"], "extension": values.get("extension")})
        await self._changed(user_id)
        async with self.db.read() as conn:
            return await repo.get_user(conn, user_id)

    async def update_user(self, actor: Actor, user_id: int, data: dict[str, Any]) -> dict[str, Any]:
        """Change a user. A new password or a deactivation ends all their sessions; those and
        a new role close their open websockets (pages reconnect with what they may now see)."""
        async with self.db.read() as conn:
            before = await repo.get_user(conn, user_id)
        if before is None:
            raise NotFound.entity("user", user_id)
        values = self._check_user_fields(data, partial=True, current_login=before["login"])
        if "password" in data:
            values["password_hash"] = await self.hash_password(data["password"])
        now = self.clock()
        try:
            async with self.db.write() as conn:
                before = await repo.get_user(conn, user_id)
                if before is None:
                    raise NotFound.entity("user", user_id)
                await repo.update_user(conn, user_id, values, now)
                if "password_hash" in values or values.get("active") is False:
                    await repo.delete_sessions_of(conn, user_id)
                await audit.record(conn, at=now, action="user.update", user_id=actor.user_id,
                                   login=actor.login, ip=actor.ip, entity="user",
                                   entity_id=user_id,
                                   details={k: ("***" if k == "password_hash" else v)
                                            for k, v in values.items()})
        except IntegrityError:
            raise Conflict("A user with this login or extension already exists")
        if "password_hash" in values or values.get("active") is False \
                or values.get("role", before["role"]) != before["role"]:
            await self._sessions_ended(user_id=user_id)
        await self._changed(user_id)
        async with self.db.read() as conn:
            return await repo.get_user(conn, user_id)

    async def list_users(self) -> list[dict[str, Any]]:
        async with self.db.read() as conn:
            return await repo.list_users(conn)

    async def set_password(self, actor: Actor, login: str, password: str) -> None:
        async with self.db.read() as conn:
            user = await repo.get_user_with_hash(conn, login)
        if user is None:
            raise NotFound.entity("user", login)
        await self.update_user(actor, user["id"], {"password": password})

    # login and sessions

    async def login(self, login: str, password: str, ip: str) -> LoginResult:
        """Check a password and open a session, under the lockout: each attempt first claims a
        slot in its login+address guard (locked in the database, so the count holds across
        processes), and only a granted claim is verified; so after ``max_failures`` failures in
        the window nothing gets in, however the guesses are timed."""
        now = self.clock()
        async with self.db.write() as conn:
            guard = await repo.lock_guard(conn, login, ip, now)
            claim = claim_attempt(guard, now, self.lockout)
            if claim.granted or guard is None:
                await repo.save_guard(conn, login, ip, claim.guard)
            if not claim.granted:  # refused unchecked; the log still says who tried, from where
                await audit.record(conn, at=now, action="login.locked", user_id=None,
                                   login=login, ip=ip)
        if not claim.granted:
            raise self._locked(claim.locked_until, now)
        ok, user = False, None
        try:
            async with self.db.read() as conn:
                user = await repo.get_user_with_hash(conn, login)
            ok = await self._verify(user["password_hash"] if user else _DUMMY_HASH, password)
            ok = ok and user is not None and user["active"]
        finally:
            # settled even when the verification is cancelled (the browser went away): a claim
            # left in flight would count against the account until its window ends
            now = self.clock()
            async with self.db.write() as conn:
                guard = settle_attempt(await repo.lock_guard(conn, login, ip, now)
                                       or claim.guard, now, ok, self.lockout)
                await repo.save_guard(conn, login, ip, guard)
                await repo.record_login_attempt(conn, login, ip, now, ok)
                await audit.record(conn, at=now, action="login" if ok else "login.failed",
                                   user_id=user["id"] if ok else None, login=login, ip=ip)
                if ok:
                    token = secrets.token_urlsafe(32)
                    csrf = secrets.token_urlsafe(24)
                    await repo.insert_session(conn, {
                        "token_hash": self.token_hash(token), "user_id": user["id"],
                        "csrf_token": csrf, "ip": ip, "created_at": now,
                        "expires_at": now + self.session_lifetime,
                    })
        if not ok:
            if guard.locked_until is not None and guard.locked_until > now:
                raise self._locked(guard.locked_until, now)
            raise InvalidCredentials("Wrong login or password")
        user = {k: v for k, v in user.items() if k != "password_hash"}
        return LoginResult(user, token, csrf)

    @staticmethod
    def _locked(until, now) -> LoginLocked:
        minutes = max(1, round((until - now).total_seconds() / 60))
        return LoginLocked(
            f"Too many failed logins. The account is locked for this address for "
            f"{minutes} more minute(s), until {until.strftime('%H:%M')} UTC.",
            {"locked_until": until.isoformat()})

    async def session(self, token: str) -> dict[str, Any] | None:
        """The session with its user, or None if unknown, expired or the user is inactive."""
        async with self.db.read() as conn:
            row = await repo.get_session(conn, self.token_hash(token), self.clock())
        if row is None or not row["active"]:
            return None
        return row

    async def logout(self, actor: Actor, token: str) -> None:
        """End this session; its websockets close."""
        token_hash = self.token_hash(token)
        async with self.db.write() as conn:
            await repo.delete_session(conn, token_hash)
            await audit.record(conn, at=self.clock(), action="logout", user_id=actor.user_id,
                               login=actor.login, ip=actor.ip)
        await self._sessions_ended(token_hash=token_hash)

    async def logout_everywhere(self, actor: Actor) -> None:
        """End every session of the actor (this one too); all their websockets close."""
        async with self.db.write() as conn:
            await repo.delete_sessions_of(conn, actor.user_id)
            await audit.record(conn, at=self.clock(), action="logout.everywhere",
                               user_id=actor.user_id, login=actor.login, ip=actor.ip)
        await self._sessions_ended(user_id=actor.user_id)

    async def live_sessions(self, token_hashes: list[str]) -> dict[str, dict[str, Any]]:
        """Of these sessions (token hashes), the ones still valid, with user id and role; the
        rest were ended, expired, or their user deactivated, possibly by another process."""
        if not token_hashes:
            return {}
        async with self.db.read() as conn:
            return await repo.live_sessions(conn, token_hashes, self.clock())

    async def forget_stale_guards(self) -> int:
        """Delete lockout guards whose window and lock are over (they would start afresh)."""
        span = max(self.lockout.window, self.lockout.lock_for)
        async with self.db.write() as conn:
            return await repo.delete_stale_guards(conn, self.clock() - span)


def role_of(user: dict[str, Any]) -> Role:
    return Role(user["role"])
