"""The shipped deployment files say what the product accepts: the systemd units' commands parse
as the CLI's, the environment example names only real settings, nginx accepts the site file,
and a server on PostgreSQL refuses to start without the shared secret key."""

from __future__ import annotations

import configparser
import os
import shlex
import subprocess
import sys

import pytest

from callcenter.cli import _parser
from callcenter.config import SETTINGS_BY_NAME, load_settings
from tests.cluster.harness import ROOT, Nginx, free_port, nginx_binary

UNITS = ROOT / "deploy" / "systemd"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(UNITS / name, encoding="utf-8")
    return parser


@pytest.mark.parametrize("name", ["callcenter@.service", "callcenter-migrate.service"])
def test_the_units_run_commands_the_cli_takes(name):
    service = unit(name)["Service"]
    command = shlex.split(service["ExecStart"].replace("%i", "8081"))
    assert command[0] == "/opt/callcenter/.venv/bin/callcenter"
    args, rest = _parser().parse_known_args(command[1:])
    assert rest == []
    assert args.command in ("serve", "migrate")
    assert service["EnvironmentFile"] == "/etc/callcenter/callcenter.env"
    if args.command == "serve":
        assert service["KillSignal"] == "SIGTERM" and service["Restart"] == "always"
        assert unit(name)["Unit"]["Requires"] == "callcenter-migrate.service"


def test_the_target_wants_the_instances():
    wants = unit("callcenter.target")["Unit"]["Wants"].split()
    assert wants == [f"callcenter@{port}.service" for port in (8081, 8082, 8083)]


def test_the_environment_example_names_real_settings_that_load():
    lines = [line for line in (UNITS / "callcenter.env.example").read_text(
        encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    env = dict(line.split("=", 1) for line in lines)
    for key in env:
        assert key.startswith("CALLCENTER_") and key[11:].lower() in SETTINGS_BY_NAME, key
    settings = load_settings(environ={**env, "CALLCENTER_SECRET_KEY": "k" * 64})
    assert settings.trusted_proxies == "127.0.0.1"


@pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed")
def test_nginx_accepts_the_shipped_site(tmp_path):
    nginx = Nginx(tmp_path, [free_port(), free_port()], f"127.0.0.1:{free_port()}")
    main = nginx.write()
    check = subprocess.run([nginx_binary(), "-t", "-p", str(tmp_path), "-c", str(main)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    site = (tmp_path / "callcenter.conf").read_text()
    assert "least_conn;" in site and "proxy_set_header Upgrade $http_upgrade;" in site


@pytest.mark.postgres
def test_a_server_on_postgresql_without_the_secret_key_refuses_to_start(pg_url, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_")}
    env.update(CALLCENTER_DB_URL=pg_url, CALLCENTER_HTTP_PORT="0",
               CALLCENTER_SPOOL_DIR=str(tmp_path / "spool"))
    result = subprocess.run([sys.executable, "-m", "callcenter", "serve"], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "CALLCENTER_SECRET_KEY must be set on PostgreSQL" in result.stderr
    assert "Traceback" not in result.stderr
