"""Letters to directors, read back with python-docx and pypdf and checked against the round."""

from __future__ import annotations

import io
import re
from datetime import date

import pandas as pd
import pytest
from docx import Document
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph
from pypdf import PdfReader

from kim_metrics.domain.access import local_admin
from kim_metrics.services import admin as admin_service
from kim_metrics.services import league as league_service
from kim_metrics.services import scores as score_service
from kim_metrics.domain.errors import KimError, NotFoundError
from kim_metrics.reports.letters import (letter_file_name, letter_file_names, name_from_email,
                                         ordinal, render_letter)
from kim_metrics.services.documents import directorate_letter, letter_data, write_letters
from kim_metrics.domain.statuses import RAG_STYLES
from kim_metrics.domain.rounds import next_label, start_date
from tests.support.hostile_demo import (EVIL_DIRECTORATE, EVIL_TEAM, ROUND, assert_inert,
                                build_named_db, render_pdf)

WRITTEN = date(2026, 9, 15)


@pytest.fixture(scope="module")
def engine(hostile_demo):
    return hostile_demo


@pytest.fixture(scope="module")
def docx_letters(engine, tmp_path_factory):
    folder = tmp_path_factory.mktemp("docx")
    return {p.name: p for p in write_letters(engine, ROUND, folder, "docx", written=WRITTEN, actor=local_admin())}


@pytest.fixture(scope="module")
def pdf_letters(engine, tmp_path_factory):
    folder = tmp_path_factory.mktemp("pdf")
    return {p.name: p for p in write_letters(engine, ROUND, folder, "pdf", written=WRITTEN, actor=local_admin())}


def blocks(doc):
    """Paragraphs and tables in document order."""
    for child in doc.element.body.iterchildren():
        if child.tag.endswith("}p"):
            yield Paragraph(child, doc)
        elif child.tag.endswith("}tbl"):
            yield DocxTable(child, doc)


def all_text(doc) -> list[str]:
    out = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        out += [cell.text for row in table.rows for cell in row.cells]
    for section in doc.sections:
        out += [p.text for p in section.header.paragraphs + section.footer.paragraphs]
    return out


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def expected_actions(engine, directorate: str) -> dict[str, list[tuple[str, str]]]:
    """Team → [(criterion name, guidance)] for every criterion below the top status."""
    scored = score_service.scored_round(engine, ROUND, actor=local_admin())
    criteria = scored.criteria
    top = criteria.rag.levels[-1]
    out: dict[str, list[tuple[str, str]]] = {}
    mine = scored.scores[(scored.scores["directorate"] == directorate) & (scored.scores["rag"] != top)]
    for row in mine.to_dict("records"):
        c = criteria.get(row["criterion"])
        value = row["claimed"] if row["unevidenced"] else row["counted"]
        step = c.next_step(float(value), criteria.rag)
        out.setdefault(row["team"], []).append((c.name, step[1] if step else ""))
    return out


def test_name_from_email():
    assert name_from_email("jane.smith@dept.gov.uk") == "Jane Smith"
    assert name_from_email("mary-jane.o'neil@x.gov.uk") == "Mary-Jane O'Neil"
    assert name_from_email("j_bloggs2@x.gov.uk") == "J Bloggs"
    assert name_from_email(None) == "Director"
    assert name_from_email("") == "Director"
    assert name_from_email("not-an-email") == "Director"


def test_ordinal():
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 112)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "112th"]


def test_one_letter_per_directorate(engine, docx_letters, pdf_letters):
    names = league_service.league(engine, ROUND, "directorate").table["name"]
    assert set(docx_letters) == {letter_file_name(n, ROUND, "docx") for n in names}
    assert set(pdf_letters) == {letter_file_name(n, ROUND, "pdf") for n in names}
    assert letter_file_name("Estates and Security Directorate", ROUND) == \
        "letter-estates-and-security-directorate-2026-Q3.docx"


