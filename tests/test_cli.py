"""The command line, run as a user would: real processes on real SQLite files and real ports."""

import http.cookiejar
import json
import os
import re
import shlex
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CALLCENTER = Path(sys.executable).with_name("callcenter")  # the installed entry point
LISTENING = re.compile(r"callcenter listening on http://(?P<host>[\d.]+):(?P<port>\d+)/")
SIM_LISTENING = re.compile(r"AMI simulator listening on (?P<host>[\d.]+):(?P<port>\d+)")
NO_KEY_WARNING = "CALLCENTER_SECRET_KEY is not set"


def base_env(tmp: Path, db: Path | None = None, **extra) -> dict:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp), "CALLCENTER_SPOOL_DIR": str(tmp / "spool"),
           "CALLCENTER_RECORDINGS_DIR": str(tmp / "recordings"),
           "CALLCENTER_MONITOR_DIR": str(tmp / "monitor")}
    if "PYTHONPATH" in os.environ:  # a checkout run without installing it
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    if db is not None:
        env["CALLCENTER_DB_URL"] = f"sqlite+aiosqlite:///{db}"
    env.update(extra)
    return env


def run(db, *args, stdin="", env=None):
    env = env or base_env(Path(db).parent, Path(db))
    return subprocess.run([str(CALLCENTER), *args], input=stdin, capture_output=True, text=True,
                          env=env, cwd=Path(db).parent, timeout=120)


class Running:
    """A command running in the background; its merged output is collected line by line."""

    def __init__(self, argv, env, cwd, pass_fds=()):
        self.proc = subprocess.Popen([str(a) for a in argv], env=env, cwd=cwd,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, pass_fds=pass_fds)
        self.lines: list[str] = []
        self.ended = False
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self.ended = True
            self._changed.notify_all()

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, pattern: re.Pattern, timeout: float = 60) -> re.Match:
        """The first output line matching ``pattern``; fails when the output ends without it
        or the deadline passes."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self.lines:
                    if m := pattern.search(line):
                        return m
                left = deadline - time.monotonic()
                if self.ended or left <= 0:
                    raise AssertionError(f"{pattern.pattern!r} never appeared:\n{self.output}")
                self._changed.wait(left)

    def stop(self) -> int:
        """SIGTERM, as a service manager stops it; the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            with self._changed:
                self._changed.wait_for(lambda: self.ended, 10)


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "cli.sqlite3"
    result = run(path, "migrate")
    assert result.returncode == 0, result.stderr
    return path


def test_user_add_list_and_passwd(db):
    r = run(db, "user", "add", "anna", "--role", "operator", "--name", "Анна Соколова",
            "--extension", "PJSIP/101", stdin="pw-anna-long\n")
    assert r.returncode == 0, r.stderr
    assert "user anna added" in r.stdout
    r = run(db, "user", "list")
    assert "anna" in r.stdout and "PJSIP/101" in r.stdout and "Анна Соколова" in r.stdout
    r = run(db, "user", "passwd", "anna", stdin="new-pw-anna-long\n")
    assert r.returncode == 0 and "password of anna changed" in r.stdout
    r = run(db, "user", "passwd", "nobody", stdin="x12-long-enough\n")
    assert r.returncode == 1 and "does not exist" in r.stderr
    r = run(db, "user", "add", "bad login", "--role", "operator", stdin="pw1-long-enough\n")
    assert r.returncode == 1 and "login" in r.stderr


def test_commands_refuse_an_unmigrated_database(tmp_path):
    r = run(tmp_path / "fresh.sqlite3", "user", "list")
    assert r.returncode == 1 and "callcenter migrate" in r.stderr


def test_bad_setting_is_a_clear_error(db):
    r = run(db, "--http-port", "eighty", "user", "list")
    assert r.returncode == 2 and "http_port" in r.stderr
    r = run(db, "serve", "--http-port", "eighty")
    assert r.returncode == 2 and "http_port" in r.stderr and "Traceback" not in r.stderr


def test_settings_are_accepted_after_the_subcommand(tmp_path, db):
    other = tmp_path / "other.sqlite3"
    env = base_env(tmp_path)  # no database in the environment: only the flags name it
    r = run(db, "migrate", "--db-url", f"sqlite+aiosqlite:///{other}", env=env)
    assert r.returncode == 0, r.stderr
    assert other.exists()
    r = run(db, "user", "add", "boris", "--role", "admin", "--db-url",
            f"sqlite+aiosqlite:///{other}", stdin="boris-password\n", env=env)
    assert r.returncode == 0, r.stderr
    # the flag after the subcommand wins over the one before it and over the environment
    r = run(db, "--db-url", f"sqlite+aiosqlite:///{db}", "user", "list", "--db-url",
            f"sqlite+aiosqlite:///{other}", env=base_env(tmp_path, db))
    assert r.returncode == 0 and "boris" in r.stdout, r.stderr


