import pytest

from kim_metrics.domain.errors import ValidationError
from kim_metrics.reading.organisation import parse_org
from kim_metrics.reading.reader import read_workbook
from tests.support.returns import write_xlsx

HEADERS = ["Group", "Directorate", "Team", "Director", "Information managers"]


def test_org_workbook_reads_with_email_lists(tmp_path):
    rows = [["G1", "Policy", "Tax Policy", "Pat.Lee@dept.gov.uk", "a@dept.gov.uk; b@dept.gov.uk"],
            ["G1", "Policy", "Fiscal", "pat.lee@dept.gov.uk", "c@dept.gov.uk,d@dept.gov.uk"]]
    org = parse_org(read_workbook(write_xlsx(tmp_path / "org.xlsx", rows, HEADERS)))
    assert org["team"].tolist() == ["Tax Policy", "Fiscal"]
    assert org.loc[0, "director"] == "pat.lee@dept.gov.uk"
    assert org.loc[1, "information_managers"] == ["c@dept.gov.uk", "d@dept.gov.uk"]


def test_org_problems_are_located(tmp_path):
    rows = [["G1", "Policy", "Tax Policy", "not-an-email", ""],
            ["G1", "Policy", "Tax Policy", "", ""],
            ["G2", "Policy", "Fiscal", "", "x@y"],
            ["", "Ops", "Estates", "", ""]]
    with pytest.raises(ValidationError) as err:
        parse_org(read_workbook(write_xlsx(tmp_path / "org.xlsx", rows, HEADERS)))
    located = {(p.row, p.column): p.message for p in err.value.problems}
    assert "not an email" in located[(2, "Director")]
    assert "listed twice" in located[(3, "Team")]
    assert "not an email" in located[(4, "Information managers")]
    assert "more than one group" in located[(2, "Group")]
    assert "group is empty" in located[(5, "Group")]


def test_org_without_columns(tmp_path):
    with pytest.raises(ValidationError, match="organisation columns"):
        parse_org(read_workbook(write_xlsx(tmp_path / "x.xlsx", [["a", "b"]], ["Name", "Other"])))
