"""The password rule, the same for the API and the command line."""

from __future__ import annotations

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024  # argon2 hashes anything, but a megabyte "password" is an attack


def password_problem(login: str | None, password: object) -> str | None:
    """Why ``password`` may not be used for ``login``, or None if it may."""
    if not isinstance(password, str):
        return "must be text"
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"at least {MIN_PASSWORD_LENGTH} characters"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"at most {MAX_PASSWORD_LENGTH} characters"
    if login is not None and password.strip().casefold() == login.strip().casefold():
        return "must not be the login"
    return None
