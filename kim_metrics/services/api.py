"""What the command line and the dashboard call: one function per thing a person does.

Each function takes an engine and plain arguments and returns plain data (dataclasses and
DataFrames). Caching belongs to the dashboard, not here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from kim_metrics.domain import access
from kim_metrics.storage import people
from kim_metrics.storage import audit
from kim_metrics.storage import criteria as criteria_store
from kim_metrics.storage import organisation as org_store
from kim_metrics.storage import returns as return_store
from kim_metrics.storage import rounds as round_store
from kim_metrics.storage import scores as score_store
from kim_metrics.domain.access import ADMIN, Actor
from kim_metrics.domain.criteria import CriteriaSet, parse_criteria
from kim_metrics.domain.errors import KimError, NotFoundError
from kim_metrics.domain.league import build_league
from kim_metrics.reading.organisation import parse_org
from kim_metrics.reading.reader import read_workbook
from kim_metrics.reading.returns import ParsedReturn, parse_return
from kim_metrics.domain.rounds import normalise_label
from kim_metrics.domain.scoring import CHALLENGED, SELF_DECLARED, VERIFIED, rag_mix, score_rows, team_scores

Progress = Callable[[float, str], None]


def _quiet(_fraction: float, _message: str) -> None:
    pass


@dataclass(frozen=True)
class ScoredRound:
    round: round_store.RoundInfo
    criteria: CriteriaSet
    scores: pd.DataFrame   # one row per team × criterion, scored, with team, directorate, group
    teams: pd.DataFrame    # one row per team in the league, with score and RAG


@dataclass(frozen=True)
class League:
    round: round_store.RoundInfo
    previous: round_store.RoundInfo | None
    criteria: CriteriaSet
    level: str
    table: pd.DataFrame


@dataclass(frozen=True)
class Preview:
    """A checked return not yet saved: what saving it would produce."""

    parsed: ParsedReturn
    round: str
    round_exists: bool
    criteria: CriteriaSet
    file_hash: str
    scores: pd.DataFrame        # scored rows
    teams: pd.DataFrame         # the return's teams with score and RAG
    same_file: dict | None      # an earlier identical return still counting


def rounds(engine: Engine) -> list[round_store.RoundInfo]:
    with engine.connect() as conn:
        return round_store.list_rounds(conn)


def latest_round(engine: Engine) -> round_store.RoundInfo | None:
    found = rounds(engine)
    return found[-1] if found else None


def _resolve_round(conn, label: str | None) -> round_store.RoundInfo:
    if label:
        return round_store.get_round(conn, label)
    found = round_store.list_rounds(conn)
    if not found:
        raise NotFoundError("There are no rounds yet. Load returns with `kim ingest FILE --round "
                            "2026-Q3`, or load the demo department with `kim demo`.")
    return found[-1]


def _scored(conn, rnd: round_store.RoundInfo, org: pd.DataFrame | None = None, *,
            full: bool = True) -> ScoredRound:
    """A round's scores and team table. ``full=False`` skips the evidence text and team
    names on each score: the league and the trend need only the numbers."""
    criteria = criteria_store.criteria_version(conn, rnd.criteria_version_id)
    org = org_store.org_frame(conn, include_inactive=True) if org is None else org
    scores = score_store.round_scores(conn, rnd.id, full=full)
    scores = scores[scores["criterion"].isin(criteria.ids)]
    info = org_store.round_teams(org, scores)[["team_id", "team", "directorate", "group"]]
    scored = score_rows(scores, criteria)
    if full:
        scored = scored.merge(info, on="team_id", how="left")
    return ScoredRound(round=rnd, criteria=criteria, scores=scored,
                       teams=team_scores(scored, info, criteria))


def scored_round(engine: Engine, round_label: str | None = None) -> ScoredRound:
    with engine.connect() as conn:
        return _scored(conn, _resolve_round(conn, round_label))


def review_mix(engine: Engine, round_label: str | None = None) -> dict[str, int]:
    """Verified, challenged and self-declared scores in a round (the latest when none is named)."""
    with engine.connect() as conn:
        counts = score_store.review_counts(conn, _resolve_round(conn, round_label).id)
    return {s: counts.get(s, 0) for s in (VERIFIED, CHALLENGED, SELF_DECLARED)}


def league(engine: Engine, round_label: str | None = None, level: str = "team") -> League:
    """The league table for a round (the latest when none is named) at a level."""
    with engine.connect() as conn:
        rnd = _resolve_round(conn, round_label)
        org = org_store.org_frame(conn, include_inactive=True)
        current = _scored(conn, rnd, org, full=False)
        prev = round_store.previous_round(conn, rnd.label)
        previous = _scored(conn, prev, org, full=False) if prev else None
    table = build_league(current.teams, previous.teams if previous else None, current.criteria, level)
    return League(round=rnd, previous=prev, criteria=current.criteria, level=level, table=table)


def rag_trend(engine: Engine) -> pd.DataFrame:
    """Teams per status in every round, oldest first: the department's trend."""
    rows = []
    with engine.connect() as conn:
        org = org_store.org_frame(conn, include_inactive=True)
        for rnd in round_store.list_rounds(conn):
            scored = _scored(conn, rnd, org, full=False)
            mix = rag_mix(scored.teams, scored.criteria)
            returned = scored.teams["score"].dropna()
            rows.append({"round": rnd.label, "start_date": rnd.start_date,
                         "score": round(float(returned.mean()), 1) if len(returned) else None,
                         **mix})
    return pd.DataFrame(rows)


