"""A small organisation and returns for the round calendar, actions and reminders tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from kim_metrics.domain.access import local_admin
from kim_metrics.services import admin as admin_service
from kim_metrics.services import returns as return_service
from kim_metrics.storage.returns import SavedReturn
from tests.support.returns import FULL_MARKS, NOTHING, long_rows, write_csv

DIRECTOR = "pat.lee@dept.gov.uk"
OTHER_DIRECTOR = "sam.roe@dept.gov.uk"
IM_TAX = "im.tax@dept.gov.uk"
IM_ESTATES = "im.estates@dept.gov.uk"
ORG = pd.DataFrame({
    "team": ["Tax Policy", "Trade Policy", "Estates"],
    "directorate": ["Policy", "Policy", "Corporate"], "group": ["G1", "G1", "G2"],
    "director": [DIRECTOR, DIRECTOR, OTHER_DIRECTOR],
    "information_managers": [[IM_TAX], ["im.trade@dept.gov.uk"], [IM_ESTATES]],
})
DIRECTORATE_OF = dict(zip(ORG["team"], ORG["directorate"]))
__all__ = ["FULL_MARKS", "NOTHING"]


def load_org(engine: Engine) -> None:
    admin_service.save_organisation(engine, ORG)


def ingest(engine: Engine, folder: Path, teams: dict[str, dict[str, object]], round_label: str,
           uploader: str = "local-admin", evidence: str = "Spot check, March",
           name: str | None = None) -> SavedReturn:
    """Save a return for {team: {criterion: score}} through the same service the pages use."""
    rows = []
    for team, scores in teams.items():
        rows += long_rows({team: scores}, directorate=DIRECTORATE_OF[team], evidence=evidence)
    path = write_csv(folder / (name or f"{round_label}-{'-'.join(sorted(teams))}.csv"), rows)
    preview = return_service.check_return(engine, path.read_bytes(), path.name, round_label,
                                          uploader=uploader)
    return return_service.save_preview(engine, preview, uploader=uploader)


def open_round(engine: Engine, label: str, deadline=None) -> None:
    admin_service.open_round(engine, label, actor=local_admin())
    if deadline is not None:
        admin_service.set_deadline(engine, label, deadline, actor=local_admin())
