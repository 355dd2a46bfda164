"""Reading and validating returns: both layouts, every format, every problem located."""

from pathlib import Path

import pandas as pd
import pytest

from kim_metrics.domain.errors import ReadError, ValidationError
from kim_metrics.reading.reader import read_workbook
from kim_metrics.reading.returns import parse_mapping, parse_return
from tests.support.returns import FULL_MARKS, NOTHING, RETURN_HEADERS, long_rows, write_csv, write_xlsx

ORG = pd.DataFrame({"team_id": [1, 2, 3], "team": ["Tax Policy", "Estates", "Digital Services"],
                    "directorate": ["Policy", "Corporate", "Digital"], "group": ["G1", "G2", "G2"]})


def _parse(path: Path, criteria, org=ORG, mapping=None):
    return parse_return(read_workbook(path), criteria, org, mapping)


def _problems(path: Path, criteria, org=ORG, mapping=None):
    with pytest.raises(ValidationError) as err:
        _parse(path, criteria, org, mapping)
    return err.value.problems


def _two_teams():
    return long_rows({"Tax Policy": FULL_MARKS}) + long_rows({"Estates": NOTHING})


def _write_xls(path: Path, rows):
    import xlwt
    book = xlwt.Workbook()
    sheet = book.add_sheet("Return")
    for j, h in enumerate(RETURN_HEADERS):
        sheet.write(0, j, h)
    for i, row in enumerate(rows, start=1):
        for j, v in enumerate(row):
            sheet.write(i, j, v)
    book.save(str(path))
    return path


def _write_ods(path: Path, rows):
    pd.DataFrame(rows, columns=RETURN_HEADERS).to_excel(path, index=False, engine="odf",
                                                        sheet_name="Return")
    return path


@pytest.mark.parametrize("fmt", ["xlsx", "xlsm", "xls", "ods", "csv"])
def test_long_layout_in_every_format(tmp_path, criteria, fmt):
    writers = {"xlsx": write_xlsx, "xlsm": write_xlsx, "xls": _write_xls, "ods": _write_ods,
               "csv": write_csv}
    path = writers[fmt](tmp_path / f"return.{fmt}", _two_teams())
    parsed = _parse(path, criteria)
    assert parsed.layout == "long"
    assert len(parsed.scores) == 14
    by = parsed.scores.set_index(["team", "criterion"])["claimed"]
    assert by[("Tax Policy", "naming")] == 3
    assert by[("Tax Policy", "training")] == 100
    assert by[("Estates", "information_manager")] == 0
    assert set(parsed.scores["team_id"]) == {1, 2}


def test_wide_layout_with_aliases_and_evidence_columns(tmp_path, criteria):
    headers = ["Team", "File naming", "Naming evidence", "Corporate System", "Corporate system evidence",
               "WTK", "WTK evidence", "IAR", "IAR evidence", "IM nominated", "IM nominated evidence",
               "Training %", "Training evidence", "Legacy review", "Legacy review evidence"]
    rows = [["Tax Policy", "Fully embedded", "ok", 3, "ok", "G", "ok", 2, "ok", "Yes", "ok", "85%", "ok",
             1, ""],
            ["Estates", 0, "", 0, "", 0, "", 0, "", "No", "", 0, "", 0, ""]]
    parsed = _parse(write_xlsx(tmp_path / "wide.xlsx", rows, headers), criteria)
    assert parsed.layout == "wide"
    s = parsed.scores.set_index(["team", "criterion"])
    assert s.loc[("Tax Policy", "training"), "claimed"] == 85
    assert s.loc[("Tax Policy", "naming"), "evidence"] == "ok"
    assert s.loc[("Tax Policy", "legacy_review"), "evidence"] == ""


def test_headers_match_ignoring_case_spacing_punctuation(tmp_path, criteria):
    headers = [" group", "DIRECTORATE ", "team-name", "Criteria", "self assessment", "Evidence:",
               "evidence_link", "Notes"]
    parsed = _parse(write_csv(tmp_path / "r.csv", _two_teams(), headers), criteria)
    assert len(parsed.scores) == 14


def test_column_mapping_for_own_headers(tmp_path, criteria):
    headers = ["Grp", "Dir", "Organisation Name", "Measure name", "Rating given", "Proof", "URL", "Remarks"]
    path = write_csv(tmp_path / "own.csv", _two_teams(), headers)
    assert any("Could not find the columns" in p.message for p in _problems(path, criteria))
    mapping = parse_mapping(['Team="Organisation Name"', "Criterion=Measure name",
                             "Score=Rating given", "Evidence=Proof"], criteria)
    parsed = _parse(path, criteria, mapping=mapping)
    assert len(parsed.scores) == 14
    assert (parsed.scores.loc[parsed.scores["team"] == "Tax Policy", "evidence"] != "").all()


def test_every_problem_reported_at_once_with_location(tmp_path, criteria):
    rows = _two_teams()
    rows[0][4] = 7                       # row 2: out of the scale
    rows[3][3] = "Asset regster"         # row 5: unknown criterion (typo)
    rows[8][2] = "Estats"                # row 10: unknown team (typo)
    rows.append(list(rows[1]))           # row 16: duplicate team × criterion
    problems = _problems(write_xlsx(tmp_path / "bad.xlsx", rows), criteria)
    located = {(p.row, p.column): p.message for p in problems}
    assert "not a level" in located[(2, "Score")]
    assert "Did you mean 'Information assets recorded" in located[(5, "Criterion")] or \
        "is not a criterion" in located[(5, "Criterion")]
    assert "Did you mean 'Estates'" in located[(10, "Team")]
    assert "already has a score" in located[(16, "Criterion")]
    assert all(p.file == "bad.xlsx" and p.sheet == "Return" for p in problems)
    # Tax Policy lost its asset-register row to the typo: reported as missing.
    assert any(p.row is None and "has no score for 'Information assets" in p.message for p in problems)


