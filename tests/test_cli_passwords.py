"""The password rule on the command line: `user add` and `user passwd` refuse what the API
refuses, naming the rule, and change nothing."""

import pytest

from tests.test_cli import run


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cli.sqlite3"
    result = run(path, "migrate")
    assert result.returncode == 0, result.stderr
    return path


@pytest.mark.parametrize("password,reason", [
    ("short-pw", "at least 10 characters"),
    ("anna.sokolova", "must not be the login"),
])
def test_user_add_and_passwd_refuse_weak_passwords(db, password, reason):
    r = run(db, "user", "add", "anna.sokolova", "--role", "operator", stdin=password + "\n")
    assert r.returncode == 1
    assert "password is too weak" in r.stderr and reason in r.stderr
    assert "anna.sokolova" not in run(db, "user", "list").stdout
    r = run(db, "user", "add", "anna.sokolova", "--role", "operator", stdin="long-enough-pw\n")
    assert r.returncode == 0, r.stderr
    r = run(db, "user", "passwd", "anna.sokolova", stdin=password + "\n")
    assert r.returncode == 1 and reason in r.stderr
    assert "changed" not in r.stdout
