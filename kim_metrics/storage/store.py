"""Reading and writing the department's records. Every write is one transaction."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime

import pandas as pd
from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.engine import Connection, Engine

from kim_metrics.storage import audit
from kim_metrics.domain.criteria import DEFAULT_CRITERIA_PATH, CriteriaSet, parse_criteria
from kim_metrics.storage.db import (CriteriaVersion, Directorate, Return, Round, Score, Team, init_db, retry_when_busy, utcnow,
                 write_transaction)
from kim_metrics.domain.errors import KimError, NotFoundError
from kim_metrics.domain.rounds import normalise_label, start_date
from kim_metrics.reading.returns import ParsedReturn

SYSTEM_ACTOR = "system"


@dataclass(frozen=True)
class RoundInfo:
    id: int
    label: str
    start_date: date
    criteria_version_id: int
    opened_at: datetime
    opened_by: str


@dataclass(frozen=True)
class SavedReturn:
    return_id: int
    round: str
    teams: int
    scores: int
    superseded: int          # scores from earlier returns this one replaced
    new_teams: int           # teams discovered from the return (no organisation loaded)
    round_opened: bool


def ensure_schema(engine: Engine, default_criteria: str | None = None) -> None:
    """Create or upgrade the schema; load the shipped criteria into an empty database."""
    init_db(engine)
    with engine.begin() as conn:
        if conn.scalar(select(func.count()).select_from(CriteriaVersion)) == 0:
            if default_criteria is None:
                default_criteria = DEFAULT_CRITERIA_PATH.read_text(encoding="utf-8")
            parse_criteria(default_criteria)
            conn.execute(insert(CriteriaVersion).values(toml=default_criteria, loaded_by=SYSTEM_ACTOR,
                                                        loaded_at=utcnow()))


# Criteria -------------------------------------------------------------------------------

def current_criteria(conn: Connection) -> tuple[int, CriteriaSet]:
    row = conn.execute(select(CriteriaVersion.id, CriteriaVersion.toml)
                       .order_by(CriteriaVersion.id.desc()).limit(1)).first()
    if row is None:
        raise KimError("The database has no criteria. Run `kim init` first.")
    return row.id, parse_criteria(row.toml)


def criteria_version(conn: Connection, version_id: int) -> CriteriaSet:
    text = conn.scalar(select(CriteriaVersion.toml).where(CriteriaVersion.id == version_id))
    return _parsed(text)


@lru_cache(maxsize=32)
def _parsed(text: str) -> CriteriaSet:
    # Stored criteria never change and a CriteriaSet is immutable: parse each text once.
    return parse_criteria(text)


@retry_when_busy
def save_criteria(engine: Engine, toml_text: str, actor: str) -> int:
    """Store a new criteria version; it applies to rounds opened from now on."""
    parse_criteria(toml_text)
    with write_transaction(engine) as conn:
        before = conn.scalar(select(CriteriaVersion.toml).order_by(CriteriaVersion.id.desc()).limit(1))
        version_id = conn.execute(insert(CriteriaVersion).values(
            toml=toml_text, loaded_by=actor, loaded_at=utcnow())).inserted_primary_key[0]
        audit.record(conn, actor=actor, action=audit.CRITERIA_LOADED,
                     target=f"criteria version {version_id}", before=before, after=toml_text)
        return version_id


# Rounds ---------------------------------------------------------------------------------

def _round_info(row) -> RoundInfo:
    return RoundInfo(row.id, row.label, row.start_date, row.criteria_version_id, row.opened_at,
                     row.opened_by)


def find_round(conn: Connection, label: str) -> RoundInfo | None:
    row = conn.execute(select(Round.__table__).where(Round.label == normalise_label(label))).first()
    return _round_info(row) if row else None


def get_round(conn: Connection, label: str) -> RoundInfo:
    found = find_round(conn, label)
    if found is None:
        known = ", ".join(r.label for r in list_rounds(conn)) or "none yet"
        raise NotFoundError(f"There is no round {normalise_label(label)}. Rounds: {known}. "
                            "An admin opens a round, or the first return for it does.")
    return found


def list_rounds(conn: Connection) -> list[RoundInfo]:
    rows = conn.execute(select(Round.__table__).order_by(Round.start_date)).all()
    return [_round_info(r) for r in rows]


def open_round(conn: Connection, label: str, actor: str) -> tuple[RoundInfo, bool]:
    """The round, opened now with the criteria in force if it did not exist; (round, opened?)."""
    label = normalise_label(label)
    existing = find_round(conn, label)
    if existing:
        return existing, False
    version_id, _ = current_criteria(conn)
    conn.execute(insert(Round).values(label=label, start_date=start_date(label),
                                      criteria_version_id=version_id, opened_by=actor,
                                      opened_at=utcnow()))
    audit.record(conn, actor=actor, action=audit.ROUND_OPENED, target=f"round {label}",
                 round_label=label, after={"round": label, "criteria_version": version_id})
    return get_round(conn, label), True


def previous_round(conn: Connection, label: str) -> RoundInfo | None:
    this = get_round(conn, label)
    row = conn.execute(select(Round.__table__).where(Round.start_date < this.start_date)
                       .order_by(Round.start_date.desc()).limit(1)).first()
    return _round_info(row) if row else None


# Organisation ---------------------------------------------------------------------------

def org_frame(conn: Connection, *, include_inactive: bool = False) -> pd.DataFrame:
    """One row per team: team_id, team, directorate, group, director, information_managers."""
    stmt = (select(Team.id.label("team_id"), Team.name.label("team"),
                   Directorate.name.label("directorate"), Directorate.group_name.label("group"),
                   Directorate.director_email.label("director"),
                   Team.information_managers, Team.active)
            .join(Directorate, Team.directorate_id == Directorate.id)
            .order_by(Directorate.group_name, Directorate.name, Team.name))
    if not include_inactive:
        stmt = stmt.where(Team.active.is_(True))
    return _frame(conn.execute(stmt), ["team_id", "team", "directorate", "group", "director",
                                       "information_managers", "active"])


@retry_when_busy
def save_org(engine: Engine, teams: pd.DataFrame, *, actor: str = SYSTEM_ACTOR) -> dict[str, int]:
    """Make the database's organisation match ``teams`` (from ``org.parse_org``).

    Teams missing from the new workbook are kept, inactive, so their history stays.
    """
    with write_transaction(engine) as conn:
        before = _org_snapshot(conn)
        directorates = {r.name: r for r in conn.execute(select(Directorate.__table__))}
        counts = {"teams_added": 0, "teams_updated": 0, "teams_retired": 0, "directorates": 0}
        by_dir = teams.groupby("directorate", sort=False)
        for name, rows in by_dir:
            first = rows.iloc[0]
            values = {"group_name": first["group"], "director_email": first["director"] or None}
            if name in directorates:
                conn.execute(update(Directorate).where(Directorate.id == directorates[name].id)
                             .values(**values))
                d_id = directorates[name].id
            else:
                d_id = conn.execute(insert(Directorate).values(name=name, **values)).inserted_primary_key[0]
            counts["directorates"] += 1
            existing = {t.name: t for t in conn.execute(select(Team.__table__).where(Team.directorate_id == d_id))}
            for r in rows.itertuples():
                ims = "; ".join(r.information_managers)
                if r.team in existing:
                    conn.execute(update(Team).where(Team.id == existing[r.team].id)
                                 .values(information_managers=ims, active=True))
                    counts["teams_updated"] += 1
                else:
                    conn.execute(insert(Team).values(name=r.team, directorate_id=d_id,
                                                     information_managers=ims, active=True))
                    counts["teams_added"] += 1
        keep = set(zip(teams["directorate"], teams["team"]))
        current = conn.execute(select(Team.id, Team.name, Directorate.name.label("d"))
                               .join(Directorate).where(Team.active.is_(True))).all()
        retire = [t.id for t in current if (t.d, t.name) not in keep]
        if retire:
            conn.execute(update(Team).where(Team.id.in_(retire)).values(active=False))
        counts["teams_retired"] = len(retire)
        audit.record(conn, actor=actor, action=audit.ORG_LOADED, target="organisation",
                     before=before, after=_org_snapshot(conn))
        return counts


def _org_snapshot(conn: Connection) -> dict[str, dict]:
    """Directorate → director and teams (with information managers), for the audit trail."""
    org = org_frame(conn)
    return {d: {"group": rows["group"].iloc[0], "director": rows["director"].iloc[0],
                "teams": dict(zip(rows["team"], rows["information_managers"]))}
            for d, rows in org.groupby("directorate")}


def _add_discovered_teams(conn: Connection, new_teams: pd.DataFrame) -> dict[int, int]:
    """Create teams named by a return when no organisation is loaded; placeholder → real id."""
    ids: dict[int, int] = {}
    directorates = {r.name: r.id for r in conn.execute(select(Directorate.__table__))}
    for r in new_teams.itertuples():
        if r.directorate not in directorates:
            directorates[r.directorate] = conn.execute(insert(Directorate).values(
                name=r.directorate, group_name=r.group)).inserted_primary_key[0]
        ids[r.team_id] = conn.execute(insert(Team).values(
            name=r.team, directorate_id=directorates[r.directorate], information_managers="",
            active=True)).inserted_primary_key[0]
    return ids


# Returns --------------------------------------------------------------------------------

def find_same_file(conn: Connection, file_hash: str, round_label: str) -> dict | None:
    """An earlier return of the very same file for the round whose scores still count."""
    found = find_round(conn, round_label)
    if found is None:
        return None
    row = conn.execute(
        select(Return.id.label("return_id"), Return.file_name, Return.uploader, Return.uploaded_at)
        .where(Return.round_id == found.id, Return.file_hash == file_hash,
               Return.id.in_(select(Score.return_id).where(Score.current.is_(True))))
        .order_by(Return.id.desc()).limit(1)).first()
    return dict(row._mapping) if row else None


@retry_when_busy
def save_return(engine: Engine, parsed: ParsedReturn, round_label: str, *, uploader: str,
                file_hash: str, uploaded_at: datetime | None = None) -> SavedReturn:
    """Save a checked return in one transaction; earlier scores for its teams stop counting."""
    with write_transaction(engine) as conn:
        rnd, opened = open_round(conn, round_label, uploader)
        # Saves to one round take turns (a no-op on SQLite, whose writer lock is already held):
        # a later save must see an earlier one's scores to supersede them.
        conn.execute(select(Round.id).where(Round.id == rnd.id).with_for_update())
        scores = parsed.scores
        team_ids = scores["team_id"]
        new_teams = 0
        if not parsed.new_teams.empty:
            mapping = _add_discovered_teams(conn, parsed.new_teams)
            team_ids = team_ids.map(lambda t: mapping.get(t, t))
            new_teams = len(mapping)
        team_ids = team_ids.astype(int)
        teams = sorted(set(team_ids.tolist()))
        return_id = conn.execute(insert(Return).values(
            round_id=rnd.id, file_name=parsed.file_name, file_hash=file_hash, uploader=uploader,
            uploaded_at=uploaded_at or utcnow(), layout=parsed.layout, team_count=len(teams),
            score_count=len(scores))).inserted_primary_key[0]
        before = _scores_snapshot(conn, rnd.id, teams)
        superseded = 0
        for chunk in _chunks(teams, 500):
            superseded += conn.execute(
                update(Score).where(and_(Score.round_id == rnd.id, Score.team_id.in_(chunk),
                                         Score.current.is_(True))).values(current=False)).rowcount
        new = {"team_id": team_ids.tolist(), "criterion": scores["criterion"].tolist(),
               "claimed_raw": scores["claimed_raw"].tolist(),
               "claimed": scores["claimed"].astype(float).tolist(),
               "evidence": scores["evidence"].tolist(), "evidence_link": scores["evidence_link"].tolist(),
               "comment": scores["comment"].tolist()}
        n = len(scores)
        _insert_scores(conn, {"return_id": [return_id] * n, "round_id": [rnd.id] * n, **new,
                              "current": [True] * n, "review_status": ["self-declared"] * n})
        names = dict(zip(new["team_id"], scores["team"].tolist()))
        audit.record(conn, actor=uploader, action=audit.RETURN_SAVED, round_label=rnd.label,
                     target=f"return {return_id}: {parsed.file_name}",
                     before=_audit_scores(before, names) if len(before) else None,
                     after=_audit_scores(new, names))
        return SavedReturn(return_id=return_id, round=rnd.label, teams=len(teams),
                           scores=len(scores), superseded=superseded, new_teams=new_teams,
                           round_opened=opened)


def _scores_snapshot(conn: Connection, round_id: int, teams: list[int]) -> pd.DataFrame:
    """The scores a save is about to supersede, for the audit trail's "before"."""
    parts = [pd.DataFrame(conn.execute(
        select(Score.team_id, Score.criterion, Score.claimed_raw, Score.evidence)
        .where(Score.round_id == round_id, Score.team_id.in_(chunk), Score.current.is_(True))).all(),
        columns=["team_id", "criterion", "claimed_raw", "evidence"]) for chunk in _chunks(teams, 500)]
    return pd.concat(parts) if parts else pd.DataFrame(columns=["team_id", "criterion", "claimed_raw", "evidence"])


