"""The board pack: a few printable pages for the Permanent Secretary and the Board.

It shows the department's status mix and its trend over rounds, the directorates' league,
the top and bottom teams, the biggest movers, who has not returned, and the criterion where
the department is weakest. Every figure comes from ``league_service.league``, ``score_service.scored_round`` and
``league_service.trend`` (and the department roll-up those functions' league uses for directorates
and groups), so the pack never disagrees with the dashboard.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from kim_metrics.services import league as league_service
from kim_metrics.services import scores as score_service
from kim_metrics.domain.access import ADMIN, EXECUTIVE, Actor, require
from kim_metrics.reports.charts import GREY, TEXT, ReportPDF, Series, bar_rows, column_chart, legend, long_date
from kim_metrics.domain.criteria import NO_RETURN, CriteriaSet
from kim_metrics.domain.errors import KimError
from kim_metrics.reports.exports import safe_text
from kim_metrics.domain.scoring import rollup

TOP_N = 10
MOVERS_N = 5
HISTORY_ROUNDS = 4
SCORE_LINE = "#1D70B8"


@dataclass(frozen=True)
class BoardData:
    round: str
    previous: str | None
    criteria: CriteriaSet
    teams: pd.DataFrame            # league_service.league(..., "team").table
    directorates: pd.DataFrame     # league_service.league(..., "directorate").table
    scores: pd.DataFrame           # score_service.scored_round(...).scores
    trend: pd.DataFrame            # league_service.trend(...) up to this round
    department: dict               # the department roll-up of this round's teams
    written: date
    criterion_history: dict = None  # round → {criterion id → department mean 0-100}

    @property
    def statuses(self) -> list[str]:
        return [*self.criteria.rag.levels, NO_RETURN]

    @property
    def ranked(self) -> pd.DataFrame:
        return self.teams[self.teams["rank"].notna()]

    def top(self, n: int = TOP_N) -> pd.DataFrame:
        return self.ranked.head(n)

    def bottom(self, n: int = TOP_N) -> pd.DataFrame:
        return self.ranked.tail(n)

    def risers(self, n: int = MOVERS_N) -> pd.DataFrame:
        moved = self.teams[self.teams["movement"].fillna(0) > 0]
        return moved.sort_values(["movement", "rank"], ascending=[False, True], kind="stable").head(n)

    def fallers(self, n: int = MOVERS_N) -> pd.DataFrame:
        moved = self.teams[self.teams["movement"].fillna(0) < 0]
        return moved.sort_values(["movement", "rank"], ascending=[True, True], kind="stable").head(n)

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
                         "percent": self.department.get(f"{c.id}.percent")})
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


def board_data(engine: Engine, round_label: str | None = None, written: date | None = None, *,
               actor: Actor) -> BoardData:
    require(actor, {ADMIN, EXECUTIVE}, "read the board pack")
    by_team = league_service.league(engine, round_label, "team")
    label = by_team.round.label
    by_directorate = league_service.league(engine, label, "directorate")
    scored = score_service.scored_round(engine, label, actor=actor)
    trend = league_service.trend(engine)
    trend = trend[pd.to_datetime(trend["start_date"]) <= pd.Timestamp(by_team.round.start_date)]
    department = rollup(by_team_scores(by_team), by_team.criteria, None).iloc[0].to_dict()
    history = {}
    for earlier in list(trend["round"])[-HISTORY_ROUNDS:]:
        then = by_team if earlier == label else league_service.league(engine, earlier, "team")
        row = rollup(by_team_scores(then), then.criteria, None).iloc[0]
        history[earlier] = {c.id: row.get(f"{c.id}.percent") for c in then.criteria}
    return BoardData(round=label, previous=by_team.previous.label if by_team.previous else None,
                     criteria=by_team.criteria, teams=by_team.table, directorates=by_directorate.table,
                     scores=scored.scores, trend=trend.reset_index(drop=True), department=department,
                     written=written or date.today(), criterion_history=history)



def by_team_scores(result) -> pd.DataFrame:
    """A team-level league table in the shape ``scoring.rollup`` reads (team names as ``team``)."""
    return result.table.rename(columns={"name": "team"})


# Wording -----------------------------------------------------------------------------------------

def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _score(value) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):.1f}"


def _rank(value) -> str:
    return "" if value is None or pd.isna(value) else str(int(value))


def key_messages(b: BoardData) -> list[str]:
    """The headline points, each a sentence drawn from the round's figures."""
    out = []
    levels = b.criteria.rag.levels
    best, worst = levels[-1], levels[0]
    now = b.trend[b.trend["round"] == b.round].iloc[0] if (b.trend["round"] == b.round).any() else None
    before = b.trend[b.trend["round"] == b.previous].iloc[0] if b.previous and (b.trend["round"] == b.previous).any() else None
    total = len(b.teams)
    score = b.department.get("score")
    if score is not None and not pd.isna(score):
        text = f"The department scores {score:.1f} out of 100 ({b.department['rag']})"
        if before is not None and before["score"] is not None and not pd.isna(before["score"]):
            diff = round(float(score) - float(before["score"]), 1)
            word = "up" if diff > 0 else "down" if diff < 0 else "unchanged"
            text += (f", {word} {abs(diff):.1f} points from {float(before['score']):.1f} in {b.previous}"
                     if diff else f", unchanged since {b.previous}")
        out.append(text + ".")
    if now is not None:
        text = f"{now[best]} of {total} teams are {best} and {now[worst]} are {worst}"
        if before is not None:
            text += f" ({before[best]} and {before[worst]} in {b.previous})"
        out.append(text + ".")
    ranked = b.directorates[b.directorates["rank"].notna()]
    if len(ranked) >= 2:
        first, last = ranked.iloc[0], ranked.iloc[-1]
        out.append(f"{safe_text(first['name'])} leads the directorates with {_score(first['score'])}; "
                   f"{safe_text(last['name'])} is last with {_score(last['score'])}.")
    missing = len(b.non_returns)
    if missing:
        out.append(f"{_n(missing, 'team')} sent no return for {b.round}; "
                   f"{'it is' if missing == 1 else 'they are'} shown as {NO_RETURN}, not ranked.")
    else:
        out.append(f"Every team sent a return for {b.round}.")
    weakest = b.weakest()
    if weakest:
        out.append(f"The department is weakest on '{weakest['name']}': a mean of "
                   f"{weakest['percent']:.1f} out of 100, with {weakest[worst]} teams at {worst}.")
    unevidenced = int(b.teams["unevidenced"].sum())
    if unevidenced:
        out.append(f"{_n(unevidenced, 'claim')} above the lowest level {'has' if unevidenced == 1 else 'have'} "
                   "no evidence and count as the lowest level until evidence is sent.")
    return out


