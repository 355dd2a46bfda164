"""Letters to directors: one per directorate, as Word (python-docx) or PDF (fpdf2).

A letter tells a director their directorate's status and rank among directorates, how it
has moved since the last round, what each team must do on every criterion that is not yet
at the top status (the next step from the criteria's improvement guidance), which claims
need evidence, which teams sent nothing, and when the next round starts.

Every figure comes from ``league_service.league`` and ``score_service.scored_round``, the functions the dashboard
uses, so a letter never disagrees with the league table. A letter is first built as plain
data (``LetterData``), then as a list of blocks (headings, paragraphs, tables) that both the
Word and the PDF writer render, so the two formats always say the same thing.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy.engine import Engine

from kim_metrics.services import admin as admin_service
from kim_metrics.services import league as league_service
from kim_metrics.services import scores as score_service
from kim_metrics.domain.access import ADMIN, DIRECTOR, EXECUTIVE, Actor, require
from kim_metrics.reports.charts import ReportPDF, long_date
from kim_metrics.domain.criteria import NO_RETURN, CriteriaSet
from kim_metrics.domain.errors import KimError, NotFoundError
from kim_metrics.reading.matching import closest
from kim_metrics.reports.exports import clean_text, safe_text
from kim_metrics.domain.statuses import KNOWN, StatusSet, rag_style
from kim_metrics.domain.rounds import next_label, start_date

LETTER_FORMATS = ("docx", "pdf")
SENDER = "Knowledge and Information Management team"
SENDER_SHORT = "KIM team"


# Data --------------------------------------------------------------------------------------

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

    @property
    def file_name(self) -> str:
        return letter_file_name(self.directorate, self.round)


@dataclass(frozen=True)
class _RoundData:
    """What every letter of a round draws on, fetched once."""

    round: str
    previous: str | None
    criteria: CriteriaSet
    directorates: pd.DataFrame
    previous_directorates: pd.DataFrame | None
    teams: pd.DataFrame
    scores: pd.DataFrame
    directors: dict[str, str]


def _round_data(engine: Engine, round_label: str | None, actor: Actor,
                directorate: str | None = None) -> _RoundData:
    """A round's figures for the letters ``actor`` may read: every directorate's for the KIM
    team and the board, a director's own."""
    require(actor, {ADMIN, EXECUTIVE, DIRECTOR}, "read letters to directors")
    by_directorate = league_service.league(engine, round_label, "directorate")
    label = by_directorate.round.label
    by_team = league_service.league(engine, label, "team")
    wanted = [directorate] if directorate else None
    scored = score_service.scored_round(engine, label, actor=actor, directorates=wanted)
    previous = by_directorate.previous.label if by_directorate.previous else None
    before = league_service.league(engine, previous, "directorate").table if previous else None
    org = admin_service.organisation(engine)
    directors: dict[str, str] = {}
    for name, email in zip(org["directorate"], org["director"]):
        if isinstance(email, str) and email.strip() and name not in directors:
            directors[name] = email.strip()
    visible = by_directorate.table[by_directorate.table["name"].map(actor.may_view_directorate)]
    return _RoundData(round=label, previous=previous, criteria=by_directorate.criteria,
                      directorates=visible, previous_directorates=before,
                      teams=by_team.table, scores=scored.scores, directors=directors)


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


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "directorate"


def letter_file_name(directorate: str, round_label: str, fmt: str = "docx") -> str:
    return f"letter-{slug(directorate)}-{round_label}.{fmt}"


