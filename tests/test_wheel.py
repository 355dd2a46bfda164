"""The package installs like a real one: the wheel carries every file it needs.

The wheel is built from a copy of the sources (so the checkout gets no build folders),
installed into a fresh virtual environment, and ``kim`` is run from an unrelated folder. The
environment sees the test environment's libraries through a path file, so nothing is
downloaded, but not its editable install: ``kim_metrics`` must come from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.wheel, pytest.mark.xdist_group("wheel")]
STEP_TIMEOUT_S = 600


def _run(args: list[str | Path], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True,
                          timeout=STEP_TIMEOUT_S, **kwargs)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("src")
    shutil.copytree(ROOT / "kim_metrics", src / "kim_metrics",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("dist")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                  "--no-index", "-w", out, src])
    assert built.returncode == 0, built.stdout + built.stderr
    (path,) = out.glob("kim_league-*.whl")
    return path


def test_the_wheel_carries_the_data_files(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("kim_metrics/data/criteria.toml", "kim_metrics/data/ima_framework.toml",
                   "kim_metrics/storage/migrations/env.py",
                   "kim_metrics/storage/migrations/script.py.mako"):
        assert needed in names
    assert any(n.startswith("kim_metrics/storage/migrations/versions/0001") for n in names)
    # Every non-Python file the package holds in the checkout is in the wheel.
    shipped = {p.relative_to(ROOT).as_posix() for p in (ROOT / "kim_metrics").rglob("*")
               if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}
    assert shipped <= names, shipped - names


def test_installed_from_the_wheel_kim_runs_from_any_folder(wheel, tmp_path):
    env_dir = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                     check=True).stdout.strip())
    # The test environment's libraries, as plain paths: its .pth files (the editable install of
    # this checkout among them) are not processed from a path added this way.
    (site / "test-libraries.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    installed = _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps",
                      "--no-index", wheel])
    assert installed.returncode == 0, installed.stdout + installed.stderr

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIM_") and k != "PYTHONPATH"}
    where = _run([python, "-c", "import kim_metrics; print(kim_metrics.__file__)"], cwd=work, env=env)
    assert Path(where.stdout.strip()).is_relative_to(site), where.stdout + where.stderr

    kim = env_dir / "bin" / "kim"
    for args in (["init"], ["demo"], ["league", "--format", "csv"]):
        done = _run([kim, *args], cwd=work, env=env)
        assert done.returncode == 0, f"kim {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    assert (work / "data" / "kim.db").is_file()          # the database is made where kim runs
    lines = done.stdout.splitlines()
    assert lines[0].lstrip("\ufeff").lower().startswith("rank")
    assert len(lines) > 100                              # the demo's 120 teams