def _audit_scores(scores, names: dict) -> dict[str, list]:
    """Scores as columns (team, criterion, score, evidence): cheap to write for a big return,
    and a table to whoever reads the audit trail. ``scores`` is a frame or a dict of lists."""
    return {"team": [str(names.get(t, t)) for t in scores["team_id"]],
            "criterion": list(scores["criterion"]), "score": list(scores["claimed_raw"]),
            "evidence": list(scores["evidence"])}


def _insert_scores(conn: Connection, columns: dict[str, list]) -> None:
    """Insert many scores the fastest way each database offers, inside the caller's transaction.

    SQLAlchemy's generic executemany builds a dict per row; a return of 70,000 scores
    spends longer on that than the database spends storing them.
    """
    names = list(columns)
    rows = list(zip(*columns.values()))
    if conn.dialect.name == "postgresql":
        with conn.connection.dbapi_connection.cursor() as cursor:
            with cursor.copy(f"COPY score ({', '.join(names)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    placeholders = ", ".join("?" if conn.dialect.paramstyle == "qmark" else "%s" for _ in names)
    conn.exec_driver_sql(f"INSERT INTO score ({', '.join(names)}) VALUES ({placeholders})", rows)


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]


SCORE_COLUMNS = ["score_id", "return_id", "team_id", "criterion", "claimed_raw", "claimed",
                 "evidence", "evidence_link", "comment", "review_status", "reviewed_value",
                 "reviewer", "review_note"]


