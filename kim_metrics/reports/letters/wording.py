"""What a letter says in words: its sentences, and the letter as a list of blocks (headings,
paragraphs, tables) that the Word and the PDF renderer both draw, so the two formats always
say the same thing. Every name a team or the organisation typed is made safe here."""

from __future__ import annotations

from dataclasses import dataclass

from kim_metrics.domain.criteria import NO_RETURN
from kim_metrics.reports.cells import safe_text
from kim_metrics.reports.letters.data import LetterData
from kim_metrics.reports.words import join_names, long_date, ordinal, plural

SENDER = "Knowledge and Information Management team"


def next_round_text(d: LetterData) -> str:
    """When the next round starts and its returns are due, in the tense the letter's date needs:
    a date already past is never quoted as if it were to come."""
    starts = "starts" if d.next_start > d.written else "started"
    out = f"The next round, {d.next_round}, {starts} on {long_date(d.next_start)}."
    if d.next_deadline is not None:
        due = "are due by" if d.next_deadline >= d.written else "were due by"
        out += f" Returns for it {due} {long_date(d.next_deadline)}."
    return out


def summary_text(d: LetterData) -> list[str]:
    """The opening paragraphs: status, rank, change since the last round, returns."""
    name = safe_text(d.directorate)
    out = [f"I am writing with the results of the {d.round} Knowledge and Information "
           f"Management (KIM) league table for {name}."]
    if d.score is None:
        out.append(f"None of the {d.teams_total} teams in the directorate sent a return for {d.round}, "
                   f"so it is shown as {NO_RETURN} and is not ranked among the "
                   f"{d.ranked_directorates} directorates that returned.")
    else:
        rank = f"{'joint ' if d.joint else ''}{ordinal(d.rank)}" if d.rank else "unranked"
        out.append(f"The directorate is rated {d.rag}, with a score of {d.score:.1f} out of 100. "
                   f"It is ranked {rank} of {d.ranked_directorates} directorates. "
                   f"{d.teams_returned} of {d.teams_total} teams sent a return.")
    acting = [t for t in d.teams if t.actions]
    if acting or d.claims or d.no_return or d.overdue:
        parts = []
        if acting:
            parts.append(f"{plural(sum(len(t.actions) for t in acting), 'action')} for "
                         f"{plural(len(acting), 'team')}")
        if d.claims:
            parts.append(f"{plural(len(d.claims), 'claim')} to back up with evidence")
        if d.no_return:
            parts.append(f"{plural(len(d.no_return), 'team')} to chase for a return")
        if d.overdue:
            parts.append(f"{plural(len(d.overdue), 'committed action')} past {'its' if len(d.overdue) == 1 else 'their'} due date")
        summary = f"This letter lists {join_names(parts)}."
    else:
        summary = None
    if d.previous is None:
        out.append("This is the first round of the league, so there is no earlier result to compare with.")
    elif d.score is not None and d.previous_rank is None:
        out.append(f"The directorate had no ranked result in {d.previous}, so there is no movement to report.")
    elif d.score is not None:
        if d.movement and d.movement > 0:
            move = f"it has moved up {plural(d.movement, 'place')}, from {ordinal(d.previous_rank)}"
        elif d.movement and d.movement < 0:
            move = f"it has moved down {plural(-d.movement, 'place')}, from {ordinal(d.previous_rank)}"
        else:
            move = f"it has kept its place ({ordinal(d.previous_rank)})"
        if d.previous_score is not None:
            diff = round(d.score - d.previous_score, 1)
            if diff > 0:
                move += f", and its score has risen by {diff:.1f} points from {d.previous_score:.1f}"
            elif diff < 0:
                move += f", and its score has fallen by {-diff:.1f} points from {d.previous_score:.1f}"
            else:
                move += f", with the same score of {d.previous_score:.1f}"
        if d.previous_rag and d.previous_rag != d.rag:
            move += f". Its rating has changed from {d.previous_rag} to {d.rag}"
        elif d.previous_rag:
            move += f". Its rating is unchanged at {d.rag}"
        out.append(f"Since {d.previous}, {move}.")
    if summary:
        out.append(summary)
    return out


def subject(d: LetterData) -> str:
    return f"KIM league table {d.round}: {safe_text(d.directorate)}"


def address(d: LetterData) -> list[str]:
    lines = [safe_text(d.director_name), f"Director, {safe_text(d.directorate)}"]
    if d.director_email:
        lines.append(safe_text(d.director_email))
    return lines


def dateline(d: LetterData) -> str:
    return long_date(d.written)


# Blocks both renderers draw ------------------------------------------------------------------

@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 1


@dataclass(frozen=True)
class Para:
    text: str
    bold: bool = False
    small: bool = False


