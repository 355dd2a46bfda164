"""How each status looks: a fill colour and a text colour with WCAG 2.2 AA contrast.

Status is never shown by colour alone; every coloured cell carries its word too. The
colours follow the GOV.UK palette where it passes 4.5:1 against the text on it.
"""

from __future__ import annotations

from dataclasses import dataclass

from kim_metrics.domain.criteria import NO_RETURN


@dataclass(frozen=True)
class RagStyle:
    background: str
    text: str
    symbol: str   # a shape as well as a colour, for people who cannot tell the colours apart


RAG_STYLES: dict[str, RagStyle] = {
    "Red": RagStyle("#B10E1E", "#FFFFFF", "●"),
    "Amber/Red": RagStyle("#E15A20", "#000000", "◕"),
    "Amber": RagStyle("#FFBF47", "#000000", "◑"),
    "Amber/Green": RagStyle("#A5C85A", "#000000", "◔"),
    "Green": RagStyle("#00703C", "#FFFFFF", "○"),
    NO_RETURN: RagStyle("#505A5F", "#FFFFFF", "–"),
}


def rag_style(status: object) -> RagStyle | None:
    return RAG_STYLES.get(status) if isinstance(status, str) else None


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(foreground: str, background: str) -> float:
    """WCAG contrast ratio between two colours, from 1 to 21."""
    a, b = sorted((_luminance(foreground), _luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)
