"""Returns in: check a workbook without saving, then save it whole, and list past returns."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from sqlalchemy.engine import Engine

from kim_metrics.domain import access
from kim_metrics.domain.access import ADMIN, Actor
from kim_metrics.domain.criteria import CriteriaSet
from kim_metrics.domain.errors import PermissionDenied
from kim_metrics.domain.rounds import normalise_label
from kim_metrics.domain.scoring import score_rows, team_scores
from kim_metrics.reading.reader import read_workbook
from kim_metrics.reading.returns import ParsedReturn, parse_return
from kim_metrics.services.common import Progress, file_hash, quiet, resolve_actor
from kim_metrics.storage import actions as action_store
from kim_metrics.storage import criteria as criteria_store
from kim_metrics.storage import organisation as org_store
from kim_metrics.storage import people, results
from kim_metrics.storage import returns as return_store
from kim_metrics.storage import rounds as round_store
from kim_metrics.storage.engine import retry_when_busy, write_transaction
from kim_metrics.storage.returns import EarlierReturn, SavedReturn


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
    # The saved returns whose scores for these teams saving would replace, newest first.
    replaces: tuple[EarlierReturn, ...] = ()

    @property
    def replaced_scores(self) -> int:
        return sum(r.scores for r in self.replaces)


def check_return(engine: Engine, data: bytes, file_name: str, round_label: str,
                 mapping: dict[str, str] | None = None, *, progress: Progress = quiet,
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
        require_round_takes_returns(rnd)
        digest = file_hash(data)
        same = return_store.find_same_file(conn, digest, label)
        known = [int(t) for t in parsed.scores["team_id"].drop_duplicates() if int(t) > 0]
        replaces = tuple(return_store.returns_replaced(conn, label, known))
        if uploader is not None:
            who = people.resolve(conn, uploader) if isinstance(uploader, str) else uploader
            _require_open_round(conn, who, label)
            _require_submit(who, parsed)
    progress(0.8, "Working out scores and RAG")
    scored = score_rows(parsed.scores, criteria)
    teams = parsed.scores.drop_duplicates("team_id")[["team_id", "team", "directorate", "group"]]
    progress(1.0, "Checked")
    return Preview(parsed=parsed, round=label, round_exists=rnd is not None, criteria=criteria,
                   file_hash=digest, scores=scored, teams=team_scores(scored, teams, criteria),
                   same_file=same, replaces=replaces)


def _require_open_round(conn, who: Actor, label: str) -> None:
    """Only the KIM team opens rounds: anyone else's return must be for a round already open."""
    if who.is_admin or round_store.find_round(conn, label) is not None:
        return
    open_now = ", ".join(r.label for r in round_store.list_rounds(conn)) or "none yet"
    raise PermissionDenied(f"Round {label} is not open, so nothing was saved. Rounds open: {open_now}. "
                           "Check the round on your return, or ask the KIM team to open it.")


def require_round_takes_returns(rnd: round_store.RoundInfo | None) -> None:
    """A closed round takes no returns; the message names it and says who can reopen it."""
    if rnd is not None and rnd.closed:
        raise PermissionDenied(f"Round {rnd.label} is closed, so it takes no more returns and nothing "
                               f"was saved. Ask the KIM team to reopen it (`kim rounds --reopen "
                               f"{rnd.label}`), or send the return for the round now open.")


def _require_submit(who: Actor, parsed: ParsedReturn) -> None:
    if not parsed.new_teams.empty:
        access.require(who, {ADMIN}, "add teams that are not in the organisation structure")
    access.require_submit(who, parsed.scores.drop_duplicates("team_id")[["team_id", "team"]])


def save_preview(engine: Engine, preview: Preview, *, uploader: Actor | str,
                 progress: Progress = quiet) -> SavedReturn:
    """Save a checked return; one transaction, so it is saved whole or not at all.

    The uploader's scope is checked again here: the preview may be old, or forged.
    """
    who = resolve_actor(engine, uploader)
    with engine.connect() as conn:
        _require_open_round(conn, who, preview.round)
    _require_submit(who, preview.parsed)
    return save_parsed(engine, preview.parsed, preview.round, uploader=who.email,
                       file_hash=preview.file_hash, progress=progress)


@retry_when_busy
def save_parsed(engine: Engine, parsed: ParsedReturn, round_label: str, *, uploader: str,
                file_hash: str, uploaded_at: datetime | None = None,
                progress: Progress = quiet) -> SavedReturn:
    """Store a checked return and the round's results it moves, in one transaction.

    No scope check: callers that act for a person use ``save_preview``.
    """
    with write_transaction(engine) as conn:
        # Checked again inside the transaction: the round may have closed since the preview.
        require_round_takes_returns(round_store.find_round(conn, round_label))
        progress(0.1, f"Saving {len(parsed.scores):,} scores")
        saved = return_store.save_return(conn, parsed, round_label, uploader=uploader,
                                         file_hash=file_hash, uploaded_at=uploaded_at)
        progress(0.6, "Scoring the teams again")
        stored = saved.saved
        info = stored.drop_duplicates("team_id")[["team_id", "team", "directorate", "group"]]
        rnd = round_store.get_round(conn, saved.round)
        results.refresh_teams(conn, rnd, info["team_id"], scores=stored, info=info)
        # Actions whose target the new scores reach close in the same transaction.
        action_store.close_reached(conn, rnd, info["team_id"], because=f"return {saved.return_id}")
        progress(0.95, "Committing")
    progress(1.0, "Saved")
    return saved


def returns(engine: Engine, round_label: str | None = None, *, actor: Actor) -> pd.DataFrame:
    """Past returns, newest first, that ``actor`` may see: every one for the KIM team and the
    board; for others, the returns touching teams in their evidence scope and their own."""
    with engine.connect() as conn:
        frame = return_store.returns_frame(conn, round_label)
        if actor.sees_everything or frame.empty:
            return frame
        org = org_store.org_frame(conn, include_inactive=True)
        scope = access.in_evidence_scope(actor, org)["team_id"].tolist()
        touching = return_store.returns_touching(conn, scope)
    own = frame["uploader"].str.lower() == actor.email
    return frame[own | frame["return_id"].isin(touching)].reset_index(drop=True)