@pytest.mark.parametrize("directorate", [EVIL_DIRECTORATE, "Security and Information Directorate"])
def test_docx_letter_states_the_round(engine, docx_letters, directorate):
    doc = Document(docx_letters[letter_file_name(directorate, ROUND)])
    text = squash(" ".join(all_text(doc)))
    league = league_service.league(engine, ROUND, "directorate")
    row = league.table[league.table["name"] == directorate].iloc[0]
    org = admin_service.organisation(engine)
    email = org[org["directorate"] == directorate]["director"].iloc[0]
    assert f"Dear {name_from_email(email)}," in text
    assert email in text
    assert "OFFICIAL" in text
    ranked = int(league.table["rank"].notna().sum())
    joint = int((league.table["rank"] == row["rank"]).sum()) > 1
    assert f"rated {row['rag']}, with a score of {row['score']:.1f} out of 100" in text
    assert f"ranked {'joint ' if joint else ''}{ordinal(int(row['rank']))} of {ranked} directorates" in text
    move = int(row["movement"])
    if move > 0:
        assert f"moved up {move} place" in text
    elif move < 0:
        assert f"moved down {-move} place" in text
    else:
        assert "kept its place" in text
    assert f"{row['previous_score']:.1f}" in text
    assert f"{int(row['returned_teams'])} of {int(row['teams'])} teams sent a return" in text
    following = next_label(ROUND)
    tense = "starts" if start_date(following) > WRITTEN else "started"
    assert f"The next round, {following}, {tense} on {start_date(following).day} " \
           f"{start_date(following):%B %Y}" in text
    assert "15 September 2026" in text

    # The team table: every team, with the league's score, status (filled) and rank.
    teams = league_service.league(engine, ROUND, "team").table
    teams = teams[teams["directorate"] == directorate]
    table = next(t for t in doc.tables if t.rows[0].cells[0].text == "Team"
                 and t.rows[0].cells[1].text == "Score")
    body = table.rows[1:]
    assert len(body) == len(teams)
    for tr, want in zip(body, teams.to_dict("records")):
        cells = [c.text for c in tr.cells]
        assert cells[0] == (("'" + want["name"]) if want["name"].startswith("=") else want["name"])
        assert cells[1] == ("" if pd.isna(want["score"]) else f"{want['score']:.1f}")
        assert cells[2] == want["rag"]
        assert cells[3] == ("" if pd.isna(want["rank"]) else str(int(want["rank"])))
        shading = tr.cells[2]._tc.tcPr.xpath("./w:shd")[0]
        assert shading.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}fill") == \
            RAG_STYLES[want["rag"]].background.lstrip("#")


def test_docx_letter_gives_each_team_its_actions(engine, docx_letters):
    directorate = EVIL_DIRECTORATE
    doc = Document(docx_letters[letter_file_name(directorate, ROUND)])
    expected = expected_actions(engine, directorate)
    found: dict[str, list[tuple[str, str]]] = {}
    current = None
    for block in blocks(doc):
        if isinstance(block, Paragraph) and block.style.name == "Heading 2":
            current = block.text.rsplit(" (", 1)[0]
        elif isinstance(block, DocxTable) and block.rows[0].cells[0].text == "Criterion" \
                and block.rows[0].cells[-1].text == "Action" and current:
            found[current] = [(r.cells[0].text, r.cells[-1].text) for r in block.rows[1:]]
            current = None
    assert set(found) == {("'" + t) if t.startswith("=") else t for t in expected}
    for team, wanted in expected.items():
        got = found[("'" + team) if team.startswith("=") else team]
        assert [g[0] for g in got] == [w[0] for w in wanted]
        for (_, action), (_, guidance) in zip(got, wanted):
            assert guidance in action
    evil = found["'" + EVIL_TEAM]
    training = next(a for c, a in evil if c == "Staff KIM training completed")
    assert training.startswith("Send the evidence for the claim of 50%")


