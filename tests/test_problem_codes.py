"""Every problem carries a code, and what the pages act on is the code, never the wording."""

from __future__ import annotations

import ast
from pathlib import Path

import pandas as pd
import pytest

from kim_metrics.domain.errors import ProblemCode, ReadError, ValidationError
from kim_metrics.reading.reader import read_workbook
from kim_metrics.reading.returns import parse_return
from kim_metrics.services import views
from tests.support.returns import FULL_MARKS, RETURN_HEADERS, long_rows, write_csv

ROOT = Path(__file__).resolve().parents[1]
ORG = pd.DataFrame({"team_id": [1, 2], "team": ["Tax Policy", "Estates"],
                    "directorate": ["Policy", "Corporate"], "group": ["G1", "G2"]})


def _codes(path: Path, criteria) -> list[ProblemCode]:
    with pytest.raises(ValidationError) as caught:
        parse_return(read_workbook(path), criteria, ORG)
    return [p.code for p in caught.value.problems]


def test_a_return_names_each_kind_of_problem_by_its_code(tmp_path, criteria):
    rows = long_rows({"Tax Policy": FULL_MARKS, "Estates": FULL_MARKS})
    rows[0][2] = "Tax Polcy"                 # unknown team
    rows[8][3] = "Namng convention"          # unknown criterion
    rows[9][4] = "Mostly-ish"                # a score no scale reads
    codes = _codes(write_csv(tmp_path / "r.csv", rows), criteria)
    assert ProblemCode.UNKNOWN_TEAM in codes
    assert ProblemCode.UNKNOWN_CRITERION in codes
    assert ProblemCode.BAD_SCORE in codes


def test_unrecognised_columns_are_found_by_code(tmp_path, criteria):
    headers = ["Org unit", "Measure", "Rating", "Proof", "Where", "Remarks", "Dir", "Grp"]
    path = write_csv(tmp_path / "odd.csv", long_rows({"Tax Policy": FULL_MARKS}), headers)
    with pytest.raises(ValidationError) as caught:
        parse_return(read_workbook(path), criteria, ORG)
    assert [p.code for p in caught.value.problems] == [ProblemCode.UNRECOGNISED_COLUMNS]
    assert views.unknown_columns(caught.value) is caught.value.problems[0]


def test_unreadable_and_oversized_files_carry_their_codes(tmp_path, monkeypatch):
    junk = tmp_path / "return.xlsx"
    junk.write_bytes(b"PK\x03\x04 this is not really a workbook")
    with pytest.raises(ReadError) as caught:
        read_workbook(junk)
    assert caught.value.problem.code is ProblemCode.FILE_UNREADABLE
    monkeypatch.setenv("KIM_MAX_UPLOAD_MB", "1")
    big = write_csv(tmp_path / "big.csv", [["x" * 1000] * len(RETURN_HEADERS)] * 1200)
    with pytest.raises(ReadError) as caught:
        read_workbook(big)
    assert caught.value.problem.code is ProblemCode.TOO_LARGE
    assert caught.value.problem.as_dict()["code"] == "too_large"


def _calls(folder: str, names: set[str]):
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in names:
                yield path, node


def test_every_problem_is_made_with_a_code():
    made = list(_calls("kim_metrics", {"Problem", "ReadError"}))
    assert len(made) > 40
    without = [f"{p.relative_to(ROOT)}:{n.lineno}" for p, n in made
               if not any(k.arg == "code" for k in n.keywords)]
    assert without == []


def test_pages_and_services_never_read_a_problems_wording():
    """A decision taken on ``problem.message`` would break when the message is reworded."""
    readers = []
    for folder in ("pages", "kim_metrics/services", "kim_metrics/cli.py"):
        paths = [ROOT / folder] if folder.endswith(".py") else sorted((ROOT / folder).rglob("*.py"))
        for path in paths:
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Compare) and any(
                        isinstance(n, ast.Attribute) and n.attr == "message"
                        for side in (node.left, *node.comparators) for n in ast.walk(side)):
                    readers.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert readers == []
