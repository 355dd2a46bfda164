"""The demo department with one hostile team, shared by the export, letter and board-pack tests.

The extra team's name and evidence are spreadsheet-formula payloads, as a hostile team might
type them; every export must carry them as inert text.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import insert, select

from kim_metrics.services import admin as admin_service
from kim_metrics.storage.models import Directorate, Team
from kim_metrics.storage.engine import make_engine
from kim_metrics.reports.cells import FORMULA_TRIGGERS
from kim_metrics.reading.returns import ParsedReturn
from kim_metrics.storage.schema import ensure_schema
from kim_metrics.services.returns import save_parsed

ROUND = "2026-Q3"
PAYLOADS = ['=HYPERLINK("http://evil","x")', "+1+1", "@SUM(A1)", "-2+3", "\tcmd"]
EVIL_TEAM = '=HYPERLINK("http://evil","Click me")'
EVIL_DIRECTORATE = "Estates and Security Directorate"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def build_demo_db(folder: Path):
    """The demo department plus a team whose name and evidence are formula payloads.

    The hostile team returns low scores in ``ROUND`` so it shows in its directorate's letter
    with actions, and at the bottom of the league (so in the board pack too).
    """
    from kim_metrics.services.demo import load_demo

    engine = make_engine(f"sqlite:///{folder / 'kim.db'}")
    ensure_schema(engine)
    load_demo(engine)
    with engine.begin() as conn:
        directorate = conn.scalar(select(Directorate.id).where(Directorate.name == EVIL_DIRECTORATE))
        team_id = conn.execute(insert(Team).values(name=EVIL_TEAM, directorate_id=directorate,
                                                   information_managers="", active=True)
                               ).inserted_primary_key[0]
    group = admin_service.organisation(engine).query("directorate == @EVIL_DIRECTORATE")["group"].iloc[0]
    plan = [  # criterion, claimed, label, evidence, link, comment
        ("naming", 1.0, "Partly in place", PAYLOADS[0], "", ""),
        ("corporate_system", 0.0, "Not started", PAYLOADS[1], "", ""),
        ("what_to_keep", 0.0, "Not started", PAYLOADS[2], "", ""),
        ("asset_register", 1.0, "Partly in place", PAYLOADS[3], "", ""),
        ("information_manager", 0.0, "No", PAYLOADS[4], "", ""),
        ("training", 50.0, "50%", "", "", PAYLOADS[0]),               # claimed without evidence
        ("legacy_review", 0.0, "Not started", "Survey planned", PAYLOADS[0], PAYLOADS[3]),
    ]
    scores = pd.DataFrame([{
        "team_id": team_id, "team": EVIL_TEAM, "directorate": EVIL_DIRECTORATE, "group": group,
        "criterion": cid, "claimed_raw": label, "claimed": claimed, "evidence": evidence,
        "evidence_link": link, "comment": comment, "sheet": "Return", "row": n + 2,
    } for n, (cid, claimed, label, evidence, link, comment) in enumerate(plan)])
    save_parsed(engine, ParsedReturn(file_name="evil.csv", layout="long", scores=scores), ROUND,
                uploader="im@example.gov.uk", file_hash="evil" * 16)
    return engine


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def assert_inert(text: object, where: str = "") -> None:
    """Text that starts like a formula must carry the apostrophe; a number is a number."""
    if isinstance(text, str) and text.startswith(FORMULA_TRIGGERS):
        assert is_number(text), f"formula-like text not neutralised {where}: {text!r}"


def render_pdf(pdf: Path, stem: str, *, first: int = 1, last: int = 1, dpi: int = 80) -> list[Path]:
    """Render PDF pages to PNG under tests/artifacts with pdftoppm (Debian poppler-utils)."""
    if shutil.which("pdftoppm") is None:
        if os.environ.get("CI"):
            pytest.fail("pdftoppm is missing: install Debian's poppler-utils")
        pytest.skip("pdftoppm is not installed (apt-get install poppler-utils)")
    ARTIFACTS.mkdir(exist_ok=True)
    for old in ARTIFACTS.glob(f"{stem}-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(first), "-l", str(last), str(pdf),
                    str(ARTIFACTS / stem)], check=True, capture_output=True, timeout=120)
    pages = sorted(ARTIFACTS.glob(f"{stem}-*.png"))
    assert pages, "pdftoppm wrote no page"
    for page in pages:
        assert page.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert page.stat().st_size > 5_000
    return pages


def build_named_db(folder: Path, directorates: list[str], round_label: str = ROUND):
    """A department of one team per directorate, named as given, every team returning.

    The names are written straight to the database, as a department's own organisation or a
    restored backup may hold them, whatever the organisation check lets in at the time.
    """
    from kim_metrics.domain.criteria import load_criteria

    engine = make_engine(f"sqlite:///{folder / 'kim.db'}")
    ensure_schema(engine)
    org = pd.DataFrame({"group": "Corporate", "directorate": directorates,
                        "team": [f"Team {i + 1}" for i in range(len(directorates))],
                        "director": [f"director{i + 1}@example.gov.uk" for i in range(len(directorates))],
                        "information_managers": [[] for _ in directorates]})
    admin_service.save_organisation(engine, org)
    ids = admin_service.organisation(engine).set_index(["directorate", "team"])["team_id"]
    criteria = load_criteria()
    scores = pd.DataFrame([{
        "team_id": int(ids[(r.directorate, r.team)]), "team": r.team, "directorate": r.directorate,
        "group": r.group, "criterion": c.id, "claimed_raw": "1", "claimed": 50.0 if c.scale == "percent" else 1.0,
        "evidence": "Checked by the KIM team", "evidence_link": "", "comment": "",
        "sheet": "Return", "row": n + 2,
    } for n, (r, c) in enumerate((r, c) for r in org.itertuples() for c in criteria)])
    save_parsed(engine, ParsedReturn(file_name="named.csv", layout="long", scores=scores), round_label,
                uploader="im@example.gov.uk", file_hash="named" * 12 + "abcd")
    return engine
