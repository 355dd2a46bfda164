"""Local mode stays on this computer: `kim serve` (what `make run` starts) listens on the loopback
address unless sign-in is set up, and `make run` loads the demo only into the default database."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kim_metrics.cli import LOOPBACK, serve_command, sign_in_configured
from tests.support.app import demo_db  # noqa: F401 - a fixture

PROJECT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 60

pytestmark = pytest.mark.xdist_group("serve")


def test_sign_in_is_configured_only_by_an_auth_section(tmp_path):
    none, auth, other, broken = (tmp_path / n for n in ("none.toml", "auth.toml", "other.toml", "broken.toml"))
    auth.write_text('[auth]\nclient_id = "kim"\n')
    other.write_text('[connections]\nurl = "x"\n')
    broken.write_text('[auth\n')
    assert sign_in_configured([none]) is False
    assert sign_in_configured([other]) is False
    assert sign_in_configured([broken]) is False      # unreadable: stay on this computer
    assert sign_in_configured([none, auth]) is True


def test_local_mode_binds_to_the_loopback_address():
    local = serve_command(8600, signed_in=False)
    assert local[local.index("--server.address") + 1] == LOOPBACK
    assert local[local.index("--server.port") + 1] == "8600"
    assert "--server.address" not in serve_command(8600, signed_in=True)


def _other_address() -> str | None:
    """An address of this machine other than loopback, if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))      # no packet is sent: this only picks a route
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def test_kim_serve_in_local_mode_answers_this_computer_only(tmp_path):
    other = _other_address()
    if other is None:
        pytest.skip("this machine has no address but loopback")
    port = _free_port()
    # HOME elsewhere, so no user secrets file turns sign-in on.
    env = {**os.environ, "HOME": str(tmp_path), "KIM_DATABASE_URL": f"sqlite:///{tmp_path / 'kim.db'}"}
    proc = subprocess.Popen([sys.executable, "-m", "kim_metrics", "serve", "--port", str(port)],
                            cwd=PROJECT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _answers("127.0.0.1", port):
            assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the dashboard did not start"
            time.sleep(0.5)
        assert not _answers(other, port), f"local mode answered on {other}"
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)
    assert b"this computer only" in proc.stderr.read()


def _make_run_commands(extra_env: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k != "KIM_DATABASE_URL"}
    done = subprocess.run(["make", "-n", "run"], cwd=PROJECT, env={**env, **extra_env},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_make_run_loads_the_demo_only_into_the_default_database():
    default = _make_run_commands({})
    assert "kim_metrics demo" in default and "kim_metrics serve" in default
    named = _make_run_commands({"KIM_DATABASE_URL": "postgresql://kim@db.internal/kim"})
    assert "kim_metrics demo" not in named and "kim_metrics serve" in named
    assert "streamlit run" not in default + named     # always through `kim serve`


def test_the_dashboard_in_local_mode_tells_a_visitor_from_elsewhere():
    if str(PROJECT) not in sys.path:
        sys.path.insert(0, str(PROJECT))
    from pages._shared import _from_elsewhere
    for address in ("192.0.2.7", "10.0.0.5", "2001:db8::1", "not an address"):
        assert _from_elsewhere(address), address
    for address in (None, "", "127.0.0.1", "127.0.0.2", "::1"):
        assert not _from_elsewhere(address), address


# Run in a fresh interpreter: load what `kim serve` loads, then run the league page once and
# list the modules its first run still had to import.
_FIRST_RUN_IMPORTS = """
import json, os, sys
sys.path.insert(0, os.getcwd())
import serve
serve.preload()
from streamlit.testing.v1 import AppTest
before = set(sys.modules)
app = AppTest.from_file("dashboard.py", default_timeout=120)
app.session_state["role"] = "executive"
app.run()
print(json.dumps({"titles": [t.value for t in app.title], "exceptions": [str(e.value) for e in app.exception],
                  "imported": sorted(set(sys.modules) - before)}))
"""
# What the first visitor after a start must not wait for: ours, and the heavy libraries.
_PRELOADED = ("kim_metrics", "pages", "pandas", "pyarrow", "numpy", "sqlalchemy", "pydantic", "jinja2")


def test_kim_serve_loads_everything_the_landing_page_imports(demo_db):
    assert serve_command(8600, signed_in=True)[1] == str(PROJECT / "serve.py")
    env = {**os.environ, "KIM_DATABASE_URL": f"sqlite:///{demo_db}", "KIM_ROLE": "executive"}
    done = subprocess.run([sys.executable, "-c", _FIRST_RUN_IMPORTS], cwd=PROJECT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["exceptions"] == [] and "KIM league table" in report["titles"]
    late = [m for m in report["imported"] if m.split(".")[0] in _PRELOADED]
    assert late == [], f"the landing page's first run imported {late}: add them to serve.PRELOAD"
