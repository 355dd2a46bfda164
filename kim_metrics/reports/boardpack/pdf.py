"""The board pack as a PDF: a few printable pages for the Permanent Secretary and the Board.

The department's status mix and its trend over rounds, the directorates' league, the top and
bottom teams, the biggest movers, who has not returned, and the criterion where the
department is weakest, drawn from a ``BoardData`` in the house style (``reports.pdfstyle``)
with matplotlib charts (``reports.charts``).
"""

from __future__ import annotations

from collections import Counter

import pandas as pd

from kim_metrics.domain.criteria import NO_RETURN
from kim_metrics.reports.boardpack.data import BoardData
from kim_metrics.reports.boardpack.wording import key_messages, rank_text, score_text
from kim_metrics.reports.cells import safe_text
from kim_metrics.reports.charts import Series, bar_rows, column_chart
from kim_metrics.reports.pdfstyle import BLUE, GREY, TEXT, ReportPDF
from kim_metrics.reports.words import long_date
from kim_metrics.domain.frames import status_count_column
from kim_metrics.domain.values import missing


def _colour(b: BoardData, status: str) -> str:
    style = b.criteria.rag.statuses.style(status)
    return style.background if style else GREY


def _team_rows(frame: pd.DataFrame) -> list[tuple[str, ...]]:
    return [(rank_text(r["rank"]), safe_text(r["name"]), safe_text(r["directorate"]), score_text(r["score"]),
             str(r["rag"]), str(r["movement_label"])) for r in frame.to_dict("records")]


def _mover_rows(frame: pd.DataFrame) -> list[tuple[str, ...]]:
    return [(safe_text(r["name"]), safe_text(r["directorate"]), rank_text(r["previous_rank"]), rank_text(r["rank"]),
             str(r["movement_label"]), f"{score_text(r['previous_score'])} → {score_text(r['score'])}", str(r["rag"]))
            for r in frame.to_dict("records")]


