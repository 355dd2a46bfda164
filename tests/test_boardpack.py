"""The board pack, read back with pypdf and checked against the dashboard's api functions."""

from __future__ import annotations

import dataclasses
import io
import re
from datetime import date

import pandas as pd
import pytest
from pypdf import PdfReader

from kim_metrics.domain.access import local_admin
from kim_metrics.services import league as league_service
from kim_metrics.services import scores as score_service
from kim_metrics.reports.boardpack import BoardData, cut_with_ties, key_messages, render_boardpack
from kim_metrics.reports.cells import safe_text
from kim_metrics.services.documents import board_data, boardpack_pdf
from kim_metrics.domain.scoring import rag_mix
from tests.support.hostile_demo import EVIL_TEAM, ROUND, assert_inert, render_pdf

WRITTEN = date(2026, 9, 15)


@pytest.fixture(scope="module")
def engine(hostile_demo):
    return hostile_demo


@pytest.fixture(scope="module")
def pack(engine, tmp_path_factory):
    path = tmp_path_factory.mktemp("pack") / "boardpack.pdf"
    path.write_bytes(boardpack_pdf(engine, ROUND, written=WRITTEN, actor=local_admin()))
    return path


@pytest.fixture(scope="module")
def text(pack) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(pack).pages)


def squash(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip()


def test_pack_is_a_few_pages_with_a_title(pack, text):
    reader = PdfReader(pack)
    assert 3 <= len(reader.pages) <= 6
    assert reader.metadata.title == f"KIM league table board pack {ROUND}"
    assert f"board pack, {ROUND}" in text
    assert "OFFICIAL" in text and f"Page 1 of {len(reader.pages)}" in text


def test_headline_figures_come_from_rag_trend(engine, text):
    trend = league_service.trend(engine)
    now = trend[trend["round"] == ROUND].iloc[0]
    before = trend[trend["round"] == "2026-Q2"].iloc[0]
    flat = squash(text)
    assert f"The department scores {now['score']:.1f} out of 100" in flat
    assert f"from {before['score']:.1f} in 2026-Q2" in flat
    teams = league_service.league(engine, ROUND, "team").table
    assert f"{now['Green']} of {len(teams)} teams are Green and {now['Red']} are Red" in flat
    assert f"{now['No return']} teams sent no return" in flat
    # Every round of the trend is on the chart.
    for label in trend["round"]:
        assert label in text


def test_board_data_agrees_with_the_api(engine):
    b = board_data(engine, ROUND, WRITTEN, actor=local_admin())
    trend = league_service.trend(engine)
    now = trend[trend["round"] == ROUND].iloc[0]
    assert b.department["score"] == now["score"]
    scored = score_service.scored_round(engine, ROUND, actor=local_admin())
    assert rag_mix(scored.teams, scored.criteria) == {k: int(now[k]) for k in ("Red", "Amber", "Green", "No return")}
    league = league_service.league(engine, ROUND, "team").table
    pd.testing.assert_frame_equal(b.teams, league)
    # The weakest criterion is the lowest mean over the teams that returned.
    returned = league[league["returned"]]
    means = {c.id: round(returned[f"{c.id}.percent"].mean(), 1) for c in scored.criteria}
    assert b.weakest()["id"] == min(means, key=means.get)
    assert b.weakest()["percent"] == pytest.approx(means[b.weakest()["id"]])


def test_top_bottom_movers_and_non_returns_are_in_the_pack(engine, text):
    flat = squash(text)
    league = league_service.league(engine, ROUND, "team").table
    ranked = league[league["rank"].notna()]
    for row in pd.concat([ranked.head(10), ranked.tail(10)]).to_dict("records"):
        assert safe_text(row["name"])[:22] in flat
    moved = league[league["movement"].notna()]
    top_rise = moved.sort_values(["movement", "rank"], ascending=[False, True]).iloc[0]
    top_fall = moved.sort_values(["movement", "rank"], ascending=[True, True]).iloc[0]
    assert f"▲ {int(top_rise['movement'])}" in text or f"up {int(top_rise['movement'])}" in text
    assert top_rise["name"][:22] in flat and top_fall["name"][:22] in flat
    for name in league[~league["returned"]]["name"]:
        assert name in flat
    for name in league_service.league(engine, ROUND, "directorate").table["name"]:
        assert name in flat
    b = board_data(engine, ROUND, WRITTEN, actor=local_admin())
    assert f"Weakest criterion: {b.weakest()['name']}"[:60] in flat
    for message in key_messages(b):
        assert squash(message)[:50] in flat


def test_pack_text_is_inert(text):
    assert "'" + EVIL_TEAM in squash(text)
    for line in text.splitlines():
        assert_inert(line.strip(), "board pack")


def test_pack_renders(pack):
    pages = render_pdf(pack, "boardpack", first=1, last=len(PdfReader(pack).pages))
    assert len(pages) == len(PdfReader(pack).pages)


def test_first_round_pack(engine):
    first = league_service.rounds(engine)[0].label
    text = "\n".join(p.extract_text() for p in PdfReader(__import__("io").BytesIO(
        boardpack_pdf(engine, first, written=WRITTEN, actor=local_admin()))).pages)
    assert f"board pack, {first}" in text
    assert "first round" in text


def test_latest_round_by_default(engine):
    b = board_data(engine, actor=local_admin())
    assert b.round == ROUND


def test_cli_boardpack(engine, tmp_path, capsys):
    from kim_metrics.cli import main
    url = engine.url.render_as_string(hide_password=False)
    out = tmp_path / "pack.pdf"
    assert main(["--db", url, "boardpack", "--round", ROUND, "-o", str(out)]) == 0
    assert out.read_bytes()[:5] == b"%PDF-"
    assert main(["--db", url, "boardpack", "--round", "2031-Q1", "-o", str(out)]) == 1
    assert main(["--db", url, "boardpack", "-o", str(tmp_path / "missing" / "pack.pdf")]) == 1
    assert "Cannot write" in capsys.readouterr().err


def test_pdfs_work_without_a_unicode_font(engine, monkeypatch):
    """On a machine without DejaVu (fonts-dejavu-core) the core font is used, arrows spelt out."""
    import io

    from kim_metrics.reports import pdfstyle
    from kim_metrics.services.documents import directorate_letter

    monkeypatch.setattr(pdfstyle, "unicode_fonts", lambda: None)
    pack = PdfReader(io.BytesIO(boardpack_pdf(engine, ROUND, written=WRITTEN, actor=local_admin())))
    text = "\n".join(p.extract_text() for p in pack.pages)
    assert "▲" not in text and "up " in text
    assert f"board pack, {ROUND}" in text
    assert "'" + EVIL_TEAM in squash(text)
    letter = PdfReader(io.BytesIO(directorate_letter(engine, ROUND, "Finance Directorate", "pdf", actor=local_admin())))
    assert "Finance Directorate" in letter.pages[0].extract_text()


# Ties at the cut of a list -------------------------------------------------------------------

def _ranked(ranks: list[int]) -> pd.DataFrame:
    return pd.DataFrame({"name": [f"Team {i:02d}" for i in range(len(ranks))], "rank": ranks})


def test_a_list_keeps_every_team_tied_at_its_cut():
    ranks = [1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 9, 14, 15]
    top = cut_with_ties(_ranked(ranks), 10, "rank")
    assert len(top.rows) == 13 and top.with_ties
    assert top.title("Top") == "Top 10, 13 with ties"
    assert list(top.rows["rank"]) == ranks[:13]
    exact = cut_with_ties(_ranked(list(range(1, 16))), 10, "rank")
    assert exact.title("Top") == "Top 10" and len(exact.rows) == 10
    short = cut_with_ties(_ranked([1, 2, 2]), 10, "rank")
    assert short.title("Top") == "Top 3" and not short.with_ties
    # A tie that ends at the cut adds nobody.
    assert len(cut_with_ties(_ranked([1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 11]), 10, "rank").rows) == 10


def _tied_board(engine) -> BoardData:
    """The round's board data with five teams sharing ninth place and two sharing the rank
    at the bottom list's cut."""
    b = board_data(engine, ROUND, WRITTEN, actor=local_admin())
    ranked = b.ranked.index
    ranks = list(range(1, len(ranked) + 1))
    ranks[8:13] = [9] * 5
    n = len(ranks)
    ranks[n - 11:n - 9] = [n - 10] * 2
    teams = b.teams.copy()
    teams.loc[ranked, "rank"] = ranks
    return dataclasses.replace(b, teams=teams)


def test_board_pack_lists_the_teams_tied_at_ninth(engine):
    b = _tied_board(engine)
    assert len(b.top().rows) == 13 and len(b.bottom().rows) == 11
    reader = PdfReader(io.BytesIO(render_boardpack(b)))
    text = squash(" ".join(page.extract_text() for page in reader.pages))
    assert "Top 10, 13 with ties" in text
    assert "Bottom 10, 11 with ties" in text
    for name in b.top().rows["name"]:
        assert safe_text(name)[:22] in text
    assert list(b.bottom().rows["rank"]) == sorted(b.bottom().rows["rank"])


def test_movers_keep_ties_at_their_cut(engine):
    b = board_data(engine, ROUND, WRITTEN, actor=local_admin())
    for listing, sign in ((b.risers(), 1), (b.fallers(), -1)):
        moved = b.teams[b.teams["movement"].fillna(0) * sign > 0]
        sizes = sorted(moved["movement"] * sign, reverse=True)
        cut = sizes[min(4, len(sizes) - 1)]
        assert set(listing.rows["name"]) == set(moved[moved["movement"] * sign >= cut]["name"])