# The league needs only these, and whether evidence was given rather than its text.
SCORING_COLUMNS = ["team_id", "criterion", "claimed", "evidenced", "review_status", "reviewed_value"]
# Whitespace that does not count as evidence; scoring.EVIDENCE_BLANKS says the same in Python.
_BLANKS = " \t\r\n"


def _frame(result, columns: list[str]) -> pd.DataFrame:
    """A DataFrame built column by column: far cheaper than from row objects for big results."""
    rows = result.all()
    if not rows:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(dict(zip(columns, map(list, zip(*rows)))))


def _has_text(conn: Connection, column):
    trimmed = (func.btrim(column, _BLANKS) if conn.dialect.name == "postgresql"
               else func.trim(column, _BLANKS))
    return trimmed != ""


def round_scores(conn: Connection, round_id: int, *, full: bool = True) -> pd.DataFrame:
    """The scores that count in a round: one row per team × criterion.

    ``full=False`` reads only what scoring needs (``SCORING_COLUMNS``), which is what the
    league table and the trend read for every round.
    """
    where = (Score.round_id == round_id, Score.current.is_(True))
    if not full:
        evidenced = or_(_has_text(conn, Score.evidence), _has_text(conn, Score.evidence_link))
        stmt = select(Score.team_id, Score.criterion, Score.claimed, evidenced.label("evidenced"),
                      Score.review_status, Score.reviewed_value).where(*where)
        frame = _frame(conn.execute(stmt), SCORING_COLUMNS)
        frame["evidenced"] = frame["evidenced"].astype(bool)
        return frame
    stmt = (select(Score.id.label("score_id"), Score.return_id, Score.team_id, Score.criterion,
                   Score.claimed_raw, Score.claimed, Score.evidence, Score.evidence_link,
                   Score.comment, Score.review_status, Score.reviewed_value, Score.reviewer,
                   Score.review_note)
            .where(*where))
    return _frame(conn.execute(stmt), SCORE_COLUMNS)


