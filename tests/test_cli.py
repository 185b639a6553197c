"""The command line, run as a user would: a real process on a real SQLite file."""

import subprocess
import sys

import pytest


def run(db, *args, stdin=""):
    env = {"CALLCENTER_DB_URL": f"sqlite+aiosqlite:///{db}", "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "callcenter", *args], input=stdin,
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cli.sqlite3"
    result = run(path, "migrate")
    assert result.returncode == 0, result.stderr
    return path


def test_user_add_list_and_passwd(db):
    r = run(db, "user", "add", "anna", "--role", "operator", "--name", "Анна Соколова",
            "--extension", "PJSIP/101", stdin="pw-anna\n")
    assert r.returncode == 0, r.stderr
    assert "user anna added" in r.stdout
    r = run(db, "user", "list")
    assert "anna" in r.stdout and "PJSIP/101" in r.stdout and "Анна Соколова" in r.stdout
    r = run(db, "user", "passwd", "anna", stdin="new-pw\n")
    assert r.returncode == 0 and "password of anna changed" in r.stdout
    r = run(db, "user", "passwd", "nobody", stdin="x12\n")
    assert r.returncode == 1 and "does not exist" in r.stderr
    r = run(db, "user", "add", "bad login", "--role", "operator", stdin="pw1\n")
    assert r.returncode == 1 and "login" in r.stderr


def test_commands_refuse_an_unmigrated_database(tmp_path):
    r = run(tmp_path / "fresh.sqlite3", "user", "list")
    assert r.returncode == 1 and "callcenter migrate" in r.stderr


def test_bad_setting_is_a_clear_error(db):
    r = run(db, "--http-port", "eighty", "user", "list")
    assert r.returncode == 2 and "http_port" in r.stderr


def test_import_clients_dry_run_then_apply(db, tmp_path):
    csv = tmp_path / "leads.csv"
    csv.write_text("name,phone,email\nИван Петров,8 916 123-45-67,ivan@example.ru\n"
                   "Плохой,abc,\n", encoding="utf-8")
    r = run(db, "import", "clients", str(csv), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert '"created": 1' in r.stdout and '"dry_run": true' in r.stdout and "bad_phone" in r.stdout
    r = run(db, "import", "clients", str(csv))
    assert '"created": 1' in r.stdout
    r = run(db, "import", "clients", str(csv))
    assert '"merged": 1' in r.stdout and '"created": 0' in r.stdout
    broken = tmp_path / "broken.csv"
    broken.write_bytes(b"\x00\xff" * 50)
    r = run(db, "import", "clients", str(broken))
    assert r.returncode == 1 and "error:" in r.stderr
    r = run(db, "import", "clients", str(tmp_path / "missing.csv"))
    assert r.returncode == 1 and "cannot read" in r.stderr
