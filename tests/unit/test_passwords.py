"""The password rule, as a table."""

import pytest

from callcenter.domain.passwords import password_problem


@pytest.mark.parametrize("login,password,problem", [
    ("anna", "long-enough-1", None),
    ("anna", "0123456789", None),                 # exactly ten
    ("anna", "012345678", "at least 10 characters"),
    ("anna", "", "at least 10 characters"),
    ("anna.sokolova", "anna.sokolova", "must not be the login"),
    ("anna.sokolova", "ANNA.Sokolova", "must not be the login"),
    ("anna.sokolova", " anna.sokolova ", "must not be the login"),
    ("anna", None, "must be text"),
    ("anna", 1234567890, "must be text"),
    ("anna", "x" * 1025, "at most 1024 characters"),
    (None, "long-enough-1", None),
])
def test_password_problem(login, password, problem):
    assert password_problem(login, password) == problem
