"""What a letter says, as plain data gathered from one scored round.

``RoundFacts`` is everything the letters of a round draw on (``services.documents`` fetches
it once through ``api.league`` and ``api.scored_round``, the functions the dashboard uses,
so a letter never disagrees with the league table). ``letter_from`` picks out one
directorate's facts as a ``LetterData``: its status and rank among directorates, how it has
moved since the last round, what each team must do on every criterion that is not yet at
the top status, which claims need evidence, which teams sent nothing, and the next round.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from kim_metrics.domain.criteria import NO_RETURN, CriteriaSet
from kim_metrics.domain.rounds import next_label, start_date
from kim_metrics.domain.statuses import KNOWN, StatusSet
from kim_metrics.domain.names import find_directorate as find_known_directorate
from kim_metrics.domain.values import as_float, as_int
from kim_metrics.domain.scoring import CHALLENGED


@dataclass(frozen=True)
class Action:
    """What one team must do on one criterion that is not at the top status."""

    criterion: str
    status: str          # the criterion's status now
    now: str             # how the counted value reads ("Partly in place", "65%")
    target: str          # the value the next step reaches
    action: str          # what to do
    unevidenced: bool = False


@dataclass(frozen=True)
class Claim:
    """A score claimed above the lowest value without evidence."""

    team: str
    criterion: str
    claimed: str
    counts_as: str
    with_evidence: str   # the status the claim would have with evidence


@dataclass(frozen=True)
class TrackedAction:
    """An action a team committed to, still open at the letter's date."""

    team: str
    criterion: str
    target: str
    owner: str
    due: date
    status: str          # "open" or "in progress"
    overdue: bool


@dataclass(frozen=True)
class TeamSummary:
    name: str
    returned: bool
    score: float | None
    rag: str
    rank: int | None
    movement_label: str
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True)
class LetterData:
    round: str
    previous: str | None
    next_round: str
    next_start: date
    written: date
    directorate: str
    group: str
    director_email: str | None
    director_name: str
    top_status: str
    score: float | None
    rag: str
    rank: int | None
    ranked_directorates: int
    joint: bool
    movement: int | None
    previous_rank: int | None
    previous_score: float | None
    previous_rag: str | None
    teams_total: int
    teams_returned: int
    ranked_teams: int
    teams: tuple[TeamSummary, ...] = ()
    claims: tuple[Claim, ...] = ()
    no_return: tuple[str, ...] = field(default=())
    statuses: StatusSet = KNOWN      # the round's status set, for status colours
    next_deadline: date | None = None   # the next round's deadline for returns, when set
    tracked: tuple[TrackedAction, ...] = ()   # open actions, overdue first

    @property
    def overdue(self) -> tuple[TrackedAction, ...]:
        return tuple(a for a in self.tracked if a.overdue)


@dataclass(frozen=True)
class RoundFacts:
    """What every letter of a round draws on, fetched once."""

    round: str
    previous: str | None
    criteria: CriteriaSet
    directorates: pd.DataFrame                  # api.league(..., "directorate").table
    previous_directorates: pd.DataFrame | None  # the same for the previous round
    teams: pd.DataFrame                         # api.league(..., "team").table
    scores: pd.DataFrame                        # api.scored_round(...).scores
    directors: dict[str, str]                   # directorate → director's email
    next_deadline: date | None = None           # the next round's deadline, when it is open with one
    # services.actions.list_actions(...) for the round: the actions teams committed to.
    tracked: pd.DataFrame | None = None


def directors_from(org: pd.DataFrame) -> dict[str, str]:
    """Directorate → its director's email, the first one the organisation gives."""
    directors: dict[str, str] = {}
    for name, email in zip(org["directorate"], org["director"]):
        if isinstance(email, str) and email.strip() and name not in directors:
            directors[name] = email.strip()
    return directors


def name_from_email(email: str | None) -> str:
    """A person's name from their work email: jane.o'neil-smith@x → Jane O'Neil-Smith."""
    if not email or "@" not in email:
        return "Director"
    local = email.split("@", 1)[0]
    local = re.sub(r"[0-9]+", " ", local)
    parts = [p for p in re.split(r"[._\s]+", local) if p]
    if not parts:
        return "Director"

    def cap(word: str) -> str:
        word = "-".join(w[:1].upper() + w[1:].lower() for w in word.split("-"))
        return "'".join(w[:1].upper() + w[1:] for w in word.split("'"))

    return " ".join(cap(p) for p in parts)