# Drawing ---------------------------------------------------------------------------------------

def _colour(b: BoardData, status: str) -> str:
    style = b.criteria.rag.statuses.style(status)
    return style.background if style else GREY


def _team_rows(frame: pd.DataFrame) -> list[tuple[str, ...]]:
    return [(_rank(r["rank"]), safe_text(r["name"]), safe_text(r["directorate"]), _score(r["score"]),
             str(r["rag"]), str(r["movement_label"])) for r in frame.to_dict("records")]


def _mover_rows(frame: pd.DataFrame) -> list[tuple[str, ...]]:
    return [(safe_text(r["name"]), safe_text(r["directorate"]), _rank(r["previous_rank"]), _rank(r["rank"]),
             str(r["movement_label"]), f"{_score(r['previous_score'])} → {_score(r['score'])}", str(r["rag"]))
            for r in frame.to_dict("records")]


def _page_summary(pdf: ReportPDF, b: BoardData) -> None:
    pdf.add_page()
    compared = f"compared with {b.previous}" if b.previous else "the first round"
    pdf.title_block(f"KIM league table: board pack, {b.round}",
                    f"Knowledge and information management across the department, {compared}. "
                    f"Prepared by the KIM team on {long_date(b.written)}.")
    now = b.trend[b.trend["round"] == b.round]
    mix = now.iloc[0] if not now.empty else None
    tiles = [(_score(b.department.get("score")) or "-",
              f"department score, {b.department.get('rag', NO_RETURN)}", b.department.get("rag"))]
    for status in reversed(b.statuses[:-1]):
        tiles.append((str(int(mix[status])) if mix is not None else "0", f"teams {status}", status))
    tiles.append((str(int(mix[NO_RETURN])) if mix is not None else "0", "teams sent no return", NO_RETURN))
    pdf.tiles(tiles)
    pdf.heading("Key messages")
    for message in key_messages(b):
        pdf.bullet(message, size=10)
    pdf.heading("Teams by status, round by round")
    pdf.para("Bars count teams at each status in each round; the line is the department score "
             "(mean of the teams that returned, right-hand scale 0-100).", size=8.8, colour=GREY)
    y = pdf.get_y()
    height = min(95, pdf.h - 24 - y)
    stacks = [Series(s, [int(v) for v in b.trend[s]], _colour(b, s)) for s in reversed(b.statuses[:-1])]
    stacks.append(Series(NO_RETURN, [int(v) for v in b.trend[NO_RETURN]], _colour(b, NO_RETURN)))
    column_chart(pdf, pdf.l_margin, y, pdf.width, height, list(b.trend["round"]), stacks,
                 line=Series("Department score", list(b.trend["score"]), SCORE_LINE),
                 axis_label="Teams", line_label="Score")
    pdf.set_y(y + height)


