"""Real `callcenter serve` processes behind Debian's nginx, for the scaling tests and the cluster
benchmark: the shipped configuration (deploy/nginx/callcenter.conf) with its upstream ports and
listening address replaced, run by an nginx of its own in a scratch folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHIPPED_NGINX = ROOT / "deploy" / "nginx" / "callcenter.conf"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.path.exists(p)), None)


def site_config(upstreams: list[int], listen: str) -> str:
    """The shipped site configuration, for these upstream ports and this listen address."""
    text = SHIPPED_NGINX.read_text(encoding="utf-8")
    lines = text.splitlines()
    servers = [i for i, line in enumerate(lines) if re.match(r"\s*server 127\.0\.0\.1:\d+", line)]
    assert servers, "the shipped configuration names no upstream server"
    template = lines[servers[0]]
    new = [re.sub(r"127\.0\.0\.1:\d+", f"127.0.0.1:{port}", template) for port in upstreams]
    lines[servers[0]:servers[-1] + 1] = new
    text = "\n".join(lines) + "\n"
    text, count = re.subn(r"listen 80;", f"listen {listen};", text)
    assert count == 1, "the shipped configuration has no `listen 80;`"
    return text


class Nginx:
    """nginx with the shipped site in front of ``upstreams``, listening on ``listen``."""

    def __init__(self, folder: Path, upstreams: list[int], listen: str,
                 worker_connections: int = 4096) -> None:
        self.folder = folder
        self.upstreams = upstreams
        self.listen = listen
        self.worker_connections = worker_connections
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.listen}"

    def write(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (self.folder / name).mkdir(exist_ok=True)
        (self.folder / "callcenter.conf").write_text(site_config(self.upstreams, self.listen),
                                                     encoding="utf-8")
        main = self.folder / "nginx.conf"
        user = "user root root;\n" if os.geteuid() == 0 else ""
        main.write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {self.folder}/nginx.pid;\n"
            f"error_log {self.folder}/error.log warn;\nworker_rlimit_nofile "
            f"{self.worker_connections * 2 + 100};\n"
            f"events {{ worker_connections {self.worker_connections}; }}\n"
            "http {\n  access_log off;\n"
            + "".join(f"  {kind}_temp_path {self.folder}/{name};\n" for kind, name in (
                ("client_body", "body"), ("proxy", "proxy"), ("fastcgi", "fastcgi"),
                ("uwsgi", "uwsgi"), ("scgi", "scgi")))
            + f"  include {self.folder}/callcenter.conf;\n}}\n", encoding="utf-8")
        return main

    def start(self, timeout: float = 10.0) -> None:
        binary = nginx_binary()
        assert binary, "nginx is not installed (scripts/setup.sh --test installs it)"
        main = self.write()
        check = subprocess.run([binary, "-t", "-p", str(self.folder), "-c", str(main)],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.process = subprocess.Popen([binary, "-p", str(self.folder), "-c", str(main)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        host, port = self.listen.rsplit(":", 1)
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection((host, int(port)), timeout=0.5).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("nginx did not start: "
                                         + (self.folder / "error.log").read_text()[-2000:])
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


class Server:
    """One `callcenter serve` process on ``port`` (its output in ``folder``/serve-PORT.log)."""

    def __init__(self, port: int, env: dict[str, str], folder: Path) -> None:
        self.port = port
        self.env = env
        self.folder = folder
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.folder / f"serve-{self.port}.log"

    def start(self) -> None:
        self.starts += 1
        log = self.log_path.open("a", encoding="utf-8")
        log.write(f"--- start {self.starts}\n")
        log.flush()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "callcenter", "serve", "--http-host", "127.0.0.1",
             "--http-port", str(self.port)], env={**os.environ, **self.env}, cwd=self.folder,
            stdout=log, stderr=subprocess.STDOUT)
        log.close()

    def health(self) -> dict | None:
        try:
            with urllib.request.urlopen(self.url + "/api/health", timeout=2) as answer:
                return json.loads(answer.read())
        except (OSError, ValueError):
            return None

    def wait_ready(self, timeout: float = 30.0, ami: bool = True) -> None:
        deadline = time.monotonic() + timeout
        while True:
            health = self.health()
            if health is not None and (not ami or (health.get("ami") or {}).get("status")
                                       == "connected"):
                return
            if self.process is None or self.process.poll() is not None or \
                    time.monotonic() > deadline:
                raise AssertionError(f"server on {self.port} did not come up: "
                                     + self.log_path.read_text(errors="replace")[-3000:])
            time.sleep(0.1)

    def kill(self) -> None:
        """kill -9: no shutdown, no spooling, sockets cut by the kernel."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self, timeout: float = 30.0) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None