def _int(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _float(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


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
        if row.get("review_status") == "challenged" and isinstance(row.get("review_note"), str) \
                and row["review_note"].strip():
            text += f" (The KIM team reviewed this score: {row['review_note'].strip()})"
        actions.append(Action(c.name, str(row["rag"]), c.label(counted), c.label(step[0]), text))
    return actions, claims


def _letter_data(data: _RoundData, directorate: str, written: date) -> LetterData:
    table = data.directorates
    row = table[table["name"] == directorate].iloc[0]
    rank = _int(row["rank"])
    ranked = int(table["rank"].notna().sum())
    joint = rank is not None and int((table["rank"] == rank).sum()) > 1
    previous_rag = None
    if data.previous_directorates is not None:
        before = data.previous_directorates[data.previous_directorates["name"] == directorate]
        if not before.empty and before.iloc[0]["rag"] != NO_RETURN:
            previous_rag = str(before.iloc[0]["rag"])
    teams = data.teams[data.teams["directorate"] == directorate]
    scores = data.scores[data.scores["directorate"] == directorate]
    summaries: list[TeamSummary] = []
    claims: list[Claim] = []
    for t in teams.to_dict("records"):
        mine = scores[scores["team_id"] == t["team_id"]]
        actions, team_claims = _team_actions(mine, data.criteria) if t["returned"] else ([], [])
        claims.extend(team_claims)
        summaries.append(TeamSummary(name=t["name"], returned=bool(t["returned"]),
                                     score=_float(t["score"]), rag=str(t["rag"]), rank=_int(t["rank"]),
                                     movement_label=str(t["movement_label"]), actions=tuple(actions)))
    following = next_label(data.round)
    email = data.directors.get(directorate)
    return LetterData(
        round=data.round, previous=data.previous, next_round=following,
        next_start=start_date(following), written=written, directorate=directorate,
        group=str(row.get("group") or ""), director_email=email, director_name=name_from_email(email),
        top_status=data.criteria.rag.levels[-1], score=_float(row["score"]), rag=str(row["rag"]),
        rank=rank, ranked_directorates=ranked, joint=joint, movement=_int(row["movement"]),
        previous_rank=_int(row["previous_rank"]), previous_score=_float(row["previous_score"]),
        previous_rag=previous_rag, teams_total=int(row["teams"]),
        teams_returned=int(row["returned_teams"]),
        ranked_teams=int(data.teams["rank"].notna().sum()),
        teams=tuple(summaries), claims=tuple(claims),
        no_return=tuple(s.name for s in summaries if not s.returned),
        statuses=data.criteria.rag.statuses)


def letter_data(engine: Engine, round_label: str | None, directorate: str,
                written: date | None = None, *, actor: Actor) -> LetterData:
    """The facts one letter states, for a directorate named in any case."""
    data = _round_data(engine, round_label, actor)
    return _letter_data(data, _find_directorate(data, directorate), written or date.today())


def _find_directorate(data: _RoundData, name: str) -> str:
    names = list(data.directorates["name"])
    wanted = str(name).strip().casefold()
    for n in names:
        if n.casefold() == wanted:
            return n
    hint = [n for n in names if wanted and wanted in n.casefold()][:3] or closest(name, names)
    if not hint:
        short = {n.casefold().replace("directorate", "").strip(): n for n in names}
        hint = [short[h] for h in closest(name, list(short))]
    raise NotFoundError(f"There is no directorate '{name}' in round {data.round}."
                        + (f" Did you mean {' or '.join(repr(h) for h in hint)}?" if hint else ""))


# Wording -----------------------------------------------------------------------------------

def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _places(n: int) -> str:
    return f"{n} place{'s' if n != 1 else ''}"


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
    if acting or d.claims or d.no_return:
        parts = []
        if acting:
            n = sum(len(t.actions) for t in acting)
            parts.append(f"{n} action{'s' if n != 1 else ''} for {len(acting)} team{'s' if len(acting) != 1 else ''}")
        if d.claims:
            parts.append(f"{len(d.claims)} claim{'s' if len(d.claims) != 1 else ''} to back up with evidence")
        if d.no_return:
            parts.append(f"{len(d.no_return)} team{'s' if len(d.no_return) != 1 else ''} to chase for a return")
        summary = f"This letter lists {_join(parts)}."
    else:
        summary = None
    if d.previous is None:
        out.append("This is the first round of the league, so there is no earlier result to compare with.")
    elif d.score is not None and d.previous_rank is None:
        out.append(f"The directorate had no ranked result in {d.previous}, so there is no movement to report.")
    elif d.score is not None:
        if d.movement and d.movement > 0:
            move = f"it has moved up {_places(d.movement)}, from {ordinal(d.previous_rank)}"
        elif d.movement and d.movement < 0:
            move = f"it has moved down {_places(-d.movement)}, from {ordinal(d.previous_rank)}"
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


# Blocks both writers render ----------------------------------------------------------------

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
        blocks.append(Para(f"{_join(all_top)} {'is' if len(all_top) == 1 else 'are'} {top} on every "
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

    if d.no_return:
        blocks.append(Heading("Teams that did not send a return"))
        names = [safe_text(n) for n in d.no_return]
        blocks.append(Para(f"{_join(names)} sent no return for {d.round}, so "
                           f"{'it is' if len(names) == 1 else 'they are'} shown as {NO_RETURN} and "
                           "not ranked. Please ask them to send one for the next round."))

    blocks.append(Heading("Next round"))
    blocks.append(Para(f"The next round, {d.next_round}, starts on {long_date(d.next_start)}. "
                       "Returns should give evidence for every score above the lowest level. The "
                       "KIM team can help teams with any of the actions above."))
    blocks.append(Para("Please share this letter with your teams' information managers."))
    blocks.append(Para("Yours sincerely,"))
    blocks.append(Para(SENDER, bold=True))
    return blocks


def _join(names: Sequence[str]) -> str:
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _subject(d: LetterData) -> str:
    return f"KIM league table {d.round}: {safe_text(d.directorate)}"


def _address(d: LetterData) -> list[str]:
    lines = [safe_text(d.director_name), f"Director, {safe_text(d.directorate)}"]
    if d.director_email:
        lines.append(safe_text(d.director_email))
    return lines


# Word ----------------------------------------------------------------------------------------

def letter_docx(d: LetterData) -> bytes:
    from docx import Document
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt, RGBColor

    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.2)
    section.top_margin, section.bottom_margin = Cm(2.0), Cm(2.0)
    normal = doc.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(11)
    normal.paragraph_format.space_after = Pt(6)
    for name, size in (("Title", 18), ("Heading 1", 13), ("Heading 2", 11)):
        style = doc.styles[name]
        style.font.name = "Arial"
        style.font.size = Pt(size)
        style.font.bold = True
        style.font.color.rgb = RGBColor(0x0B, 0x0C, 0x0C)
        style.paragraph_format.space_before = Pt(12 if name != "Title" else 0)
        style.paragraph_format.space_after = Pt(4)
    doc.core_properties.title = _subject(d)
    doc.core_properties.author = SENDER
    for part in (section.header, section.footer):
        p = part.paragraphs[0]
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run("OFFICIAL")
        run.bold = True
        run.font.size = Pt(9)

    def para(text: str, *, bold: bool = False, size: float | None = None, grey: bool = False,
             align=None, after: float | None = None):
        p = doc.add_paragraph()
        run = p.add_run(clean_text(text))
        run.bold = bold
        if size:
            run.font.size = Pt(size)
        if grey:
            run.font.color.rgb = RGBColor(0x50, 0x5A, 0x5F)
        if align is not None:
            p.alignment = align
        if after is not None:
            p.paragraph_format.space_after = Pt(after)
        return p

    para(SENDER, bold=True, align=WD_ALIGN_PARAGRAPH.RIGHT, after=0)
    para(long_date(d.written), align=WD_ALIGN_PARAGRAPH.RIGHT)
    for i, line in enumerate(_address(d)):
        para(line, after=0 if i < len(_address(d)) - 1 else 10)
    doc.add_paragraph(clean_text(_subject(d)), style="Title")

    for block in letter_blocks(d):
        if isinstance(block, Heading):
            doc.add_paragraph(clean_text(block.text), style="Heading 1" if block.level == 1 else "Heading 2")
        elif isinstance(block, Para):
            para(block.text, bold=block.bold, size=9.5 if block.small else None, grey=block.small)
        else:
            table = doc.add_table(rows=1, cols=len(block.headers))
            table.style = "Table Grid"
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
            table.autofit = False
            total = sum(block.widths)
            usable = 21.0 - 4.4
            widths = [Cm(usable * w / total) for w in block.widths]
            for column, width in zip(table.columns, widths):
                column.width = width   # the grid LibreOffice reads; cells carry it for Word
            _table_look(table)
            _docx_row(table.rows[0], block.headers, widths, header=True)
            _repeat_header(table.rows[0])
            for values in block.rows:
                _docx_row(table.add_row(), values, widths, align=block.align,
                          rag_columns=block.rag_columns, statuses=d.statuses)
            doc.add_paragraph().paragraph_format.space_after = Pt(0)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _docx_row(row, values, widths, *, header: bool = False, align=(), rag_columns=(),
              statuses: StatusSet | None = None) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT

    aligns = {"L": WD_ALIGN_PARAGRAPH.LEFT, "R": WD_ALIGN_PARAGRAPH.RIGHT, "C": WD_ALIGN_PARAGRAPH.CENTER}
    for j, (cell, value) in enumerate(zip(row.cells, values)):
        cell.width = widths[j]
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER
        p = cell.paragraphs[0]
        p.paragraph_format.space_after = Pt(0)
        run = p.add_run(clean_text(str(value)))
        run.font.size = Pt(9.5)
        if header:
            run.bold = True
            run.font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF)
            _shade(cell, "0B0C0C")
            continue
        if j < len(align):
            p.alignment = aligns.get(align[j], WD_ALIGN_PARAGRAPH.LEFT)
        style = rag_style(value, statuses) if j in rag_columns else None
        if style:
            _shade(cell, style.background.lstrip("#"))
            run.bold = True
            run.font.color.rgb = RGBColor.from_string(style.text.lstrip("#"))


def _table_look(table) -> None:
    """Light grey borders and some room inside the cells."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    props = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:val"), "single")
        edge.set(qn("w:sz"), "4")
        edge.set(qn("w:color"), "B1B4B6")
        borders.append(edge)
    props.append(borders)
    margins = OxmlElement("w:tblCellMar")
    for side, twips in (("top", 45), ("left", 85), ("bottom", 45), ("right", 85)):
        edge = OxmlElement(f"w:{side}")
        edge.set(qn("w:w"), str(twips))
        edge.set(qn("w:type"), "dxa")
        margins.append(edge)
    props.append(margins)


def _shade(cell, fill: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    props = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    props.append(shd)


def _repeat_header(row) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    props = row._tr.get_or_add_trPr()
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    props.append(flag)


# PDF -----------------------------------------------------------------------------------------

def letter_pdf(d: LetterData) -> bytes:
    pdf = ReportPDF(title=_subject(d), running_title=f"KIM league table {d.round}  |  {d.directorate}",
                    footer_text=f"{SENDER}, {long_date(d.written)}")
    pdf.statuses = d.statuses
    pdf.add_page()
    pdf.font(10.5, bold=True)
    pdf.cell(pdf.width, 5, pdf.t(SENDER), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.font(10.5)
    pdf.cell(pdf.width, 5, long_date(d.written), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    for line in _address(d):
        pdf.cell(pdf.width, 5, pdf.t(line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(5)
    pdf.font(15, bold=True)
    pdf.multi_cell(pdf.width, 7, pdf.t(_subject(d)), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    for block in letter_blocks(d):
        if isinstance(block, Heading):
            pdf.heading(block.text, size=12.5 if block.level == 1 else 10.5)
        elif isinstance(block, Para):
            pdf.para(block.text, size=8.8 if block.small else 10.5, colour="#505A5F" if block.small else "#0B0C0C",
                     bold=block.bold)
        else:
            pdf.rag_table(block.headers, block.rows, widths=block.widths, align=block.align,
                          rag_columns=block.rag_columns, size=8.8)
    return bytes(pdf.output())


# Entry points ----------------------------------------------------------------------------------

def render_letter(d: LetterData, fmt: str = "docx") -> bytes:
    if fmt not in LETTER_FORMATS:
        raise KimError(f"Letters can be written as {' or '.join(LETTER_FORMATS)}, not '{fmt}'.")
    return letter_docx(d) if fmt == "docx" else letter_pdf(d)


def directorate_letter(engine: Engine, round_label: str | None, directorate: str,
                       fmt: str = "docx", written: date | None = None, *, actor: Actor) -> bytes:
    """One directorate's letter as Word or PDF bytes, for a download button."""
    if fmt not in LETTER_FORMATS:
        raise KimError(f"Letters can be written as {' or '.join(LETTER_FORMATS)}, not '{fmt}'.")
    return render_letter(letter_data(engine, round_label, directorate, written, actor=actor), fmt)


def all_letters(engine: Engine, round_label: str | None, written: date | None = None, *,
                actor: Actor) -> list[LetterData]:
    """Every directorate's letter data for a round that ``actor`` may read, in league order."""
    data = _round_data(engine, round_label, actor)
    return [_letter_data(data, name, written or date.today()) for name in data.directorates["name"]]


def write_letters(engine: Engine, round_label: str | None, folder: str | Path, fmt: str = "docx",
                  written: date | None = None, *, actor: Actor) -> list[Path]:
    """Write one letter per directorate into ``folder`` (made if missing); the paths written."""
    if fmt not in LETTER_FORMATS:
        raise KimError(f"Letters can be written as {' or '.join(LETTER_FORMATS)}, not '{fmt}'.")
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KimError(f"Cannot make the folder {folder}: {exc.strerror}.") from None
    paths = []
    for d in all_letters(engine, round_label, written, actor=actor):
        path = folder / letter_file_name(d.directorate, d.round, fmt)
        try:
            path.write_bytes(render_letter(d, fmt))
        except OSError as exc:
            raise KimError(f"Cannot write {path}: {exc.strerror}. Check you can write to the folder.") from None
        paths.append(path)
    return paths