def _page_directorates(pdf: ReportPDF, b: BoardData) -> None:
    pdf.add_page()
    pdf.title_block("Directorates", f"Ranked by the mean score of their teams that returned; "
                    f"change since {b.previous or 'the last round'}.")
    rows = [(_rank(r["rank"]), safe_text(r["name"]), f"{int(r['returned_teams'])} of {int(r['teams'])}",
             _score(r["score"]), str(r["rag"]), str(r["movement_label"]))
            for r in b.directorates.to_dict("records")]
    pdf.rag_table(("Rank", "Directorate", "Returned", "Score", "Status", "Change"), rows,
                  widths=(13, 93, 20, 14, 17, 17), align=("R", "L", "C", "R", "C", "C"),
                  rag_columns=(4,), size=8.3)
    pdf.heading("Teams by status in each directorate", size=11.5)
    levels = list(reversed(b.statuses[:-1])) + [NO_RETURN]
    stacks = [Series(s, [int(v) for v in b.directorates[f"teams.{s}"]], _colour(b, s)) for s in levels]
    y = pdf.get_y()
    end = bar_rows(pdf, pdf.l_margin, y, pdf.width, [safe_text(n) for n in b.directorates["name"]],
                   stacks, row_h=5.2, label_w=66, normalise=False,
                   right_text=[f"{int(t)} teams" for t in b.directorates["teams"]], right_w=16)
    legend(pdf, pdf.l_margin + 66, end + 1.5, [(s, _colour(b, s), "box") for s in levels])
    pdf.set_y(end + 8)


def _page_teams(pdf: ReportPDF, b: BoardData) -> None:
    pdf.add_page()
    pdf.title_block("Teams", f"{len(b.ranked)} of {len(b.teams)} teams are ranked in {b.round}. "
                    "Equal scores share a rank.")
    headers = ("Rank", "Team", "Directorate", "Score", "Status", "Change")
    widths, align = (13, 50, 63, 14, 17, 17), ("R", "L", "L", "R", "C", "C")
    pdf.heading(f"Top {min(TOP_N, len(b.ranked))}", size=11.5)
    pdf.rag_table(headers, _team_rows(b.top()), widths=widths, align=align, rag_columns=(4,), size=8)
    pdf.heading(f"Bottom {min(TOP_N, len(b.ranked))}", size=11.5)
    pdf.rag_table(headers, _team_rows(b.bottom()), widths=widths, align=align, rag_columns=(4,), size=8)


def _page_movement(pdf: ReportPDF, b: BoardData) -> None:
    pdf.add_page()
    pdf.title_block("Movement and returns", f"Change in rank since {b.previous}." if b.previous
                    else "This is the first round, so there is no movement yet.")
    headers = ("Team", "Directorate", "Was", "Now", "Change", "Score", "Status")
    widths, align = (40, 46, 12, 12, 16, 31, 17), ("L", "L", "R", "R", "C", "C", "C")
    if b.previous:
        for title, frame in (("Biggest rises", b.risers()), ("Biggest falls", b.fallers())):
            pdf.heading(title, size=11.5)
            if frame.empty:
                pdf.para("None.", size=9.5)
            else:
                pdf.rag_table(headers, _mover_rows(frame), widths=widths, align=align,
                              rag_columns=(6,), size=8.3)
    pdf.heading("Teams with no return", size=11.5)
    missing = b.non_returns
    if missing.empty:
        pdf.para(f"Every team sent a return for {b.round}.", size=9.5)
    else:
        rows = [(safe_text(d), ", ".join(safe_text(n) for n in g["name"]), str(len(g)))
                for d, g in missing.groupby("directorate", sort=True)]
        pdf.rag_table(("Directorate", "Teams", "Count"), rows, widths=(70, 90, 14),
                      align=("L", "L", "R"), size=8.3)


