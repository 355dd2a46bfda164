import pytest

from kim_metrics.domain.criteria import FIVE_LEVELS, NO_RETURN
from kim_metrics.domain.statuses import RAG_STYLES, contrast_ratio

WCAG_AA_TEXT = 4.5


@pytest.mark.parametrize("status", [*FIVE_LEVELS, NO_RETURN])
def test_every_status_has_a_style_passing_wcag_aa(status):
    style = RAG_STYLES[status]
    assert contrast_ratio(style.text, style.background) >= WCAG_AA_TEXT


def test_contrast_known_values():
    assert contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast_ratio("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)


def test_symbols_tell_statuses_apart_without_colour():
    symbols = [s.symbol for s in RAG_STYLES.values()]
    assert len(set(symbols)) == len(symbols)