def test_missing_criterion_for_a_team(tmp_path, criteria):
    rows = [r for r in _two_teams() if not (r[2] == "Estates" and r[3] == "training")]
    problems = _problems(write_csv(tmp_path / "m.csv", rows), criteria)
    assert [p.message for p in problems] == [
        "'Estates' has no score for 'Staff KIM training completed'. Every team needs a row for each "
        "criterion; add one."]


def test_missing_columns(tmp_path, criteria):
    rows = [[r[0], r[1], r[2], r[3]] for r in _two_teams()]
    problems = _problems(write_csv(tmp_path / "c.csv", rows, RETURN_HEADERS[:4]), criteria)
    assert "Missing: Score" in problems[0].message


def test_empty_file_and_headers_only_and_not_a_spreadsheet(tmp_path, criteria):
    (tmp_path / "empty.xlsx").write_bytes(b"")
    with pytest.raises(ReadError, match="empty"):
        _parse(tmp_path / "empty.xlsx", criteria)
    assert "no rows of scores" in _problems(write_xlsx(tmp_path / "h.xlsx", []), criteria)[0].message
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4 not a spreadsheet")
    with pytest.raises(ReadError, match="not a spreadsheet"):
        _parse(tmp_path / "notes.pdf", criteria)


def test_blank_rows_are_skipped_and_row_numbers_kept(tmp_path, criteria):
    rows = _two_teams()
    rows.insert(3, [None] * 8)
    rows[10][4] = "lots"   # spreadsheet row 12 after the blank row 5
    problems = _problems(write_xlsx(tmp_path / "b.xlsx", rows), criteria)
    assert [(p.row, p.column) for p in problems] == [(12, "Score")]


def test_ambiguous_team_name_needs_directorate(tmp_path, criteria):
    org = pd.concat([ORG, pd.DataFrame({"team_id": [4], "team": ["Estates"], "directorate": ["Digital"],
                                        "group": ["G2"]})], ignore_index=True)
    rows = long_rows({"Estates": NOTHING}, directorate="")
    problems = _problems(write_csv(tmp_path / "a.csv", rows), criteria, org)
    assert "more than one team called 'Estates'" in problems[0].message
    parsed = _parse(write_csv(tmp_path / "ok.csv", long_rows({"Estates": NOTHING}, directorate="Digital")),
                    criteria, org)
    assert set(parsed.scores["team_id"]) == {4}


def test_teams_discovered_when_no_organisation_loaded(tmp_path, criteria):
    empty = ORG.iloc[0:0]
    parsed = _parse(write_csv(tmp_path / "r.csv", _two_teams()), criteria, empty)
    assert sorted(parsed.new_teams["team"]) == ["Estates", "Tax Policy"]
    assert (parsed.scores["team_id"] < 0).all()


# Each draws nothing: zero-width space, word joiner, BOM, no-break space, figure space, narrow
# no-break space, ideographic space, soft hyphen, Mongolian vowel separator, Hangul filler,
# blank braille, a tag character.
INVISIBLE = ["\u200b", "\u2060", "\ufeff", "\u00a0", "\u2007", "\u202f", "\u3000", "\u00ad",
             "\u180e", "\u3164", "\u2800", "\U000e0020", "\u200b\u2060\ufeff\u00a0 \u200d"]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize("invisible", INVISIBLE, ids=lambda s: "+".join(f"U{ord(c):04X}" for c in s))
def test_evidence_of_invisible_characters_is_no_evidence(tmp_path, criteria, fmt, invisible):
    from kim_metrics.domain.scoring import score_rows
    rows = long_rows({"Tax Policy": FULL_MARKS})
    rows[0][5:7] = [invisible, invisible]                     # naming: evidence and its link
    rows[1][5:7] = [f"{invisible}Policy signed{invisible}", ""]  # visible text keeps its characters
    writer = write_xlsx if fmt == "xlsx" else write_csv
    parsed = _parse(writer(tmp_path / f"r.{fmt}", rows), criteria)
    by = parsed.scores.set_index("criterion")
    assert by.loc["naming", "evidence"] == "" and by.loc["naming", "evidence_link"] == ""
    assert by.loc["corporate_system", "evidence"] == f"{invisible}Policy signed{invisible}".strip()
    scored = score_rows(parsed.scores, criteria).set_index("criterion")
    assert bool(scored.loc["naming", "unevidenced"]) and scored.loc["naming", "counted"] == 0
    assert scored.loc["naming", "claimed"] == 3
    assert not scored.loc["corporate_system", "unevidenced"]


def test_a_team_name_of_invisible_characters_is_an_empty_team(tmp_path, criteria):
    rows = long_rows({"Tax Policy": FULL_MARKS})
    rows[0][2] = "\u200b\u2060"
    problems = _problems(write_xlsx(tmp_path / "r.xlsx", rows), criteria)
    assert [(p.row, p.column) for p in problems if "The team is empty" in p.message] == [(2, "Team")]