def file_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def resolve_actor(engine: Engine, who: Actor | str) -> Actor:
    """The person acting, with the roles and scope their email gives them."""
    if isinstance(who, Actor):
        return who
    with engine.connect() as conn:
        return people.resolve(conn, who)


def check_return(engine: Engine, data: bytes, file_name: str, round_label: str,
                 mapping: dict[str, str] | None = None, *, progress: Progress = _quiet,
                 uploader: Actor | str | None = None) -> Preview:
    """Read and validate a return, and score it, without saving anything.

    With ``uploader`` named, a return that touches a team outside their scope is refused
    here too, so they learn it before they confirm.
    """
    label = normalise_label(round_label)
    progress(0.05, f"Reading {file_name}")
    workbook = read_workbook(data, file_name=file_name)
    with engine.connect() as conn:
        rnd = round_store.find_round(conn, label)
        criteria = (criteria_store.criteria_version(conn, rnd.criteria_version_id) if rnd
                    else criteria_store.current_criteria(conn)[1])
        org = org_store.org_frame(conn)
        progress(0.4, "Checking every cell")
        parsed = parse_return(workbook, criteria, org, mapping)
        digest = file_hash(data)
        same = return_store.find_same_file(conn, digest, label)
        if uploader is not None:
            _require_submit(people.resolve(conn, uploader) if isinstance(uploader, str) else uploader,
                            parsed)
    progress(0.8, "Working out scores and RAG")
    scored = score_rows(parsed.scores, criteria)
    teams = parsed.scores.drop_duplicates("team_id")[["team_id", "team", "directorate", "group"]]
    progress(1.0, "Checked")
    return Preview(parsed=parsed, round=label, round_exists=rnd is not None, criteria=criteria,
                   file_hash=digest, scores=scored, teams=team_scores(scored, teams, criteria),
                   same_file=same)


def _require_submit(who: Actor, parsed: ParsedReturn) -> None:
    if not parsed.new_teams.empty:
        access.require(who, {ADMIN}, "add teams that are not in the organisation structure")
    access.require_submit(who, parsed.scores.drop_duplicates("team_id")[["team_id", "team"]])


def save_preview(engine: Engine, preview: Preview, *, uploader: Actor | str) -> return_store.SavedReturn:
    """Save a checked return; one transaction, so it is saved whole or not at all.

    The uploader's scope is checked again here: the preview may be old, or forged.
    """
    who = resolve_actor(engine, uploader)
    _require_submit(who, preview.parsed)
    return return_store.save_return(engine, preview.parsed, preview.round, uploader=who.email,
                             file_hash=preview.file_hash)