def _page_criteria(pdf: ReportPDF, b: BoardData) -> None:
    pdf.add_page()
    pdf.title_block("Criteria", f"How the teams that returned stand on each criterion in {b.round}; "
                    "the figure on the right is the department's mean score out of 100.")
    mix = b.criterion_mix()
    levels = list(reversed(b.criteria.rag.levels))
    weakest = b.weakest()
    highlight = int(mix.index[mix["id"] == weakest["id"]][0]) if weakest else None
    y = pdf.get_y()
    end = bar_rows(pdf, pdf.l_margin, y, pdf.width, list(mix["name"]),
                   [Series(s, list(mix[s]), _colour(b, s)) for s in levels], row_h=10, label_w=80,
                   right_text=[("" if pd.isna(p) else f"{p:.1f}") for p in mix["percent"]],
                   right_w=16, highlight=highlight)
    legend(pdf, pdf.l_margin + 80, end + 1.5, [(s, _colour(b, s), "box") for s in levels])
    pdf.set_y(end + 9)
    history = b.criterion_history or {}
    if len(history) > 1:
        pdf.heading("Department mean score by round (out of 100)", size=11.5)
        rounds = list(history)
        rows = []
        for c in b.criteria:
            values = [history[r].get(c.id) for r in rounds]
            cells = ["" if v is None or pd.isna(v) else f"{float(v):.1f}" for v in values]
            first, last = values[-2], values[-1]
            change = ("" if first is None or last is None or pd.isna(first) or pd.isna(last)
                      else f"{float(last) - float(first):+.1f}")
            rows.append((c.name, *cells, change))
        n = len(rounds)
        pdf.rag_table(("Criterion", *rounds, f"Since {rounds[-2]}"), rows,
                      widths=(174 - 20 * n - 22, *([20] * n), 22),
                      align=("L", *(["R"] * n), "R"), size=8.3)
    if not weakest:
        return
    c = b.criteria.get(weakest["id"])
    pdf.heading(f"Weakest criterion: {c.name}", size=11.5)
    worst = b.criteria.rag.levels[0]
    pdf.para(f"What it asks: {c.description} The department's mean score on it is "
             f"{weakest['percent']:.1f} out of 100, and {weakest[worst]} teams are {worst}.", size=10)
    mine = b.scores[b.scores["criterion"] == c.id]
    below = [float(v) for v, rag in zip(mine["counted"], mine["rag"]) if rag != b.criteria.rag.levels[-1]]
    if below:
        value, count = Counter(below).most_common(1)[0]
        step = c.next_step(value, b.criteria.rag)
        if step:
            pdf.para(f"The most common level below {b.criteria.rag.levels[-1]} is '{c.label(value)}' "
                     f"({count} teams). Their next step, to reach '{c.label(step[0])}': {step[1]}", size=10)
    pdf.para("Directors receive a letter listing each team's next step on every criterion.",
             size=9, colour=GREY)


def boardpack_pdf(engine: Engine, round_label: str | None = None, written: date | None = None, *,
                  actor: Actor) -> bytes:
    """The board pack for a round (the latest when none is named) as PDF bytes."""
    b = board_data(engine, round_label, written, actor=actor)
    pdf = ReportPDF(title=f"KIM league table board pack {b.round}",
                    running_title=f"KIM league table  |  Board pack  |  {b.round}",
                    footer_text=f"KIM team, {long_date(b.written)}. Source: KIM League, round {b.round}.")
    pdf.statuses = b.criteria.rag.statuses
    _page_summary(pdf, b)
    _page_directorates(pdf, b)
    _page_teams(pdf, b)
    _page_movement(pdf, b)
    _page_criteria(pdf, b)
    pdf.set_text_color(TEXT)
    return bytes(pdf.output())


def write_boardpack(engine: Engine, round_label: str | None, path: str | Path, *, actor: Actor) -> Path:
    path = Path(path)
    data = boardpack_pdf(engine, round_label, actor=actor)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise KimError(f"Cannot write {path}: {exc.strerror}. Check the folder exists and you can "
                       "write to it.") from None
    return path