def review_counts(conn: Connection, round_id: int) -> dict[str, int]:
    """How many of a round's counting scores have each review status, counted by the database."""
    rows = conn.execute(select(Score.review_status, func.count()).where(
        Score.round_id == round_id, Score.current.is_(True)).group_by(Score.review_status)).all()
    return {status: int(n) for status, n in rows}


def round_teams(org: pd.DataFrame, scores: pd.DataFrame) -> pd.DataFrame:
    """Teams that belong in a round's league: every active team, and any team that returned."""
    returned = org["team_id"].isin(scores["team_id"].unique())
    return org[org["active"].astype(bool) | returned].reset_index(drop=True)


def returns_frame(conn: Connection, round_label: str | None = None) -> pd.DataFrame:
    """Every return, newest first, with how many of its scores still count."""
    current = (select(Score.return_id, func.count().label("current_scores"))
               .where(Score.current.is_(True)).group_by(Score.return_id).subquery())
    stmt = (select(Return.id.label("return_id"), Round.label.label("round"), Return.file_name,
                   Return.uploader, Return.uploaded_at, Return.layout, Return.team_count,
                   Return.score_count, func.coalesce(current.c.current_scores, 0).label("current_scores"))
            .join(Round, Return.round_id == Round.id)
            .outerjoin(current, current.c.return_id == Return.id)
            .order_by(Return.id.desc()))
    if round_label:
        stmt = stmt.where(Round.label == normalise_label(round_label))
    frame = pd.DataFrame(conn.execute(stmt).mappings().all(),
                         columns=["return_id", "round", "file_name", "uploader", "uploaded_at", "layout",
                                  "team_count", "score_count", "current_scores"])
    frame["status"] = "superseded"
    frame.loc[frame["current_scores"] > 0, "status"] = "partly superseded"
    frame.loc[frame["current_scores"] == frame["score_count"], "status"] = "current"
    return frame


