"""Every file format the project writes, registered once: a new format is one registration.

A renderer says which document it renders (the league, one directorate's letter, the board
pack, ...), the format's name as the command line's ``--format`` and the pages' download
buttons give it, the file extension, the content type and a function from the document's
plain data object to the file's bytes. The command line takes its ``--format`` choices from
``formats(document)`` and pages make their buttons from ``renderers(document)``, so neither
lists formats of its own.

The built-in renderers register themselves where they are written (``exports``, ``letters``,
``boardpack``); the look-ups here import those modules first, so the registry is complete
whichever module was imported before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kim_metrics.domain.errors import UsageError


@dataclass(frozen=True)
class Renderer:
    document: str                       # "league", "scores", "audit", "letter", "boardpack"
    name: str                           # as --format and a button name it: "csv"
    extension: str                      # without the dot
    content_type: str
    render: Callable[[Any], bytes]
    label: str                          # a download button's words: "Excel", "Word"

    @property
    def is_text(self) -> bool:
        """Whether the bytes are UTF-8 text a terminal can show (CSV, JSON)."""
        return self.content_type.startswith("text/") or self.content_type == "application/json"

    def file_name(self, stem: str) -> str:
        return f"{stem}.{self.extension}"


_RENDERERS: dict[tuple[str, str], Renderer] = {}


def register(renderer: Renderer) -> Renderer:
    """Add a format; registering the same document and name again replaces the earlier one."""
    _RENDERERS[(renderer.document, renderer.name)] = renderer
    return renderer


def _builtins() -> None:
    # Imported here, not at the top: those modules import this one to register themselves.
    from kim_metrics.reports import boardpack, exports, ima_report, letters  # noqa: F401


def renderers(document: str | None = None) -> list[Renderer]:
    """The formats a document can be written in (every renderer when ``document`` is None),
    in the order they were registered."""
    _builtins()
    return [r for (doc, _), r in _RENDERERS.items() if document is None or doc == document]


def formats(document: str) -> tuple[str, ...]:
    return tuple(r.name for r in renderers(document))


def renderer(document: str, name: str) -> Renderer:
    """The renderer of one format, or a message naming the formats there are."""
    _builtins()
    found = _RENDERERS.get((document, str(name).strip().lower()))
    if found is None:
        choices = formats(document)
        if not choices:
            raise UsageError(f"There is no document called '{document}' to write.")
        raise UsageError(f"A {document} can be written as {', '.join(choices[:-1])}"
                         f"{' or ' if len(choices) > 1 else ''}{choices[-1]}, not '{name}'.")
    return found


def render(document: str, name: str, data: Any) -> bytes:
    """The file's bytes for ``data`` (the document's plain data object) in format ``name``."""
    return renderer(document, name).render(data)