def _team_actions(rows: pd.DataFrame, criteria: CriteriaSet) -> tuple[list[Action], list[Claim]]:
    """Actions for each criterion not at the top status, and the claims needing evidence."""
    top = criteria.rag.levels[-1]
    order = {c.id: i for i, c in enumerate(criteria)}
    actions: list[Action] = []
    claims: list[Claim] = []
    for row in sorted(rows.to_dict("records"), key=lambda r: order.get(r["criterion"], 99)):
        if row["criterion"] not in order or row["rag"] == top:
            continue
        c = criteria.get(row["criterion"])
        counted = float(row["counted"])
        if bool(row["unevidenced"]):
            claimed = float(row["claimed"])
            would_be = str(criteria.rag.classify([claimed], c.rag)[0])
            claims.append(Claim(team=row["team"], criterion=c.name, claimed=c.label(claimed),
                                counts_as=c.label(counted), with_evidence=would_be))
            text = (f"Send the evidence for the claim of {c.label(claimed)}; until then it "
                    f"counts as {c.label(counted)}.")
            step = c.next_step(claimed, criteria.rag) if would_be != top else None
            if step:
                text += f" Then, to reach {c.label(step[0])}: {step[1]}"
            actions.append(Action(c.name, str(row["rag"]),
                                  f"{c.label(counted)} (claimed {c.label(claimed)} without evidence)",
                                  c.label(claimed), text, unevidenced=True))
            continue
        step = c.next_step(counted, criteria.rag)
        if step is None:
            continue
        text = step[1]
        if row.get("review_status") == CHALLENGED and isinstance(row.get("review_note"), str) \
                and row["review_note"].strip():
            text += f" (The KIM team reviewed this score: {row['review_note'].strip()})"
        actions.append(Action(c.name, str(row["rag"]), c.label(counted), c.label(step[0]), text))
    return actions, claims


ACTIVE_STATUSES = ("open", "in_progress")


def _tracked(facts: RoundFacts, directorate: str, written: date) -> tuple[TrackedAction, ...]:
    """The directorate's open actions at the letter's date, overdue first, then by due date."""
    frame = facts.tracked
    if frame is None or frame.empty:
        return ()
    frame = frame[(frame["directorate"] == directorate) & frame["status"].isin(ACTIVE_STATUSES)]
    names = {c.id: c.name for c in facts.criteria}
    out = []
    for a in frame.to_dict("records"):
        due = pd.Timestamp(a["due_on"]).date()
        out.append(TrackedAction(team=str(a["team"]), criterion=names.get(a["criterion"], a["criterion"]),
                                 target=str(a["target_label"]), owner=str(a["owner"]), due=due,
                                 status=str(a["status"]).replace("_", " "), overdue=due < written))
    return tuple(sorted(out, key=lambda a: (not a.overdue, a.due, a.team)))


def letter_from(facts: RoundFacts, directorate: str, written: date) -> LetterData:
    """One directorate's letter, named exactly as the league names it."""
    table = facts.directorates
    row = table[table["name"] == directorate].iloc[0]
    rank = as_int(row["rank"])
    ranked = int(table["rank"].notna().sum())
    joint = rank is not None and int((table["rank"] == rank).sum()) > 1
    previous_rag = None
    if facts.previous_directorates is not None:
        before = facts.previous_directorates[facts.previous_directorates["name"] == directorate]
        if not before.empty and before.iloc[0]["rag"] != NO_RETURN:
            previous_rag = str(before.iloc[0]["rag"])
    teams = facts.teams[facts.teams["directorate"] == directorate]
    scores = facts.scores[facts.scores["directorate"] == directorate]
    summaries: list[TeamSummary] = []
    claims: list[Claim] = []
    for t in teams.to_dict("records"):
        mine = scores[scores["team_id"] == t["team_id"]]
        actions, team_claims = _team_actions(mine, facts.criteria) if t["returned"] else ([], [])
        claims.extend(team_claims)
        summaries.append(TeamSummary(name=t["name"], returned=bool(t["returned"]),
                                     score=as_float(t["score"]), rag=str(t["rag"]), rank=as_int(t["rank"]),
                                     movement_label=str(t["movement_label"]), actions=tuple(actions)))
    following = next_label(facts.round)
    email = facts.directors.get(directorate)
    return LetterData(
        round=facts.round, previous=facts.previous, next_round=following,
        next_start=start_date(following), written=written, directorate=directorate,
        group=str(row.get("group") or ""), director_email=email, director_name=name_from_email(email),
        top_status=facts.criteria.rag.levels[-1], score=as_float(row["score"]), rag=str(row["rag"]),
        rank=rank, ranked_directorates=ranked, joint=joint, movement=as_int(row["movement"]),
        previous_rank=as_int(row["previous_rank"]), previous_score=as_float(row["previous_score"]),
        previous_rag=previous_rag, teams_total=int(row["teams"]),
        teams_returned=int(row["returned_teams"]),
        ranked_teams=int(facts.teams["rank"].notna().sum()),
        teams=tuple(summaries), claims=tuple(claims),
        no_return=tuple(s.name for s in summaries if not s.returned),
        statuses=facts.criteria.rag.statuses, next_deadline=facts.next_deadline,
        tracked=_tracked(facts, directorate, written))


def all_letters_from(facts: RoundFacts, written: date) -> list[LetterData]:
    """Every directorate's letter, in league order."""
    return [letter_from(facts, name, written) for name in facts.directorates["name"]]


def find_directorate(facts: RoundFacts, name: str) -> str:
    """The league's own spelling of a directorate named in any case, or a message with hints."""
    return find_known_directorate(name, facts.directorates["name"], where=f" in round {facts.round}")