def team_history(conn: Connection, team_id: int) -> pd.DataFrame:
    """Every counting score a team has had, round by round."""
    stmt = (select(Round.label.label("round"), Round.start_date, Round.criteria_version_id,
                   Score.criterion, Score.claimed_raw, Score.claimed, Score.evidence,
                   Score.evidence_link, Score.comment, Score.review_status, Score.reviewed_value,
                   Score.reviewer, Score.review_note, Score.return_id, Score.id.label("score_id"))
            .join(Round, Score.round_id == Round.id)
            .where(Score.team_id == team_id, Score.current.is_(True))
            .order_by(Round.start_date))
    rows = conn.execute(stmt).mappings().all()
    return pd.DataFrame(rows, columns=["round", "start_date", "criteria_version_id", "criterion",
                                       "claimed_raw", "claimed", "evidence", "evidence_link", "comment",
                                       "review_status", "reviewed_value", "reviewer", "review_note",
                                       "return_id", "score_id"])


REVIEW_STATUSES = ("verified", "challenged", "self-declared")


def review_score(engine: Engine, score_id: int, *, status: str, value: float | None, note: str,
                 reviewer: str) -> dict:
    """Record the KIM team's verdict on a counting score; the audit keeps before and after."""
    if status not in REVIEW_STATUSES:
        raise KimError(f"'{status}' is not a review status. Use one of: {', '.join(REVIEW_STATUSES)}.")
    with engine.begin() as conn:
        row = conn.execute(select(Score.__table__).where(Score.id == score_id)).first()
        if row is None or not row.current:
            raise NotFoundError(f"Score {score_id} does not exist or has been replaced by a later "
                                "return. Reload the page and review the current score.")
        rnd = conn.execute(select(Round.__table__).where(Round.id == row.round_id)).first()
        criteria = criteria_version(conn, rnd.criteria_version_id)
        if status == "challenged":
            if value is None:
                raise KimError("A challenge needs the value the score should count at.")
            c = criteria.get(row.criterion)
            if not c.valid(value):
                raise KimError(f"{value:g} is not on the scale of '{c.name}' (0 to {c.top:g}).")
            if not note.strip():
                raise KimError("Say why the score is challenged: the team reads this note.")
        values = {"review_status": status, "reviewed_value": value if status == "challenged" else None,
                  "reviewer": reviewer if status != "self-declared" else None,
                  "review_note": note.strip() or None, "reviewed_at": utcnow()}
        before = {k: getattr(row, k) for k in ("review_status", "reviewed_value", "reviewer", "review_note")}
        conn.execute(update(Score).where(Score.id == score_id).values(**values))
        team = conn.scalar(select(Team.name).where(Team.id == row.team_id))
        after = {k: values[k] for k in before}
        action = audit.SCORE_CHALLENGED if status == "challenged" else audit.SCORE_VERIFIED
        audit.record(conn, actor=reviewer, action=action, round_label=rnd.label,
                     target=f"{team}: {row.criterion} (score {score_id})",
                     before=dict(before, claimed=row.claimed_raw), after=after)
        return after
