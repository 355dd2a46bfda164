"""Documents as files: fetch a round's data and hand it to a renderer.

Every figure comes from the services the dashboard uses (the stored league and trend, scores
with their evidence), so a file never disagrees with what the pages show. The renderers
(``kim_metrics.reports``) take the plain data built here; the command line and the pages
call these functions. Each takes the reader: a file holds only what that person may see.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from kim_metrics.domain.errors import KimError
from kim_metrics.domain.rounds import next_label
from kim_metrics.domain.scoring import rollup
from kim_metrics.reports.boardpack import HISTORY_ROUNDS, BoardData, render_boardpack
from kim_metrics.reports.exports import LeagueExport, ScoresExport
from kim_metrics.reports.files import letter_file_names
from kim_metrics.reports.letters import (LetterData, RoundFacts, all_letters_from, directors_from,
                                         find_directorate, letter_from)
from kim_metrics.reports.registry import render, renderer
from kim_metrics.domain.access import ADMIN, DIRECTOR, EXECUTIVE, Actor, require
from kim_metrics.services import actions as action_service
from kim_metrics.services import admin as admin_service
from kim_metrics.services import league as league_service
from kim_metrics.services import scores as score_service
from kim_metrics.domain.frames import PERCENT, criterion_column
from kim_metrics.services.common import Progress, quiet


# League exports ------------------------------------------------------------------------------

def league_export(engine: Engine, round_label: str | None = None, level: str = "team", *,
                  actor: Actor, with_scores: bool = False) -> LeagueExport:
    """One round's league (the latest when none is named), with the scores and evidence
    ``actor`` may read when asked (none at all for a viewer)."""
    result = league_service.league(engine, round_label, level)
    scores = None
    if with_scores:
        scores = score_service.scored_round(engine, result.round.label, actor=actor).scores
        scores = scores if len(scores) else None
    return LeagueExport(table=result.table, criteria=result.criteria, level=level, scores=scores,
                        round_label=result.round.label,
                        previous_label=result.previous.label if result.previous else None)


def export_league(engine: Engine, round_label: str | None = None, level: str = "team",
                  fmt: str = "xlsx", *, actor: Actor) -> bytes:
    """The league table as a file's bytes, for the command line and a download button.
    The Excel file carries the scores ``actor`` may read, with their evidence, on a second sheet."""
    chosen = renderer("league", fmt)   # an unknown format is refused before any reading
    return chosen.render(league_export(engine, round_label, level, actor=actor,
                                       with_scores=chosen.name == "xlsx"))


def export_scores_csv(engine: Engine, round_label: str | None = None, *, actor: Actor) -> bytes:
    """Every score of a round with its evidence that ``actor`` may read, as CSV bytes."""
    scored = score_service.scored_round(engine, round_label, actor=actor)
    return render("scores", "csv", ScoresExport(scored.scores, scored.criteria))


# Letters -------------------------------------------------------------------------------------

def round_facts(engine: Engine, round_label: str | None, *, actor: Actor,
                directorate: str | None = None) -> RoundFacts:
    """What every letter of a round draws on, fetched once: the letters ``actor`` may read
    (every directorate's for the KIM team and the board, a director's own)."""
    require(actor, {ADMIN, EXECUTIVE, DIRECTOR}, "read letters to directors")
    by_directorate = league_service.league(engine, round_label, "directorate")
    label = by_directorate.round.label
    by_team = league_service.league(engine, label, "team")
    table = by_directorate.table
    visible = table[table["name"].map(actor.may_view_directorate)]
    if directorate is not None:
        visible = visible[visible["name"] == directorate]
    scored = score_service.scored_round(engine, label, actor=actor,
                                        directorates=visible["name"].tolist())
    previous = by_directorate.previous.label if by_directorate.previous else None
    before = league_service.league(engine, previous, "directorate").table if previous else None
    following = admin_service.find_round(engine, next_label(label))
    return RoundFacts(round=label, previous=previous, criteria=by_directorate.criteria,
                      directorates=visible, previous_directorates=before,
                      teams=by_team.table, scores=scored.scores,
                      directors=directors_from(admin_service.organisation(engine)),
                      next_deadline=following.deadline if following else None,
                      tracked=action_service.list_actions(engine, actor=actor, round_label=label))


def letter_data(engine: Engine, round_label: str | None, directorate: str,
                written: date | None = None, *, actor: Actor) -> LetterData:
    """The facts one letter states, for a directorate named in any case."""
    facts = round_facts(engine, round_label, actor=actor)
    name = find_directorate(facts, directorate)
    return letter_from(facts, name, written or date.today())


def all_letters(engine: Engine, round_label: str | None, written: date | None = None, *,
                actor: Actor) -> list[LetterData]:
    """Every directorate's letter data for a round that ``actor`` may read, in league order."""
    return all_letters_from(round_facts(engine, round_label, actor=actor), written or date.today())


