"""Stored results: each round's team scores, statuses and ranks, and their roll-ups.

They are computed when data changes, in the same transaction as the change (a saved return,
a review, an organisation load, a round opened), so that every read (league, trend,
headline, letters, board pack) is a lookup. ``rebuild`` recomputes them from the scores;
the property tests check that what is stored always equals a fresh computation.

Each round keeps one table per level (``team``, ``directorate``, ``group``, ``department``)
in the shape the domain computes it (``scoring.team_scores`` plus ``rank``;
``league.level_table`` plus ``rank``), written as an Arrow IPC file in one row.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd
import pyarrow as pa
from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from kim_metrics.domain.criteria import CriteriaSet
from kim_metrics.domain.league import level_table, rank
from kim_metrics.domain.scoring import rollup, score_rows, team_scores
from kim_metrics.storage.criteria import criteria_version
from kim_metrics.storage.models import Round, RoundResult
from kim_metrics.storage.organisation import org_frame, round_teams
from kim_metrics.storage.rounds import RoundInfo, list_rounds
from kim_metrics.storage.scores import round_scores
from kim_metrics.domain.frames import STATUS_COUNT_PREFIX
from kim_metrics.domain.values import as_float

TEAM, DEPARTMENT = "team", "department"
UNIT_LEVELS = ("directorate", "group")
LEVELS = (TEAM, *UNIT_LEVELS, DEPARTMENT)
_COMPRESSION = "zstd"
# Columns that are whole numbers with gaps: Arrow gives them back as floats, so say so.
_NULLABLE_INTS = ("rank",)


# Computing ------------------------------------------------------------------------------

def compute_teams(conn: Connection, rnd: RoundInfo, org: pd.DataFrame | None = None
                  ) -> tuple[CriteriaSet, pd.DataFrame]:
    """A round's team table, ranked, freshly computed from its counting scores."""
    criteria = criteria_version(conn, rnd.criteria_version_id)
    org = org_frame(conn, include_inactive=True) if org is None else org
    scores = round_scores(conn, rnd.id, full=False)
    scores = scores[scores["criterion"].isin(criteria.ids)]
    info = round_teams(org, scores)[["team_id", "team", "directorate", "group"]]
    teams = team_scores(score_rows(scores, criteria), info, criteria)
    teams["rank"] = rank(teams["score"])
    return criteria, teams


def compute_units(teams: pd.DataFrame, criteria: CriteriaSet) -> dict[str, pd.DataFrame]:
    """Directorate, group and department roll-ups of a round's team table, ranked."""
    out = {}
    for level in UNIT_LEVELS:
        table = level_table(teams, criteria, level)
        table["rank"] = rank(table["score"])
        out[level] = table
    department = rollup(teams, criteria, None)
    department["rank"] = pd.array([pd.NA] * len(department), dtype="Int64")
    out[DEPARTMENT] = department
    return out


# Writing --------------------------------------------------------------------------------

def rebuild_round(conn: Connection, rnd: RoundInfo, org: pd.DataFrame | None = None) -> None:
    """Recompute and store one round's results, inside the caller's transaction."""
    criteria, teams = compute_teams(conn, rnd, org)
    tables = {TEAM: teams, **compute_units(teams, criteria)}
    conn.execute(delete(RoundResult).where(RoundResult.round_id == rnd.id))
    conn.execute(insert(RoundResult), [
        {"round_id": rnd.id, "level": level, "rows": len(table), "data": _pack(table)}
        for level, table in tables.items()])


def refresh_teams(conn: Connection, rnd: RoundInfo, team_ids: Iterable[int],
                  scores: pd.DataFrame | None = None, info: pd.DataFrame | None = None) -> None:
    """Bring a round's stored results up to date after the scores of ``team_ids`` changed
    (a saved return, a review), inside the caller's transaction.

    Only those teams are scored again; every other team's row is the stored one, and ranks and
    roll-ups are worked out afresh over all of them, so the result equals ``rebuild_round``
    (the property tests hold it to that). ``scores`` are the teams' counting scores when the
    caller has them in hand (a return just saved); otherwise they are read. ``info`` gives
    team, directorate and group for teams the stored table does not have yet.
    """
    ids = sorted({int(t) for t in team_ids})
    criteria = criteria_version(conn, rnd.criteria_version_id)
    data = _blob(conn, rnd.id, TEAM)
    if data is not None:
        stored = _unpack(data)
    else:
        # A round opened by this very save: every team in the organisation, none returned yet.
        nobody = round_scores(conn, rnd.id, full=False, team_ids=[])
        org = org_frame(conn, include_inactive=True)
        empty = round_teams(org, nobody)[["team_id", "team", "directorate", "group"]]
        stored = team_scores(score_rows(nobody, criteria), empty, criteria)
    if scores is None:
        scores = round_scores(conn, rnd.id, full=False, team_ids=ids)
    scores = scores[scores["criterion"].isin(criteria.ids)]
    known = stored[stored["team_id"].isin(ids)][["team_id", "team", "directorate", "group"]]
    new = [] if info is None else [info[~info["team_id"].isin(known["team_id"])]]
    teams_info = pd.concat([known, *new], ignore_index=True)
    changed = team_scores(score_rows(scores, criteria), teams_info, criteria)
    kept = stored[~stored["team_id"].isin(ids)].drop(columns="rank", errors="ignore")
    teams = pd.concat([kept, changed], ignore_index=True) if len(kept) else changed
    teams["rank"] = rank(teams["score"])
    tables = {TEAM: teams, **compute_units(teams, criteria)}
    conn.execute(delete(RoundResult).where(RoundResult.round_id == rnd.id))
    conn.execute(insert(RoundResult), [
        {"round_id": rnd.id, "level": level, "rows": len(table), "data": _pack(table)}
        for level, table in tables.items()])