def test_docx_letter_lists_claims_and_non_returns(engine, docx_letters):
    scored = score_service.scored_round(engine, ROUND, actor=local_admin())
    teams = league_service.league(engine, ROUND, "team").table
    for directorate in league_service.league(engine, ROUND, "directorate").table["name"]:
        doc = Document(docx_letters[letter_file_name(directorate, ROUND)])
        text = squash(" ".join(all_text(doc)))
        claims = scored.scores[(scored.scores["directorate"] == directorate) & scored.scores["unevidenced"]]
        claim_table = [t for t in doc.tables if t.rows[0].cells[0].text == "Team"
                       and t.rows[0].cells[1].text == "Criterion"]
        if claims.empty:
            assert not claim_table and "Claims to back up" not in text
        else:
            rows = [(r.cells[0].text.lstrip("'"), r.cells[1].text) for r in claim_table[0].rows[1:]]
            names = {c.id: c.name for c in scored.criteria}
            assert sorted(rows) == sorted(zip(claims["team"], claims["criterion"].map(names)))
        missing = teams[(teams["directorate"] == directorate) & ~teams["returned"]]["name"]
        for name in missing:
            assert name in text
        assert ("did not send a return" in text) == (len(missing) > 0)


def test_docx_letters_are_inert(docx_letters):
    seen_evil = False
    for path in docx_letters.values():
        for text in all_text(Document(path)):
            assert_inert(text, path.name)
            seen_evil |= text.startswith("'" + EVIL_TEAM)
    assert seen_evil


def test_pdf_letters_match_the_docx(engine, pdf_letters):
    directorate = EVIL_DIRECTORATE
    reader = PdfReader(pdf_letters[letter_file_name(directorate, ROUND, "pdf")])
    text = "\n".join(page.extract_text() for page in reader.pages)
    flat = squash(text)
    d = letter_data(engine, ROUND, directorate, WRITTEN, actor=local_admin())
    assert f"Dear {d.director_name}," in flat
    assert d.director_email in flat
    assert f"with a score of {d.score:.1f} out of 100" in flat
    assert f"{ordinal(d.rank)} of {d.ranked_directorates} directorates" in flat
    assert "1 October 2026" in flat
    for team in d.teams:
        assert team.name.lstrip("=")[:20] in flat
        for action in team.actions:
            # Table cells wrap, so only the start of each action is on one line.
            assert " ".join(action.action.split()[:3]) in flat
    for line in text.splitlines():
        assert_inert(line.strip(), "PDF letter")
    assert "'" + EVIL_TEAM in flat
    assert reader.metadata.title == f"KIM league table {ROUND}: {directorate}"


def test_pdf_letter_renders(pdf_letters):
    path = pdf_letters[letter_file_name(EVIL_DIRECTORATE, ROUND, "pdf")]
    render_pdf(path, "letter", first=1, last=2)


def test_directorate_letter_for_a_download_button(engine):
    docx = directorate_letter(engine, ROUND, "finance directorate", actor=local_admin())
    assert docx[:2] == b"PK"
    doc = Document(io.BytesIO(docx))
    assert any("Finance Directorate" in p.text for p in doc.paragraphs)
    pdf = directorate_letter(engine, None, "Finance Directorate", fmt="pdf", actor=local_admin())
    assert pdf[:5] == b"%PDF-"
    with pytest.raises(NotFoundError, match="Finance Directorate"):
        directorate_letter(engine, ROUND, "Finance", actor=local_admin())
    with pytest.raises(KimError):
        directorate_letter(engine, ROUND, "Finance Directorate", fmt="odt", actor=local_admin())


def test_first_round_letter_has_nothing_to_compare(engine):
    first = league_service.rounds(engine)[0].label
    d = letter_data(engine, first, "Finance Directorate", WRITTEN, actor=local_admin())
    assert d.previous is None
    doc = Document(io.BytesIO(directorate_letter(engine, first, "Finance Directorate", written=WRITTEN, actor=local_admin())))
    assert "first round of the league" in " ".join(p.text for p in doc.paragraphs)


def test_cli_letters(engine, tmp_path, capsys):
    from kim_metrics.cli import main
    url = engine.url.render_as_string(hide_password=False)
    out = tmp_path / "letters"
    assert main(["--db", url, "letters", "--round", ROUND, "-o", str(out)]) == 0
    assert len(list(out.glob("letter-*-2026-Q3.docx"))) == 16
    assert main(["--db", url, "letters", "--round", ROUND, "-o", str(out), "--format", "pdf",
                 "--directorate", "Technology Directorate"]) == 0
    assert [p.name for p in out.glob("*.pdf")] == ["letter-technology-directorate-2026-Q3.pdf"]
    assert main(["--db", url, "letters", "--round", ROUND, "-o", str(out), "--directorate", "Nowhere"]) == 1
    assert "no directorate 'Nowhere'" in capsys.readouterr().err
    assert main(["--db", url, "letters", "--round", "2031-Q1", "-o", str(out)]) == 1