def test_serve_help_lists_the_settings():
    r = subprocess.run([str(CALLCENTER), "serve", "--help"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0
    for flag in ("--http-port", "--db-url", "--secret-key", "--ami-host", "--config"):
        assert flag in r.stdout
    assert "CALLCENTER_" in r.stdout


def test_serve_on_the_port_given_after_the_subcommand(tmp_path, db):
    server = Running([CALLCENTER, "serve", "--http-port", "0", "--secret-key", "k" * 32],
                     base_env(tmp_path, db), tmp_path)
    try:
        m = server.wait_for(LISTENING)
        with urllib.request.urlopen(f"http://127.0.0.1:{m['port']}/api/health", timeout=10) as r:
            assert r.status == 200
    finally:
        assert server.stop() == 0, server.output
    assert NO_KEY_WARNING not in server.output


@pytest.mark.parametrize("command", [["serve"], ["demo", "--clients", "5"]])
def test_a_busy_port_is_one_clear_line(tmp_path, command):
    db = tmp_path / "busy.sqlite3"
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        if command == ["serve"]:
            assert run(db, "migrate").returncode == 0
        r = run(db, *command, "--http-port", str(port), "--secret-key", "k" * 32)
    assert r.returncode == 1
    assert r.stdout == ""  # no "Open …" banner for a server that is not there
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("error: cannot listen on 127.0.0.1:") and str(port) in lines[0]
    assert "already in use" in lines[0] and "--http-port" in lines[0]


def test_the_secret_key_warning_only_where_it_matters(tmp_path, db):
    for args in (["migrate"], ["user", "list"], ["user", "add", "zoe", "--role", "operator"]):
        r = run(db, *args, stdin="zoe-password-1\n")
        assert r.returncode == 0, r.stderr
        assert NO_KEY_WARNING not in r.stderr + r.stdout, args
    csv = tmp_path / "one.csv"
    csv.write_text("name,phone\nИван,89161234567\n", encoding="utf-8")
    r = run(db, "import", "clients", str(csv))
    assert r.returncode == 0 and NO_KEY_WARNING not in r.stderr + r.stdout
    server = Running([CALLCENTER, "serve", "--http-port", "0"], base_env(tmp_path, db), tmp_path)
    try:
        server.wait_for(LISTENING)
    finally:
        server.stop()
    assert NO_KEY_WARNING in server.output


def _login(base: str, login: str, password: str) -> http.cookiejar.CookieJar:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    req = urllib.request.Request(f"{base}/api/login", method="POST",
                                 data=json.dumps({"login": login, "password": password}).encode(),
                                 headers={"Content-Type": "application/json"})
    with opener.open(req, timeout=20) as r:
        assert r.status == 200
    return jar


def _me(base: str, jar: http.cookiejar.CookieJar) -> int:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    try:
        with opener.open(f"{base}/api/me", timeout=20) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_demo_sessions_survive_a_restart(tmp_path):
    data = tmp_path / "var"
    env = base_env(tmp_path, data / "callcenter.sqlite3")
    argv = [CALLCENTER, "demo", "--clients", "20", "--http-port", "0"]
    first = Running(argv, env, tmp_path)
    try:
        m = first.wait_for(LISTENING)
        first.wait_for(re.compile(r"=== callcenter demo ==="))
        jar = _login(f"http://127.0.0.1:{m['port']}", "101", "demo-pass-101")
    finally:
        assert first.stop() == 0, first.output
    assert NO_KEY_WARNING not in first.output
    key_file = data / "secret-key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text()
    second = Running(argv, env, tmp_path)
    try:
        m = second.wait_for(LISTENING)
        assert _me(f"http://127.0.0.1:{m['port']}", jar) == 200
    finally:
        assert second.stop() == 0, second.output
    assert key_file.read_text() == key
    assert NO_KEY_WARNING not in second.output


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


# -- every command line the README shows -----------------------------------------------------------

def readme_sh_commands() -> list[tuple[dict, list[str], str]]:
    """(environment assignments, argv, stdin) of each ``callcenter`` command in README.md's
    ```sh blocks, in order; continuation lines joined, ``&&`` chains split, comments dropped."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            for part in line.split("&&"):
                if "callcenter " not in part.split("#")[0]:
                    continue  # other tools' lines (apt-get, curl with multi-line data…)
                words = shlex.split(part, comments=True)
                stdin = ""
                if "|" in words:
                    cut = words.index("|")
                    if words[0] == "printf":
                        stdin = words[1].replace("%s", words[2]).replace("\\n", "\n")
                    words = words[cut + 1:]
                env = {}
                while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
                    name, _, value = words.pop(0).partition("=")
                    env[name] = value
                if words and words[0] in ("callcenter", ".venv/bin/callcenter"):
                    commands.append((env, words[1:], stdin))
    return commands


def readme_table_commands() -> list[tuple[list[str], list[str]]]:
    """(subcommand words, flags named) of each row of README.md's commands table."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    rows = []
    for cell in re.findall(r"^\| `callcenter ([^`]*)` \|", text, re.M):
        words = cell.replace("\\|", "|").split()
        sub = []
        for w in words:
            if not re.fullmatch(r"[a-z][a-z-]*", w):
                break
            sub.append(w)
        rows.append((sub, re.findall(r"--[a-z][a-z-]*", cell)))
    return rows


def test_the_readme_shows_commands_to_check():
    subcommands = {tuple(argv[:1]) for _, argv, _ in readme_sh_commands()}
    assert {("migrate",), ("user",), ("serve",), ("ami-sim",)} <= subcommands
    assert len(readme_table_commands()) >= 8


@pytest.mark.parametrize("sub, flags", readme_table_commands(),
                         ids=lambda v: " ".join(v) if isinstance(v, list) else None)
def test_every_command_in_the_readme_table_exists(sub, flags):
    r = subprocess.run([str(CALLCENTER), *sub, "--help"], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"usage: callcenter {' '.join(sub)}".rstrip())
    for flag in flags:
        assert flag in r.stdout, (sub, flag)


def test_every_readme_command_line_runs(tmp_path):
    """Each command of the README's shell blocks, run for real in order on one fresh SQLite
    file; servers and the simulator until they listen (on ports the OS picks), then stopped."""
    db = tmp_path / "readme.sqlite3"
    ran = []
    for readme_env, argv, stdin in readme_sh_commands():
        # the README's own values, except where it points at a database or a port of its own
        env = base_env(tmp_path, db, CALLCENTER_SECRET_KEY="k" * 32, CALLCENTER_HTTP_PORT="0")
        env.update({k: v for k, v in readme_env.items() if k != "CALLCENTER_DB_URL"})
        argv = [str(REPO / a) if "/" in a and (REPO / a).exists() else a for a in argv]
        if "--port" in argv:
            argv[argv.index("--port") + 1] = "0"
        if argv[0] in ("serve", "demo", "ami-sim"):
            running = Running([CALLCENTER, *argv], env, tmp_path)
            try:
                running.wait_for(SIM_LISTENING if argv[0] == "ami-sim" else LISTENING)
            finally:
                code = running.stop()
            assert code == 0, (argv, running.output)
            assert "Traceback" not in running.output, running.output
        else:
            r = subprocess.run([str(CALLCENTER), *argv], input=stdin, capture_output=True,
                               text=True, env=env, cwd=tmp_path, timeout=120)
            assert r.returncode == 0, (argv, r.stderr)
        ran.append(argv[0])
    assert ran.count("serve") >= 3 and "ami-sim" in ran and "user" in ran


def test_serve_on_a_socket_the_caller_holds(tmp_path, db):
    """A supervisor or a benchmark binds the port and hands the socket down: nobody can take
    the port in between, and the server reports the port it serves on."""
    with socket.create_server(("127.0.0.1", 0)) as held:
        port = held.getsockname()[1]
        server = Running([CALLCENTER, "serve", "--listen-fd", str(held.fileno()),
                          "--secret-key", "k" * 32], base_env(tmp_path, db), tmp_path,
                         pass_fds=(held.fileno(),))
        try:
            assert int(server.wait_for(LISTENING)["port"]) == port
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=10) as r:
                assert r.status == 200
        finally:
            assert server.stop() == 0, server.output
    r = run(db, "serve", "--listen-fd", "0")  # stdin: not a socket
    assert r.returncode == 1 and "not a listening TCP socket" in r.stderr


def test_the_demo_says_so_when_it_cannot_keep_its_key(tmp_path):
    data = tmp_path / "var"
    data.mkdir()
    (data / "secret-key").mkdir()  # a folder where the key file should be
    r = run(data / "callcenter.sqlite3", "demo", "--clients", "5", "--http-port", "0")
    assert r.returncode == 1 and r.stdout == ""
    assert r.stderr.startswith("error: cannot keep the demo's session key in")
    assert "Traceback" not in r.stderr


def test_the_simulator_on_a_busy_port_is_one_clear_line():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        r = subprocess.run([str(CALLCENTER), "ami-sim", "--port", str(port), "--secret", "s"],
                           capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert lines == [f"error: cannot listen on 127.0.0.1:{port}: Address already in use; "
                     "choose another with --port"], r.stderr
