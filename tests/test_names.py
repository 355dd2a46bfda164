"""Names behave on every backend: one length limit and one rule for what counts as the same name."""

from __future__ import annotations

import pandas as pd
import pytest

from kim_metrics.domain.access import LOCAL_ADMIN_EMAIL
from kim_metrics.domain.errors import ValidationError
from kim_metrics.domain.names import MAX_NAME_LENGTH, name_problem, norm_key
from kim_metrics.services import admin as admin_service
from tests.support.returns import write_xlsx

HEADERS = ["Group", "Directorate", "Team", "Director", "Information managers"]
LONG = "Directorate of " + "Very " * 55 + "Long Names"          # 300 characters


def _load(engine, path):
    return admin_service.load_org(engine, path.read_bytes(), path.name, actor=LOCAL_ADMIN_EMAIL)


def test_same_name_is_one_rule():
    assert norm_key("Digital Services") == norm_key("Digital-Services") == norm_key("digital services")
    assert norm_key("\uff24\uff49\uff47\uff49\uff54\uff41\uff4c Services") == norm_key("digital services")
    assert norm_key("Stra\u00dfe") == norm_key("STRASSE")            # case folded, not just lowered
    assert norm_key("Caf\u00e9") == norm_key("Cafe\u0301")           # composed and decomposed
    assert norm_key("Caf\u00e9") != norm_key("Cafe")


def test_name_rules():
    assert len(LONG) == 300
    assert "200" in name_problem(LONG, "directorate")
    assert name_problem("x" * MAX_NAME_LENGTH, "directorate") is None
    assert "no letters" in name_problem("★★★", "team")
    assert "control" in name_problem("Digital\u202eSecivres", "team")
    assert name_problem("Управление цифровых услуг", "directorate") is None
    assert name_problem("数字服务", "directorate") is None


def test_a_300_character_directorate_is_refused_at_load_on_every_backend(engine, tmp_path):
    path = write_xlsx(tmp_path / "org.xlsx", [["Corporate", LONG, "Records", "", ""],
                                              ["Corporate", "Finance", "X" * 201, "", ""],
                                              ["G" * 250, "Estates", "Buildings", "", ""]], HEADERS)
    with pytest.raises(ValidationError) as err:
        _load(engine, path)
    located = {(p.row, p.column) for p in err.value.problems}
    assert located == {(2, "Directorate"), (3, "Team"), (4, "Group")}
    assert all("the most is 200" in p.message for p in err.value.problems)
    assert admin_service.organisation(engine).empty


def test_spellings_of_one_directorate_are_refused_with_their_rows(engine, tmp_path):
    path = write_xlsx(tmp_path / "org.xlsx", [
        ["Corporate", "Digital Services", "Web", "", ""],
        ["Corporate", "Digital-Services", "Data", "", ""],
        ["corporate", "digital services", "Platforms", "", ""],
        ["Corporate", "Finance", "Payroll", "", ""]], HEADERS)
    with pytest.raises(ValidationError) as err:
        _load(engine, path)
    by_place = {(p.row, p.column): p.message for p in err.value.problems}
    assert "same directorate as 'Digital Services' on row 2" in by_place[(3, "Directorate")]
    assert "same directorate as 'Digital Services' on row 2" in by_place[(4, "Directorate")]
    assert "same group as 'Corporate' on row 2" in by_place[(4, "Group")]
    assert admin_service.organisation(engine).empty


def test_a_respelt_organisation_renames_rather_than_duplicates(engine, tmp_path):
    first = write_xlsx(tmp_path / "one.xlsx", [["Corporate", "Digital Services", "Web Team", "", ""]],
                       HEADERS)
    _load(engine, first)
    before = admin_service.organisation(engine)
    again = write_xlsx(tmp_path / "two.xlsx", [["Corporate", "digital-services", "web team", "", ""]],
                       HEADERS)
    _load(engine, again)
    after = admin_service.organisation(engine)
    assert len(after) == 1 and after["team_id"].tolist() == before["team_id"].tolist()
    assert after[["directorate", "team"]].values.tolist() == [["digital-services", "web team"]]


def test_save_organisation_matches_names_by_the_rule(engine):
    org = pd.DataFrame({"team": ["Web"], "directorate": ["Digital Services"], "group": ["G"],
                        "director": [""], "information_managers": [[]]})
    admin_service.save_organisation(engine, org)
    admin_service.save_organisation(engine, org.assign(directorate="DIGITAL  SERVICES"))
    assert admin_service.organisation(engine)["directorate"].tolist() == ["DIGITAL  SERVICES"]
