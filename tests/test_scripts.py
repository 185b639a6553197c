"""The shell scripts behind `make`: run for real (the test PostgreSQL on a port of its own) or
against stand-ins for apt on PATH."""

import os
import shutil
import socket
import stat
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PG_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin"))


def _unused_port() -> int:
    # PostgreSQL binds its port itself and takes no socket from us: the one place a port is
    # chosen here and bound by another process (a clash shows as a failed start, not a wrong pass)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def private_pg():
    """Where a PostgreSQL of this test's own would live: (environment, is it running?)."""
    if not PG_BIN:
        pytest.skip("PostgreSQL is not installed")
    data = Path(tempfile.mkdtemp(prefix="cc-test-pg-", dir="/tmp"))
    os.chmod(data, 0o755)
    env = {**os.environ, "CALLCENTER_TEST_PG_PORT": str(_unused_port()),
           "CALLCENTER_TEST_PG_DIR": str(data / "cluster")}
    env.pop("CALLCENTER_TEST_PG_URL", None)

    def running() -> bool:
        return subprocess.run(["bash", "scripts/test-postgres.sh", "status"], cwd=REPO,
                              env=env).returncode == 0

    yield env, running
    subprocess.run(["bash", "scripts/test-postgres.sh", "stop"], cwd=REPO, env=env, timeout=60)
    shutil.rmtree(data, ignore_errors=True)


def _suite(tmp_path: Path, passes: bool) -> Path:
    """A stand-in for the suite: checks it was given a PostgreSQL that answers."""
    test = tmp_path / "test_stand_in.py"
    test.write_text(textwrap.dedent(f"""
        import os, subprocess
        def test_postgres_is_there():
            url = os.environ["CALLCENTER_TEST_PG_URL"]
            assert url.endswith(":" + os.environ["CALLCENTER_TEST_PG_PORT"] + "/postgres")
            assert subprocess.run(["bash", "{REPO}/scripts/test-postgres.sh", "status"]).returncode == 0
            assert {passes!r}
    """))
    return test


@pytest.mark.parametrize("passes", [True, False], ids=["tests-pass", "tests-fail"])
def test_make_test_stops_the_postgres_it_started(tmp_path, private_pg, passes):
    env, running = private_pg
    assert not running()
    r = subprocess.run(["bash", "scripts/test.sh", "-q", "-p", "no:randomly", str(_suite(tmp_path, passes))],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == (0 if passes else 1), r.stdout + r.stderr
    assert ("1 passed" if passes else "1 failed") in r.stdout
    assert not running()


def test_make_test_leaves_a_running_postgres_alone(tmp_path, private_pg):
    env, running = private_pg
    subprocess.run(["bash", "scripts/test-postgres.sh"], cwd=REPO, env=env, check=True,
                   capture_output=True, timeout=120)
    r = subprocess.run(["bash", "scripts/test.sh", "-q", str(_suite(tmp_path, True))],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert running()


FAKE_APT = """#!/bin/bash
echo "$*" >> "$FAKE_APT_LOG"
if [[ " $* " == *" update "* ]]; then
  n=$(cat "$FAKE_APT_COUNT" 2>/dev/null || echo 0); echo $((n + 1)) > "$FAKE_APT_COUNT"
  if [ "$n" -lt "$FAKE_APT_BUSY" ]; then
    echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 4242 (apt-get)" >&2
    exit 100
  fi
  [ -n "$FAKE_APT_BROKEN" ] && { echo "E: The repository is not signed." >&2; exit 100; }
fi
exit 0
"""


@pytest.fixture
def fake_debian(tmp_path):
    """A copy of the project's scripts where apt is a stand-in and the venv is already there."""
    root = tmp_path / "project"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "setup.sh", root / "scripts" / "setup.sh")
    (root / "pyproject.toml").write_text("")
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "python").write_text("#!/bin/sh\nexit 0\n")
    os.utime(root / "pyproject.toml", (1, 1))
    (root / ".venv" / ".installed").touch()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("apt-get", FAKE_APT), ("dpkg-query", "#!/bin/sh\nexit 1\n"),
                       ("sudo", '#!/bin/sh\nexec "$@"\n')):
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    (root / ".venv" / "bin" / "python").chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "FAKE_APT_LOG": str(tmp_path / "apt.log"),
           "FAKE_APT_COUNT": str(tmp_path / "apt.count"), "CALLCENTER_APT_RETRY_SECONDS": "0.05"}
    return root, env, tmp_path / "apt.log"


def test_setup_waits_for_the_apt_lock(fake_debian):
    root, env, log = fake_debian
    r = subprocess.run(["bash", "scripts/setup.sh"], cwd=root, env={**env, "FAKE_APT_BUSY": "3"},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert "waiting for another apt/dpkg" in r.stdout
    calls = log.read_text().splitlines()
    assert [c for c in calls if "update" in c] == ["-o DPkg::Lock::Timeout=600 update -qq"] * 4
    assert calls[-1] == ("-o DPkg::Lock::Timeout=600 install -y -qq "
                         "ffmpeg libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core")


def test_setup_does_not_retry_other_apt_errors(fake_debian):
    root, env, log = fake_debian
    r = subprocess.run(["bash", "scripts/setup.sh"], cwd=root,
                       env={**env, "FAKE_APT_BUSY": "0", "FAKE_APT_BROKEN": "1"},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "not signed" in r.stderr
    assert len(log.read_text().splitlines()) == 1  # given up at once, nothing installed
