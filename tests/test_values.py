"""One rule for "no value" and one look-up of a directorate by name, used everywhere."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kim_metrics.domain.errors import NotFoundError
from kim_metrics.domain.names import did_you_mean, find_directorate, suggestion
from kim_metrics.domain.values import as_bool, as_float, as_int, missing


@pytest.mark.parametrize("value", [None, np.nan, float("nan"), pd.NA, pd.NaT, np.float64("nan")])
def test_every_kind_of_no_value_is_none(value):
    assert missing(value)
    assert as_int(value) is None and as_float(value) is None and as_bool(value) is None


def test_values_become_plain_python():
    assert as_int(np.int64(3)) == 3 and type(as_int(np.int64(3))) is int
    assert as_float(np.float64(66.666), 1) == 66.7 and type(as_float(np.float64(1))) is float
    assert as_bool(np.bool_(False)) is False
    assert not missing("") and not missing(0) and not missing(False)
    frame = pd.Series([1, None], dtype="Int64")
    assert [as_int(v) for v in frame] == [1, None]


def test_a_directorate_is_found_in_any_case_and_punctuation():
    known = ["Digital Services", "Finance Directorate"]
    assert find_directorate("digital-services", known) == "Digital Services"
    with pytest.raises(NotFoundError) as caught:
        find_directorate("Finance", known, where=" in round 2026-Q3", fix=" Pick one from the list.")
    assert str(caught.value) == ("There is no directorate 'Finance' in round 2026-Q3. Did you mean "
                                 "'Finance Directorate'? Pick one from the list.")
    with pytest.raises(NotFoundError) as caught:
        find_directorate("Estates", known)
    assert str(caught.value) == "There is no directorate 'Estates'."


def test_suggestions_read_between_two_sentences():
    assert suggestion(["A", "B"]) == " Did you mean 'A' or 'B'?"
    assert suggestion([]) == ""
    assert did_you_mean("Tax Polcy", ["Tax Policy", "Estates"]) == " Did you mean 'Tax Policy'?"
