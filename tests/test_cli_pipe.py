"""`kim league --format json | head` exits quietly: a reader that stops reading is not an error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.hostile_demo import ROUND, build_named_db

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def big_league(tmp_path_factory) -> str:
    """A league whose JSON is far larger than a pipe's buffer, so writing it must hit the closed pipe."""
    engine = build_named_db(tmp_path_factory.mktemp("pipe"), [f"Directorate {i:03d}" for i in range(400)])
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    return url


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_league_into_a_closed_pipe_exits_quietly(big_league, fmt):
    proc = subprocess.Popen([sys.executable, "-m", "kim_metrics", "--db", big_league, "league",
                             "--round", ROUND, "--format", fmt],
                            cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "0"})
    first = proc.stdout.read(100)           # what `head -c 100` reads, then it goes away
    proc.stdout.close()
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    assert first
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert err == ""
    assert code == 0


def test_league_through_head_in_a_shell(big_league):
    done = subprocess.run(f'"{sys.executable}" -m kim_metrics --db "{big_league}" league --round {ROUND} '
                          "--format json | head -n 2", shell=True, cwd=PROJECT, capture_output=True,
                          text=True, timeout=120)
    assert done.stdout.count("\n") == 2
    assert done.stderr == "", done.stderr
