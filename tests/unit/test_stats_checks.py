"""The arithmetic behind `stats`: the censored return-delay law and how rows are judged."""

from __future__ import annotations

import numpy as np
import pytest

from ecomlake.stats.checks import judge, mean_check, share_check, z_limit
from ecomlake.stats.held import HeldDays
from ecomlake.stats.returns import DelayLaw

TIMING = [(30, 0.80), (90, 0.95), (365, 1.0)]


def test_delay_cdf_is_uniform_inside_each_bucket():
    law = DelayLaw(TIMING)
    days = np.array([0, 15, 30, 60, 90, 365, 1000])
    assert law.cdf(days) == pytest.approx([0.0, 0.4, 0.8, 0.8 + 0.15 * 30 / 60, 0.95, 1.0, 1.0])
    assert law.labels() == ["1-30 days", "31-90 days", "91-365 days"]


def test_small_samples_are_shown_not_judged():
    row = share_check("k", None, 0.5, 2, 6, 3.0, 1.5)
    assert row.ok is None and row.z is None and row.note == "n too small"
    assert mean_check("k", None, 1, 1.0, 19, 1.0, 0.1).ok is None


def test_exact_counts_need_no_z():
    assert share_check("k", "Cash", 0.0, 0, 100, 0.0, 0.0).ok is True
    assert share_check("k", "Cash", 0.0, 1, 100, 0.0, 0.0).ok is False


def test_one_limit_for_the_whole_table():
    rows = [share_check("k", str(i), 0.5, 50 + i, 100, 50.0, 25.0) for i in range(30)]
    judged = judge(rows)
    limit = z_limit(30)
    assert 4.1 < limit < 4.2  # Bonferroni over 30 rows at family alpha 0.001
    assert [r.ok for r in judged] == [abs(r.z) <= limit for r in rows]
    assert judged[0].ok is True and judged[-1].ok is False  # z = 5.8


def test_replicate_rows_get_a_wider_limit():
    """The spread of 20 replicates is itself uncertain: a Student-t limit, not the normal one."""
    limit = z_limit(1)
    row = mean_check("k", None, 1, 1.0 + (limit + 0.5) * 0.1, 50, 1.0, 0.1, df=19)
    assert judge([row])[0].ok is True
    assert judge([mean_check("k", None, 1, 1.0 + (limit + 0.5) * 0.1, 50, 1.0, 0.1)])[0].ok is False


def test_held_days_split_into_runs():
    """A lake of two runs (days 10-12 and 20): each day knows the first and last of its run."""
    held = HeldDays([20, 10, 11, 12])
    assert held.holds(np.array([9, 10, 12, 13, 20])).tolist() == [False, True, True, False, True]
    assert held.run_first(np.array([10, 12, 20])).tolist() == [10, 10, 20]
    assert held.run_last(np.array([10, 11, 20])).tolist() == [12, 12, 20]
    assert held.runs() == ([10, 11, 12, 20], [10, 10, 10, 20])
    assert HeldDays([]).holds(np.array([1])).tolist() == [False]


def test_an_empty_chart_reads_zero_to_zero():
    """Its axis top read 1e-09 (a guard against dividing by zero), shown to the reader."""
    from ecomlake.stats.svg import bars, lines

    for chart in (bars("t", ["a"], {"x": [0.0]}), lines("t", ["a", "b"], {"x": [0.0, 0.0]})):
        assert "1e-09" not in chart and ">0</text>" in chart and "nan" not in chart
    assert 'height="74.0"' in bars("t", ["a", "b"], {"x": [1.0, 0.5]})  # half of 148 px