@dataclass(frozen=True)
class Table:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    widths: tuple[float, ...]           # relative
    align: tuple[str, ...]
    rag_columns: tuple[int, ...] = ()


Block = Heading | Para | Table


def letter_blocks(d: LetterData) -> list[Block]:
    """The letter as headings, paragraphs and tables, every team-typed name made safe."""
    top = d.top_status
    blocks: list[Block] = [
        Para(f"Dear {safe_text(d.director_name)},"),
        *(Para(p) for p in summary_text(d)),
    ]
    team_rows = []
    for t in d.teams:
        team_rows.append((safe_text(t.name), "" if t.score is None else f"{t.score:.1f}", t.rag,
                          "" if t.rank is None else str(t.rank), t.movement_label or ""))
    if team_rows:
        blocks.append(Heading("Your teams"))
        blocks.append(Para(f"Rank is among the {d.ranked_teams} teams that returned across the "
                           f"department; change is since {d.previous or 'the last round'}.", small=True))
        blocks.append(Table(("Team", "Score", "Status", "Rank", "Change"), tuple(team_rows),
                            (52, 12, 16, 10, 12), ("L", "R", "C", "R", "C"), rag_columns=(2,)))

    acting = [t for t in d.teams if t.actions]
    blocks.append(Heading(f"What each team needs to do to reach {top}"))
    if acting:
        blocks.append(Para(f"Each criterion below is not yet {top}. The action is the next step in "
                           "the KIM guidance: it would move the team up one level on that criterion."))
        for t in acting:
            score = "" if t.score is None else f", {t.score:.1f}"
            blocks.append(Heading(f"{safe_text(t.name)} ({t.rag}{score})", level=2))
            rows = tuple((a.criterion, a.status, f"{a.now} → {a.target}", a.action) for a in t.actions)
            blocks.append(Table(("Criterion", "Status", "Now → next level", "Action"), rows,
                                (28, 11, 21, 40), ("L", "C", "L", "L"), rag_columns=(1,)))
    else:
        blocks.append(Para(f"Every team that returned is {top} on every criterion. Thank you."))
    all_top = [safe_text(t.name) for t in d.teams if t.returned and not t.actions]
    if all_top and acting:
        blocks.append(Para(f"{join_names(all_top)} {'is' if len(all_top) == 1 else 'are'} {top} on every "
                           "criterion and need only keep it up."))

    if d.claims:
        blocks.append(Heading("Claims to back up with evidence"))
        blocks.append(Para("A score above the lowest level counts only when it has evidence. These "
                           "claims have none, so each counts as the lowest level until the evidence "
                           "is sent to the KIM team."))
        rows = tuple((safe_text(c.team), c.criterion, c.claimed, c.counts_as, c.with_evidence)
                     for c in d.claims)
        blocks.append(Table(("Team", "Criterion", "Claimed", "Counts as", "With evidence"), rows,
                            (27, 33, 15, 13, 12), ("L", "L", "L", "L", "C"), rag_columns=(4,)))

    if d.tracked:
        blocks.append(Heading("Actions your teams committed to"))
        late = len(d.overdue)
        blocks.append(Para(f"{plural(len(d.tracked), 'action')} {'is' if len(d.tracked) == 1 else 'are'} "
                           f"open, each with an owner and a due date"
                           + (f"; {late} {'is' if late == 1 else 'are'} overdue and listed first." if late else ".")
                           + " An action closes itself when a return shows its target reached with evidence."))
        rows = tuple((safe_text(a.team), safe_text(a.criterion), safe_text(a.target), safe_text(a.owner),
                      long_date(a.due), "overdue" if a.overdue else a.status) for a in d.tracked)
        blocks.append(Table(("Team", "Criterion", "Target", "Owner", "Due", "Status"), rows,
                            (20, 22, 14, 22, 12, 10), ("L", "L", "L", "L", "L", "C")))

    if d.no_return:
        blocks.append(Heading("Teams that did not send a return"))
        names = [safe_text(n) for n in d.no_return]
        blocks.append(Para(f"{join_names(names)} sent no return for {d.round}, so "
                           f"{'it is' if len(names) == 1 else 'they are'} shown as {NO_RETURN} and "
                           "not ranked. Please ask them to send one for the next round."))

    blocks.append(Heading("Next round"))
    blocks.append(Para(next_round_text(d) + " Returns should give evidence for every score above "
                       "the lowest level. The KIM team can help teams with any of the actions above."))
    blocks.append(Para("Please share this letter with your teams' information managers."))
    blocks.append(Para("Yours sincerely,"))
    blocks.append(Para(SENDER, bold=True))
    return blocks