# File names for any script and any length ----------------------------------------------------

LONG_NAME = ("Directorate for the Coordination of Knowledge, Information and Records Management "
             "Standards across Agencies, Arm's-Length Bodies, Regional Offices and Overseas Posts, "
             "including Legacy Shared Drives, Email Archives and Paper Files held in Offsite Storage "
             "under the Retention Schedule agreed with the Departmental Records Officer in 2024")
NAMED = ["Управление цифровых услуг", "Управление финансов", "Café Services", "Cafe Services",
         "数字服务", "إدارة الخدمات", "★★★", LONG_NAME]


def test_letter_file_names_are_readable_and_unique():
    names = letter_file_names(NAMED, ROUND, "docx")
    assert len(set(n.casefold() for n in names.values())) == len(NAMED)
    assert names["Управление цифровых услуг"] == f"letter-upravlenie-tsifrovykh-uslug-{ROUND}.docx"
    assert names["数字服务"] == f"letter-shu-zi-fu-wu-{ROUND}.docx"
    # Two names with one slug each get a tag from the exact name, the same every time.
    assert names["Café Services"].startswith("letter-cafe-services-")
    assert names["Cafe Services"].startswith("letter-cafe-services-")
    assert names["Café Services"] != names["Cafe Services"]
    assert names == letter_file_names(list(reversed(NAMED)), ROUND, "docx")
    assert re.fullmatch(rf"letter-directorate-[0-9a-f]{{6}}-{ROUND}\.docx", names["★★★"])
    for name in names.values():
        assert name.isascii() and len(name.encode()) < 120
    # A directorate's own letter, downloaded alone, is named as in the folder unless it clashes.
    assert letter_file_name("Управление финансов", ROUND) == names["Управление финансов"]
    # Names that differ only in case clash on Windows and macOS, so they are told apart too.
    upper = letter_file_names(["Digital Services", "digital services"], ROUND)
    assert len({n.casefold() for n in upper.values()}) == 2


@pytest.fixture(scope="module")
def named_engine(tmp_path_factory):
    eng = build_named_db(tmp_path_factory.mktemp("named"), NAMED)
    yield eng
    eng.dispose()


@pytest.mark.parametrize("fmt", ["docx", "pdf"])
def test_cli_writes_one_file_per_letter_for_any_name(named_engine, tmp_path, capsys, fmt):
    from kim_metrics.cli import main
    url = named_engine.url.render_as_string(hide_password=False)
    out = tmp_path / fmt
    assert main(["--db", url, "letters", "--round", ROUND, "-o", str(out), "--format", fmt]) == 0
    said = re.search(r"Wrote (\d+) letters", capsys.readouterr().out)
    files = sorted(out.iterdir())
    assert said and int(said.group(1)) == len(files) == len(NAMED)
    assert {p.name for p in files} == set(letter_file_names(NAMED, ROUND, fmt).values())
    if fmt == "docx":
        # Each file is its own directorate's letter (Word's title is cut at 255 characters).
        names = letter_file_names(NAMED, ROUND, fmt)
        for directorate, file_name in names.items():
            title = Document(out / file_name).core_properties.title
            assert title.rstrip("…") in f"KIM league table {ROUND}: {directorate}"
            assert len(title) <= 255


def test_a_very_long_directorate_name_makes_a_whole_letter(named_engine):
    d = letter_data(named_engine, ROUND, LONG_NAME, WRITTEN, actor=local_admin())
    text = squash(" ".join(all_text(Document(io.BytesIO(render_letter(d, "docx"))))))
    assert LONG_NAME in text and "Next round" in text
    pdf = PdfReader(io.BytesIO(render_letter(d, "pdf")))
    flat = squash(" ".join(p.extract_text() for p in pdf.pages))
    assert "Yours sincerely" in flat and "Overseas Posts" in flat
