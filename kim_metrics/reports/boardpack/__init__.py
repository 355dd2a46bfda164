"""The board pack: ``data`` holds what it shows, ``wording`` its key messages, ``pdf`` draws
it. Its one format is registered here; fpdf2 and matplotlib are imported only when a pack is
drawn, so the command line starts quickly."""

from __future__ import annotations

from kim_metrics.reports.boardpack.data import (HISTORY_ROUNDS, MOVERS_N, TOP_N, BoardData, Listing,
                                                cut_with_ties)
from kim_metrics.reports.boardpack.wording import key_messages
from kim_metrics.reports.registry import Renderer, register

__all__ = ["HISTORY_ROUNDS", "MOVERS_N", "TOP_N", "BoardData", "Listing", "cut_with_ties",
           "key_messages", "render_boardpack"]


def render_boardpack(b: BoardData) -> bytes:
    from kim_metrics.reports.boardpack.pdf import render_boardpack as draw
    return draw(b)


register(Renderer("boardpack", "pdf", "pdf", "application/pdf", render=render_boardpack,
                  label="Board pack (PDF)"))