def directorate_letter(engine: Engine, round_label: str | None, directorate: str,
                       fmt: str = "docx", written: date | None = None, *, actor: Actor) -> bytes:
    """One directorate's letter as Word or PDF bytes, for a download button."""
    chosen = renderer("letter", fmt)
    return chosen.render(letter_data(engine, round_label, directorate, written, actor=actor))


def letters_zip(engine: Engine, round_label: str | None, fmt: str = "pdf", written: date | None = None,
                *, actor: Actor, progress: Progress = quiet) -> bytes:
    """Every directorate's letter the reader may read, in one zip file, with progress by letter."""
    chosen = renderer("letter", fmt)
    progress(0.02, "Reading the round")
    letters = all_letters(engine, round_label, written, actor=actor)
    if not letters:
        raise KimError("There are no directorates to write to in this round.")
    names = letter_file_names([d.directorate for d in letters], letters[0].round, fmt)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for i, d in enumerate(letters):
            progress(0.05 + 0.95 * i / len(letters), f"Letter {i + 1} of {len(letters)}: {d.directorate}")
            archive.writestr(names[d.directorate], chosen.render(d))
    progress(1.0, f"{len(letters)} letters ready")
    return buffer.getvalue()


def write_letters(engine: Engine, round_label: str | None, folder: str | Path, fmt: str = "docx",
                  written: date | None = None, *, actor: Actor) -> list[Path]:
    """Write one letter per directorate into ``folder`` (made if missing); the paths written.

    Every letter is drawn before the first is written, so a letter that cannot be drawn
    leaves the folder as it was; each directorate gets its own file (``letter_file_names``).
    """
    chosen = renderer("letter", fmt)
    letters = all_letters(engine, round_label, written, actor=actor)
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

def board_data(engine: Engine, round_label: str | None = None, written: date | None = None, *,
               actor: Actor, progress: Progress = quiet) -> BoardData:
    """What the board pack shows for a round (the latest when none is named): for the KIM
    team and the board."""
    require(actor, {ADMIN, EXECUTIVE}, "read the board pack")
    progress(0.05, "Reading the league")
    by_team = league_service.league(engine, round_label, "team")
    label = by_team.round.label
    by_directorate = league_service.league(engine, label, "directorate")
    scored = score_service.scored_round(engine, label, actor=actor)
    trend = league_service.trend(engine)
    trend = trend[pd.to_datetime(trend["start_date"]) <= pd.Timestamp(by_team.round.start_date)]
    department = rollup(_as_teams(by_team), by_team.criteria, None).iloc[0].to_dict()
    history = {}
    earlier_rounds = list(trend["round"])[-HISTORY_ROUNDS:]
    for i, earlier in enumerate(earlier_rounds):
        progress(0.2 + 0.4 * i / max(len(earlier_rounds), 1), f"Reading round {earlier}")
        then = by_team if earlier == label else league_service.league(engine, earlier, "team")
        row = rollup(_as_teams(then), then.criteria, None).iloc[0]
        history[earlier] = {c.id: row.get(criterion_column(c.id, PERCENT)) for c in then.criteria}
    return BoardData(round=label, previous=by_team.previous.label if by_team.previous else None,
                     criteria=by_team.criteria, teams=by_team.table, directorates=by_directorate.table,
                     scores=scored.scores, trend=trend.reset_index(drop=True), department=department,
                     written=written or date.today(), criterion_history=history,
                     chase=_chase(engine, label, written or date.today()),
                     overdue_actions=action_service.overdue_by_directorate(
                         action_service.list_actions(engine, actor=actor, today=written or date.today())))


def _chase(engine: Engine, round_label: str, today: date) -> pd.DataFrame:
    """The round's teams without a return, with their information managers and the deadline in words."""
    from kim_metrics.services.reminders import days_text, missing_returns
    missing = missing_returns(engine, round_label, today=today).teams
    return missing.assign(when=[days_text(d) for d in missing["days"]])


def _as_teams(result: league_service.League) -> pd.DataFrame:
    """A team-level league table in the shape ``scoring.rollup`` reads (names as ``team``)."""
    return result.table.rename(columns={"name": "team"})


def boardpack_pdf(engine: Engine, round_label: str | None = None, written: date | None = None, *,
                  actor: Actor, progress: Progress = quiet) -> bytes:
    """The board pack for a round (the latest when none is named) as PDF bytes."""
    data = board_data(engine, round_label, written, actor=actor, progress=progress)
    progress(0.65, "Drawing the charts and pages")
    pdf = render_boardpack(data)
    progress(1.0, "Board pack ready")
    return pdf


def write_boardpack(engine: Engine, round_label: str | None, path: str | Path, *, actor: Actor) -> Path:
    path = Path(path)
    data = boardpack_pdf(engine, round_label, actor=actor)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise KimError(f"Cannot write {path}: {exc.strerror}. Check the folder exists and you can "
                       "write to it.") from None
    return path