def _page_summary(pdf: ReportPDF, b: BoardData) -> None:
    pdf.add_page()
    compared = f"compared with {b.previous}" if b.previous else "the first round"
    pdf.title_block(f"KIM league table: board pack, {b.round}",
                    f"Knowledge and information management across the department, {compared}. "
                    f"Prepared by the KIM team on {long_date(b.written)}.")
    now = b.trend[b.trend["round"] == b.round]
    mix = now.iloc[0] if not now.empty else None
    tiles = [(score_text(b.department.get("score")) or "-",
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
                 line=Series("Department score", list(b.trend["score"]), BLUE),
                 axis_label="Teams", line_label="Score")
    pdf.set_y(y + height)


def _page_directorates(pdf: ReportPDF, b: BoardData) -> None:
    pdf.add_page()
    pdf.title_block("Directorates", f"Ranked by the mean score of their teams that returned; "
                    f"change since {b.previous or 'the last round'}.")
    rows = [(rank_text(r["rank"]), safe_text(r["name"]), f"{int(r['returned_teams'])} of {int(r['teams'])}",
             score_text(r["score"]), str(r["rag"]), str(r["movement_label"]))
            for r in b.directorates.to_dict("records")]
    pdf.rag_table(("Rank", "Directorate", "Returned", "Score", "Status", "Change"), rows,
                  widths=(13, 93, 20, 14, 17, 17), align=("R", "L", "C", "R", "C", "C"),
                  rag_columns=(4,), size=8.3)
    pdf.heading("Teams by status in each directorate", size=11.5)
    levels = list(reversed(b.statuses[:-1])) + [NO_RETURN]
    stacks = [Series(s, [int(v) for v in b.directorates[status_count_column(s)]], _colour(b, s))
              for s in levels]
    y = pdf.get_y()
    end = bar_rows(pdf, pdf.l_margin, y, pdf.width, [safe_text(n) for n in b.directorates["name"]],
                   stacks, row_h=5.2, label_w=66, normalise=False,
                   right_text=[f"{int(t)} teams" for t in b.directorates["teams"]], right_w=16)
    pdf.set_y(end + 1.5)


def _page_teams(pdf: ReportPDF, b: BoardData) -> None:
    pdf.add_page()
    pdf.title_block("Teams", f"{len(b.ranked)} of {len(b.teams)} teams are ranked in {b.round}. "
                    "Equal scores share a rank.")
    headers = ("Rank", "Team", "Directorate", "Score", "Status", "Change")
    widths, align = (13, 50, 63, 14, 17, 17), ("R", "L", "L", "R", "C", "C")
    for name, listing in (("Top", b.top()), ("Bottom", b.bottom())):
        pdf.heading(listing.title(name), size=11.5)
        pdf.rag_table(headers, _team_rows(listing.rows), widths=widths, align=align, rag_columns=(4,),
                      size=8)


def _page_movement(pdf: ReportPDF, b: BoardData) -> None:
    pdf.add_page()
    pdf.title_block("Movement and returns", f"Change in rank since {b.previous}." if b.previous
                    else "This is the first round, so there is no movement yet.")
    headers = ("Team", "Directorate", "Was", "Now", "Change", "Score", "Status")
    widths, align = (40, 46, 12, 12, 16, 31, 17), ("L", "L", "R", "R", "C", "C", "C")
    if b.previous:
        for word, listing in (("rises", b.risers()), ("falls", b.fallers())):
            pdf.heading(f"Biggest {listing.wanted} {word}, {len(listing.rows)} with ties"
                        if listing.with_ties else f"Biggest {word}", size=11.5)
            if listing.rows.empty:
                pdf.para("None.", size=9.5)
            else:
                pdf.rag_table(headers, _mover_rows(listing.rows), widths=widths, align=align,
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


def _page_follow_up(pdf: ReportPDF, b: BoardData) -> None:
    """Who to chase for a return (with the days to or past the deadline), and overdue actions."""
    if b.chase is None and b.overdue_actions is None:
        return
    pdf.add_page()
    pdf.title_block("Following up", f"Returns still missing for {b.round}, and the actions teams "
                    "committed to that are past their due date.")
    if b.chase is not None:
        pdf.heading("Teams without a return and who to ask", size=11.5)
        if b.chase.empty:
            pdf.para(f"Every team sent a return for {b.round}.", size=9.5)
        else:
            rows = [(safe_text(r.team), safe_text(r.directorate),
                     safe_text(r.information_managers.replace(";", ",")) or "none named", r.when)
                    for r in b.chase.itertuples(index=False)]
            pdf.rag_table(("Team", "Directorate", "Information managers", "Deadline"), rows,
                          widths=(40, 40, 64, 30), align=("L", "L", "L", "L"), size=8.3)
    if b.overdue_actions is not None:
        pdf.heading("Overdue actions by directorate", size=11.5)
        if b.overdue_actions.empty:
            pdf.para("No committed action is past its due date.", size=9.5)
        else:
            rows = [(safe_text(r.directorate), str(int(r.overdue)))
                    for r in b.overdue_actions.itertuples(index=False)]
            pdf.rag_table(("Directorate", "Overdue actions"), rows, widths=(140, 34),
                          align=("L", "R"), size=8.3)


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
    pdf.set_y(end + 2.5)
    history = b.criterion_history
    if len(history) > 1:
        pdf.heading("Department mean score by round (out of 100)", size=11.5)
        rounds = list(history)
        rows = []
        for c in b.criteria:
            values = [history[r].get(c.id) for r in rounds]
            cells = ["" if missing(v) else f"{float(v):.1f}" for v in values]
            first, last = values[-2], values[-1]
            change = "" if missing(first) or missing(last) else f"{float(last) - float(first):+.1f}"
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


def render_boardpack(b: BoardData) -> bytes:
    """The board pack for one round as PDF bytes."""
    pdf = ReportPDF(title=f"KIM league table board pack {b.round}",
                    running_title=f"KIM league table  |  Board pack  |  {b.round}",
                    footer_text=f"KIM team, {long_date(b.written)}. Source: KIM League, round {b.round}.")
    pdf.statuses = b.criteria.rag.statuses
    _page_summary(pdf, b)
    _page_directorates(pdf, b)
    _page_teams(pdf, b)
    _page_movement(pdf, b)
    _page_follow_up(pdf, b)
    _page_criteria(pdf, b)
    pdf.set_text_color(TEXT)
    return bytes(pdf.output())
