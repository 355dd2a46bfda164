"""Generated workbooks: whatever the cells hold, reading and validating ends in a return or in the
project's own ReadError / ValidationError, never in any other exception."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math

import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from kim_metrics.domain.criteria import load_criteria
from kim_metrics.domain.errors import ReadError, ValidationError
from kim_metrics.reading.reader import read_workbook
from kim_metrics.reading.returns import parse_return
from kim_metrics.reading.text_rules import cell_text, clean_text
from tests.support.badfiles import ORG
from tests.support.returns import FULL_MARKS, RETURN_HEADERS

CRITERIA = load_criteria()
KNOWN = ORG.assign(team_id=range(1, len(ORG) + 1))[["team_id", "team", "directorate", "group"]]
SETTINGS = settings(max_examples=40, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# Words a return is made of, so generated sheets often get past the headers into the checks.
DOMAIN_WORDS = [*RETURN_HEADERS, *CRITERIA.ids, *(c.name for c in CRITERIA), *ORG["team"],
                *ORG["directorate"], "Yes", "No", "85%", "Green", "Amber / Red", "Fully embedded", "G"]

cells = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.sampled_from(DOMAIN_WORDS),
    st.integers(min_value=-(10 ** 30), max_value=10 ** 30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(9999, 12, 31)),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(9999, 12, 31)),
)
headers = st.one_of(st.just(RETURN_HEADERS), st.permutations(RETURN_HEADERS),
                    st.lists(st.one_of(st.sampled_from(DOMAIN_WORDS), st.text(max_size=12)), max_size=10))
sheets = st.tuples(headers, st.lists(st.lists(cells, max_size=10), max_size=12))


def _xlsx(header: list, body: list[list], *, formulas: bool = True) -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    for row in [header, *body]:
        # openpyxl cannot write what XML cannot hold, and cannot store NaN or infinity as
        # numbers: write those as text, which is what a person could have typed.
        ws.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str)
                   else str(v) if isinstance(v, float) and not math.isfinite(v) else v for v in row])
        if not formulas:  # text that starts with "=" stays text, as a cell formatted as Text keeps it
            for cell in ws[ws.max_row]:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _csv(header: list, body: list[list], encoding: str, delimiter: str) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter).writerows([header, *body])
    return buffer.getvalue().encode(encoding, errors="replace")


def _read_and_check(data: bytes, name: str, org: pd.DataFrame) -> None:
    # Every refusal is the project's own, names the file and says something to act on.
    try:
        parse_return(read_workbook(data, file_name=name), CRITERIA, org)
    except ReadError as exc:
        assert exc.problem.file == name and len(exc.problem.message) > 20
    except ValidationError as exc:
        assert exc.problems
        assert all(p.file == name and len(p.message) > 20 for p in exc.problems)


@pytest.mark.parametrize("org", [KNOWN, KNOWN.iloc[0:0]], ids=["organisation", "teams-from-file"])
@SETTINGS
@given(sheet=sheets)
def test_generated_xlsx_is_read_or_refused_plainly(org: pd.DataFrame, sheet) -> None:
    header, body = sheet
    _read_and_check(_xlsx(header, body), "generated.xlsx", org)


@pytest.mark.parametrize("org", [KNOWN, KNOWN.iloc[0:0]], ids=["organisation", "teams-from-file"])
@SETTINGS
@given(sheet=sheets, encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]),
       delimiter=st.sampled_from([",", ";", "\t", "|"]))
def test_generated_csv_is_read_or_refused_plainly(org: pd.DataFrame, sheet, encoding: str, delimiter: str) -> None:
    header, body = sheet
    _read_and_check(_csv(header, body, encoding, delimiter), "generated.csv", org)


@SETTINGS
@given(evidence=st.text(min_size=1, max_size=200), comment=st.text(max_size=50))
def test_any_text_in_evidence_comes_back_as_typed(evidence: str, comment: str) -> None:
    # The exceptions to "as typed": characters XML cannot hold (see text_rules.clean_text), the
    # spaces around a cell, which validation trims, and a cell of invisible characters only,
    # which is blank (text_rules.cell_text). A bare carriage return cannot survive an .xlsx
    # written by openpyxl (XML turns line ends into line feeds), so none is generated.
    evidence, comment = evidence.replace("\r", ""), comment.replace("\r", "")
    body = [["Corporate", "Digital", "Data Office", cid, score, evidence, "", comment]
            for cid, score in FULL_MARKS.items()]
    data = _xlsx(RETURN_HEADERS, body, formulas=False)
    parsed = parse_return(read_workbook(data, file_name="r.xlsx"), CRITERIA, KNOWN)
    assert set(parsed.scores["evidence"]) == {cell_text(clean_text(ILLEGAL_CHARACTERS_RE.sub("", evidence)))}
    assert set(parsed.scores["comment"]) == {cell_text(clean_text(ILLEGAL_CHARACTERS_RE.sub("", comment)))}
