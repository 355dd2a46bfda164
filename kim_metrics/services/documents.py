"""Documents as files: fetch a round's data through the api and hand it to a renderer.

Every figure comes from ``api.league``, ``api.scored_round`` and ``api.rag_trend``, the
functions the dashboard uses, so a file never disagrees with what the pages show. The
renderers (``kim_metrics.reports``) take the plain data built here; the command line and
the pages call these functions.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from kim_metrics.domain.errors import KimError
from kim_metrics.domain.scoring import rollup
from kim_metrics.reports.boardpack import HISTORY_ROUNDS, BoardData, render_boardpack
from kim_metrics.reports.exports import LeagueExport, ScoresExport
from kim_metrics.reports.files import letter_file_names
from kim_metrics.reports.letters import (LetterData, RoundFacts, all_letters_from, directors_from,
                                         find_directorate, letter_from)
from kim_metrics.reports.registry import render, renderer
from kim_metrics.services import api


# League exports ------------------------------------------------------------------------------

def league_export(engine: Engine, round_label: str | None = None, level: str = "team", *,
                  with_scores: bool = False) -> LeagueExport:
    """One round's league (the latest when none is named), with every score when asked."""
    result = api.league(engine, round_label, level)
    scores = api.scored_round(engine, result.round.label).scores if with_scores else None
    return LeagueExport(table=result.table, criteria=result.criteria, level=level, scores=scores,
                        round_label=result.round.label,
                        previous_label=result.previous.label if result.previous else None)


def export_league(engine: Engine, round_label: str | None = None, level: str = "team",
                  fmt: str = "xlsx") -> bytes:
    """The league table as a file's bytes, for the command line and a download button.
    The Excel file carries every score with its evidence on a second sheet."""
    chosen = renderer("league", fmt)   # an unknown format is refused before any reading
    return chosen.render(league_export(engine, round_label, level, with_scores=chosen.name == "xlsx"))


def export_scores_csv(engine: Engine, round_label: str | None = None) -> bytes:
    """Every score of a round with its evidence, as CSV bytes."""
    scored = api.scored_round(engine, round_label)
    return render("scores", "csv", ScoresExport(scored.scores, scored.criteria))


# Letters -------------------------------------------------------------------------------------

def round_facts(engine: Engine, round_label: str | None) -> RoundFacts:
    """What every letter of a round draws on, fetched once."""
    by_directorate = api.league(engine, round_label, "directorate")
    label = by_directorate.round.label
    by_team = api.league(engine, label, "team")
    scored = api.scored_round(engine, label)
    previous = by_directorate.previous.label if by_directorate.previous else None
    before = api.league(engine, previous, "directorate").table if previous else None
    return RoundFacts(round=label, previous=previous, criteria=by_directorate.criteria,
                      directorates=by_directorate.table, previous_directorates=before,
                      teams=by_team.table, scores=scored.scores,
                      directors=directors_from(api.organisation(engine)))


def letter_data(engine: Engine, round_label: str | None, directorate: str,
                written: date | None = None) -> LetterData:
    """The facts one letter states, for a directorate named in any case."""
    facts = round_facts(engine, round_label)
    return letter_from(facts, find_directorate(facts, directorate), written or date.today())


def all_letters(engine: Engine, round_label: str | None, written: date | None = None) -> list[LetterData]:
    """Every directorate's letter data for a round, in league order."""
    return all_letters_from(round_facts(engine, round_label), written or date.today())


def directorate_letter(engine: Engine, round_label: str | None, directorate: str,
                       fmt: str = "docx", written: date | None = None) -> bytes:
    """One directorate's letter as Word or PDF bytes, for a download button."""
    chosen = renderer("letter", fmt)
    return chosen.render(letter_data(engine, round_label, directorate, written))


def write_letters(engine: Engine, round_label: str | None, folder: str | Path, fmt: str = "docx",
                  written: date | None = None) -> list[Path]:
    """Write one letter per directorate into ``folder`` (made if missing); the paths written.

    Every letter is drawn before the first is written, so a letter that cannot be drawn
    leaves the folder as it was; each directorate gets its own file (``letter_file_names``).
    """
    chosen = renderer("letter", fmt)
    letters = all_letters(engine, round_label, written)
    names = letter_file_names([d.directorate for d in letters], letters[0].round if letters else "", fmt)
    if len({n.casefold() for n in names.values()}) != len(letters):
        raise KimError("Two directorates' letters would share a file name; rename one of them "
                       "in the organisation workbook and try again.")
    files = [(names[d.directorate], chosen.render(d)) for d in letters]
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KimError(f"Cannot make the folder {folder}: {exc.strerror}.") from None
    paths = []
    for name, content in files:
        path = folder / name
        try:
            path.write_bytes(content)
        except OSError as exc:
            raise KimError(f"Cannot write {path}: {exc.strerror}. {len(paths)} of {len(files)} "
                           "letters were written; check you can write to the folder and run "
                           "the command again.") from None
        paths.append(path)
    return paths


# Board pack ----------------------------------------------------------------------------------

def board_data(engine: Engine, round_label: str | None = None, written: date | None = None) -> BoardData:
    """What the board pack shows for a round (the latest when none is named)."""
    by_team = api.league(engine, round_label, "team")
    label = by_team.round.label
    by_directorate = api.league(engine, label, "directorate")
    scored = api.scored_round(engine, label)
    trend = api.rag_trend(engine)
    trend = trend[pd.to_datetime(trend["start_date"]) <= pd.Timestamp(by_team.round.start_date)]
    department = rollup(scored.teams, scored.criteria, None).iloc[0].to_dict()
    history = {}
    for earlier in list(trend["round"])[-HISTORY_ROUNDS:]:
        then = scored if earlier == label else api.scored_round(engine, earlier)
        row = rollup(then.teams, then.criteria, None).iloc[0]
        history[earlier] = {c.id: row.get(f"{c.id}.percent") for c in then.criteria}
    return BoardData(round=label, previous=by_team.previous.label if by_team.previous else None,
                     criteria=by_team.criteria, teams=by_team.table, directorates=by_directorate.table,
                     scores=scored.scores, trend=trend.reset_index(drop=True), department=department,
                     written=written or date.today(), criterion_history=history)


def boardpack_pdf(engine: Engine, round_label: str | None = None, written: date | None = None) -> bytes:
    """The board pack for a round (the latest when none is named) as PDF bytes."""
    return render_boardpack(board_data(engine, round_label, written))


def write_boardpack(engine: Engine, round_label: str | None, path: str | Path) -> Path:
    path = Path(path)
    data = boardpack_pdf(engine, round_label)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise KimError(f"Cannot write {path}: {exc.strerror}. Check the folder exists and you can "
                       "write to it.") from None
    return path
