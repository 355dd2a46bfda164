"""Returns on disk for the tests: long-layout rows for chosen scores, written as CSV or xlsx."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

REALDATA = Path(__file__).resolve().parents[3] / "shared" / "realdata"
RETURN_HEADERS = ["Group", "Directorate", "Team", "Criterion", "Score", "Evidence",
                  "Evidence link", "Comment"]


def long_rows(teams: dict[str, dict[str, object]], *, directorate: str = "Digital",
              group: str = "Corporate", evidence: str = "Spot check, March") -> list[list[object]]:
    """Long-layout rows for {team: {criterion id: score}}, each with evidence."""
    return [[group, directorate, team, cid, score, evidence, "", ""]
            for team, scores in teams.items() for cid, score in scores.items()]


def write_csv(path: Path, rows: list[list[object]], headers: list[str] = RETURN_HEADERS) -> Path:
    pd.DataFrame(rows, columns=headers).to_csv(path, index=False)
    return path


def write_xlsx(path: Path, rows: list[list[object]], headers: list[str] = RETURN_HEADERS,
               sheet: str = "Return") -> Path:
    from openpyxl import Workbook
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(headers)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


FULL_MARKS = {"naming": 3, "corporate_system": 3, "what_to_keep": 3, "asset_register": 3,
              "information_manager": "Yes", "training": 100, "legacy_review": 3}
NOTHING = {"naming": 0, "corporate_system": 0, "what_to_keep": 0, "asset_register": 0,
           "information_manager": "No", "training": 0, "legacy_review": 0}


# A small organisation with directors and information managers, for the access rules: two
# directorates, one information manager who looks after two teams.
ORG = pd.DataFrame({
    "team": ["Tax Policy", "Fiscal", "Estates"],
    "directorate": ["Policy", "Policy", "Corporate"], "group": ["G1", "G1", "G2"],
    "director": ["pat.lee@dept.gov.uk", "pat.lee@dept.gov.uk", "sam.roe@dept.gov.uk"],
    "information_managers": [["im.policy@dept.gov.uk"], ["im.policy@dept.gov.uk", "im.fiscal@dept.gov.uk"],
                             ["im.estates@dept.gov.uk"]],
})
