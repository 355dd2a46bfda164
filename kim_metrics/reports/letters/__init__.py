"""Letters to directors: one per directorate, as Word or PDF.

``data`` holds what a letter says (gathered from a scored round), ``wording`` its sentences
and blocks, ``word`` and ``pdf`` draw those blocks. The two renderers are registered here;
each imports its library (python-docx, fpdf2) only when a letter is drawn, so the command
line starts quickly.
"""

from __future__ import annotations

from kim_metrics.reports.files import letter_file_name, letter_file_names
from kim_metrics.reports.letters.data import (Action, Claim, LetterData, RoundFacts, TeamSummary,
                                              all_letters_from, directors_from, find_directorate,
                                              letter_from, name_from_email)
from kim_metrics.reports.letters.wording import SENDER, letter_blocks, summary_text
from kim_metrics.reports.registry import Renderer, register, render
from kim_metrics.reports.words import ordinal

__all__ = ["Action", "Claim", "LetterData", "RoundFacts", "SENDER", "TeamSummary",
           "all_letters_from", "directors_from", "find_directorate", "letter_blocks",
           "letter_docx", "letter_file_name", "letter_file_names", "letter_from", "letter_pdf",
           "name_from_email", "ordinal", "render_letter", "summary_text"]

DOCUMENT = "letter"


def letter_docx(d: LetterData) -> bytes:
    from kim_metrics.reports.letters.word import letter_docx as draw
    return draw(d)


def letter_pdf(d: LetterData) -> bytes:
    from kim_metrics.reports.letters.pdf import letter_pdf as draw
    return draw(d)


register(Renderer(DOCUMENT, "docx", "docx",
                  "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                  render=letter_docx, label="Word"))
register(Renderer(DOCUMENT, "pdf", "pdf", "application/pdf", render=letter_pdf, label="PDF"))


def render_letter(d: LetterData, fmt: str = "docx") -> bytes:
    """One letter's file in a registered format (``formats("letter")``)."""
    return render(DOCUMENT, fmt, d)