def read_file(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise KimError(f"{path}: no such file. Check the name and folder.") from None
    except IsADirectoryError:
        raise KimError(f"{path} is a folder, not a file.") from None
    except PermissionError:
        raise KimError(f"{path}: permission denied. Check you can open the file.") from None


def load_org(engine: Engine, data: bytes, file_name: str, *, actor: Actor | str) -> dict[str, int]:
    who = resolve_actor(engine, actor)
    access.require(who, {ADMIN}, "load the organisation structure")
    teams = parse_org(read_workbook(data, file_name=file_name))
    return org_store.save_org(engine, teams, actor=who.email)


def load_criteria(engine: Engine, text: str, *, actor: Actor | str,
                  file_name: str = "criteria.toml") -> CriteriaSet:
    who = resolve_actor(engine, actor)
    access.require(who, {ADMIN}, "change the criteria")
    criteria = parse_criteria(text, file_name=file_name)
    criteria_store.save_criteria(engine, text, who.email)
    return criteria


def current_criteria(engine: Engine) -> CriteriaSet:
    with engine.connect() as conn:
        return criteria_store.current_criteria(conn)[1]


def round_criteria(engine: Engine, round_label: str | None) -> CriteriaSet:
    """The criteria a round was opened with; the criteria in force for a round not yet open."""
    with engine.connect() as conn:
        rnd = round_store.find_round(conn, round_label) if round_label else None
        if rnd:
            return criteria_store.criteria_version(conn, rnd.criteria_version_id)
        return criteria_store.current_criteria(conn)[1]


def open_round(engine: Engine, round_label: str, *, actor: Actor | str) -> tuple[round_store.RoundInfo, bool]:
    who = resolve_actor(engine, actor)
    access.require(who, {ADMIN}, "open a round")
    with engine.begin() as conn:
        return round_store.open_round(conn, round_label, who.email)


def review_score(engine: Engine, score_id: int, *, status: str, actor: Actor | str,
                 value: float | None = None, note: str = "") -> dict:
    """Verify a score, or challenge it with the value it should count at and why."""
    who = resolve_actor(engine, actor)
    access.require(who, {ADMIN}, "verify or challenge evidence")
    return score_store.review_score(engine, score_id, status=status, value=value, note=note,
                              reviewer=who.email)


def audit_trail(engine: Engine, *, round_label: str | None = None, actor: str | None = None,
                action: str | None = None) -> pd.DataFrame:
    with engine.connect() as conn:
        return audit.trail(conn, round_label=normalise_label(round_label) if round_label else None,
                           actor=actor, action=action)


def grant_role(engine: Engine, email: str, role: str, *, actor: Actor | str) -> bool:
    """Name someone admin or executive; False when they already were."""
    return _change_role(engine, email, role, actor=actor, grant=True)


def revoke_role(engine: Engine, email: str, role: str, *, actor: Actor | str) -> bool:
    """Take a granted role away; False when they did not have it."""
    return _change_role(engine, email, role, actor=actor, grant=False)


def _change_role(engine: Engine, email: str, role: str, *, actor: Actor | str, grant: bool) -> bool:
    who = resolve_actor(engine, actor)
    access.require(who, {ADMIN}, "grant or revoke roles")
    with engine.begin() as conn:
        changed = (people.grant if grant else people.revoke)(conn, email, role)
        if changed:
            audit.record(conn, actor=who.email, target=email.strip().lower(),
                         action=audit.ROLE_GRANTED if grant else audit.ROLE_REVOKED,
                         **({"after": {"role": role}} if grant else {"before": {"role": role}}))
        return changed


def role_grants(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return people.grants(conn)


def organisation(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return org_store.org_frame(conn)


def returns(engine: Engine, round_label: str | None = None) -> pd.DataFrame:
    with engine.connect() as conn:
        return return_store.returns_frame(conn, round_label)