def rebuild(conn: Connection, rounds: Iterable[RoundInfo] | None = None) -> list[str]:
    """Recompute the results of ``rounds`` (every round when None); the labels rebuilt."""
    org = org_frame(conn, include_inactive=True)
    done = []
    for rnd in (list_rounds(conn) if rounds is None else rounds):
        rebuild_round(conn, rnd, org)
        done.append(rnd.label)
    return done


def rounds_without_results(conn: Connection) -> list[RoundInfo]:
    """Rounds with no stored results yet (a database from before results were stored)."""
    have = set(conn.scalars(select(RoundResult.round_id).where(RoundResult.level == DEPARTMENT)))
    return [r for r in list_rounds(conn) if r.id not in have]


def _pack(table: pd.DataFrame) -> bytes:
    sink = pa.BufferOutputStream()
    # NaN in an object column (a criterion nobody scored) is stored as null.
    arrow = pa.Table.from_pandas(table.reset_index(drop=True), preserve_index=False)
    options = pa.ipc.IpcWriteOptions(compression=_COMPRESSION)
    with pa.ipc.new_file(sink, arrow.schema, options=options) as writer:
        writer.write_table(arrow)
    return sink.getvalue().to_pybytes()


def _unpack(data: bytes, columns: list[str] | None = None) -> pd.DataFrame:
    table = pa.ipc.open_file(pa.py_buffer(data)).read_all()
    if columns is not None:
        table = table.select([c for c in columns if c in table.column_names])
    frame = table.to_pandas()
    for column in _NULLABLE_INTS:
        if column in frame:
            frame[column] = frame[column].astype("Int64")
    return frame


# Reading --------------------------------------------------------------------------------

def _blob(conn: Connection, round_id: int, level: str) -> bytes | None:
    return conn.scalar(select(RoundResult.data).where(RoundResult.round_id == round_id,
                                                     RoundResult.level == level))


def read_level(conn: Connection, round_id: int, level: str, columns: list[str] | None = None
               ) -> pd.DataFrame:
    """A round's stored table at ``level`` (all its columns, or only ``columns``)."""
    data = _blob(conn, round_id, level)
    if data is None:
        raise LookupError(f"round {round_id} has no stored {level} results; run `kim rebuild`")
    return _unpack(data, columns)


def read_teams(conn: Connection, round_id: int) -> pd.DataFrame:
    """A round's stored team table, in the shape ``scoring.team_scores`` gives, with ``rank``."""
    return read_level(conn, round_id, TEAM)


def read_units(conn: Connection, round_id: int, level: str) -> pd.DataFrame:
    """A round's stored roll-up at ``level``, in the shape ``league.level_table`` gives."""
    return read_level(conn, round_id, level)


def read_ranks(conn: Connection, round_id: int, level: str) -> pd.DataFrame:
    """Each team's (or unit's) rank and score in a round: what movement is measured against."""
    key = "team_id" if level == TEAM else "name"
    return read_level(conn, round_id, level, [key, "rank", "score"])


def department_trend(conn: Connection) -> pd.DataFrame:
    """The department's row of every round, oldest first: score and teams per status."""
    stmt = (select(Round.label, Round.start_date, RoundResult.data)
            .join(Round, RoundResult.round_id == Round.id)
            .where(RoundResult.level == DEPARTMENT).order_by(Round.start_date))
    out = []
    for label, start, data in conn.execute(stmt).all():
        row = _unpack(data).iloc[0]
        counts = {c.removeprefix(STATUS_COUNT_PREFIX): int(row[c]) for c in row.index
                  if c.startswith(STATUS_COUNT_PREFIX)}
        score = row["score"]
        out.append({"round": label, "start_date": start,
                    "score": as_float(score), **counts})
    return pd.DataFrame(out) if out else pd.DataFrame(columns=["round", "start_date", "score"])

