"""What the board pack shows, as plain data from one scored round and the rounds before it.

``services.documents.board_data`` fills a ``BoardData`` from ``api.league``,
``api.scored_round`` and ``api.rag_trend`` (and the department roll-up those functions'
league uses), so the pack never disagrees with the dashboard. The lists here (top, bottom,
biggest movers) keep every team tied at their cut: a list of ten with five teams sharing
ninth place holds thirteen, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from kim_metrics.domain.criteria import NO_RETURN, CriteriaSet
from kim_metrics.domain.frames import PERCENT, criterion_column

TOP_N = 10
MOVERS_N = 5
HISTORY_ROUNDS = 4


@dataclass(frozen=True)
class Listing:
    """The first ``wanted`` rows of an ordered list and every row tied with the last of them."""

    rows: pd.DataFrame
    wanted: int

    @property
    def with_ties(self) -> bool:
        return len(self.rows) > self.wanted

    def title(self, name: str) -> str:
        """``Top 10``; ``Top 10, 13 with ties``; ``Top 7`` when only seven are ranked."""
        shown = min(self.wanted, len(self.rows))
        return f"{name} {shown}" + (f", {len(self.rows)} with ties" if self.with_ties else "")


def cut_with_ties(frame: pd.DataFrame, n: int, key: str) -> Listing:
    """The first ``n`` rows of ``frame`` (already in order) and any row after them whose
    ``key`` equals the ``n``-th row's."""
    if len(frame) <= n or n <= 0:
        return Listing(frame, n)
    boundary = frame.iloc[n - 1][key]
    rest = frame.iloc[n:]
    tied = rest[rest[key] == boundary]
    return Listing(pd.concat([frame.iloc[:n], tied]), n)


@dataclass(frozen=True)
class BoardData:
    round: str
    previous: str | None
    criteria: CriteriaSet
    teams: pd.DataFrame            # api.league(..., "team").table
    directorates: pd.DataFrame     # api.league(..., "directorate").table
    scores: pd.DataFrame           # api.scored_round(...).scores
    trend: pd.DataFrame            # api.rag_trend(...) up to this round
    department: dict               # the department roll-up of this round's teams
    written: date
    criterion_history: dict = field(default_factory=dict)  # round → {criterion id → mean 0-100}
    # Teams without a return to chase: team, directorate, information_managers, when (words).
    chase: pd.DataFrame | None = None
    # Overdue actions per directorate: directorate, overdue; None when not gathered.
    overdue_actions: pd.DataFrame | None = None

    @property
    def statuses(self) -> list[str]:
        return [*self.criteria.rag.levels, NO_RETURN]

    @property
    def ranked(self) -> pd.DataFrame:
        return self.teams[self.teams["rank"].notna()].sort_values("rank", kind="stable")

    def top(self, n: int = TOP_N) -> Listing:
        return cut_with_ties(self.ranked, n, "rank")

    def bottom(self, n: int = TOP_N) -> Listing:
        """The lowest ``n`` ranked teams and those tied with them, best first."""
        reverse = self.ranked.iloc[::-1]
        cut = cut_with_ties(reverse, n, "rank")
        return Listing(cut.rows.iloc[::-1], n)

    def risers(self, n: int = MOVERS_N) -> Listing:
        moved = self.teams[self.teams["movement"].fillna(0) > 0]
        ordered = moved.sort_values(["movement", "rank"], ascending=[False, True], kind="stable")
        return cut_with_ties(ordered, n, "movement")

    def fallers(self, n: int = MOVERS_N) -> Listing:
        moved = self.teams[self.teams["movement"].fillna(0) < 0]
        ordered = moved.sort_values(["movement", "rank"], ascending=[True, True], kind="stable")
        return cut_with_ties(ordered, n, "movement")

    @property
    def non_returns(self) -> pd.DataFrame:
        return self.teams[self.teams["rag"] == NO_RETURN].sort_values(["directorate", "name"], kind="stable")

    def criterion_mix(self) -> pd.DataFrame:
        """Per criterion: returned teams at each status, and the department's mean 0-100."""
        rows = []
        for c in self.criteria:
            mine = self.scores[self.scores["criterion"] == c.id]
            counts = mine["rag"].value_counts()
            rows.append({"id": c.id, "name": c.name,
                         **{s: int(counts.get(s, 0)) for s in self.criteria.rag.levels},
                         "percent": self.department.get(criterion_column(c.id, PERCENT))})
        return pd.DataFrame(rows)

    def weakest(self) -> dict | None:
        """The criterion with the lowest department mean; ties go to the one with most at the
        worst status, then to the criteria file's order."""
        mix = self.criterion_mix()
        mix = mix[mix["percent"].notna()]
        if mix.empty:
            return None
        worst = self.criteria.rag.levels[0]
        mix = mix.assign(_order=range(len(mix)))
        return mix.sort_values(["percent", worst, "_order"], ascending=[True, False, True]).iloc[0].to_dict()
