from datetime import date

import pytest

from kim_metrics.domain.errors import KimError
from kim_metrics.domain.rounds import next_label, normalise_label, start_date


@pytest.mark.parametrize(("label", "start"), [
    ("2026-Q1", date(2026, 1, 1)), ("2026-q3", date(2026, 7, 1)), ("2026-Q4", date(2026, 10, 1)),
    ("2026-09", date(2026, 9, 1)), ("2025-12", date(2025, 12, 1)),
])
def test_start_dates(label, start):
    assert start_date(label) == start


@pytest.mark.parametrize(("label", "after"), [("2026-Q4", "2027-Q1"), ("2026-Q1", "2026-Q2"),
                                              ("2026-12", "2027-01"), ("2026-03", "2026-04")])
def test_next_label(label, after):
    assert next_label(label) == after
    assert start_date(after) > start_date(label)


@pytest.mark.parametrize("bad", ["2026-Q5", "2026-13", "Q3", "2026Q3", "", "2026-Q0"])
def test_bad_labels_say_the_accepted_forms(bad):
    with pytest.raises(KimError, match="YYYY-QN"):
        normalise_label(bad)
