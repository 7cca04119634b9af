"""`assert_rate` decisions checked against Wilson bounds computed here, independently
(the textbook formula, no scipy or statsmodels)."""

from __future__ import annotations

import math

import pytest

from jurist.testing import cases_to_decide, decide_rate

Z95 = 1.959963984540054  # the 97.5% quantile of the standard normal


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = (z / (1 + z * z / n)) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def expected(k: int, n: int, bar: float) -> str:
    low, high = wilson(k, n)
    if low >= bar - 1e-12:
        return "pass"
    if high < bar - 1e-12:
        return "fail"
    return "inconclusive"


@pytest.mark.parametrize("n", [1, 3, 5, 10, 20, 50, 200])
@pytest.mark.parametrize("bar", [0.5, 0.8, 0.9])
def test_decisions_match_independent_wilson_bounds(n, bar):
    for k in range(n + 1):
        decision = decide_rate("c", k, n, bar)
        low, high = wilson(k, n)
        assert decision.low == pytest.approx(max(0.0, low), abs=1e-9)
        assert decision.high == pytest.approx(min(1.0, high), abs=1e-9)
        assert decision.decision == expected(k, n, bar), (k, n, bar)


def test_known_cases():
    # 8/10 looks like 0.8 but its lower bound is 0.49: not shown to clear 0.8, nor below it
    assert decide_rate("c", 8, 10, 0.8).decision == "inconclusive"
    assert decide_rate("c", 10, 10, 0.7).decision == "pass"  # lower bound 0.722
    assert decide_rate("c", 2, 10, 0.6).decision == "fail"  # upper bound 0.51
    assert decide_rate("c", 3, 3, 0.5).decision == "inconclusive"  # lower bound 0.44


def wilson_fraction(p: float, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson interval of a rate `p` observed on `n` cases."""
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = (z / (1 + z * z / n)) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def settles(rate: float, n: int, bar: float) -> bool:
    low, high = wilson_fraction(rate, n)
    return low >= bar if rate > bar else high < bar


def test_cases_that_would_decide_do_decide_and_one_fewer_does_not():
    for rate, bar in [(0.9, 0.8), (0.6, 0.8), (1.0, 0.5), (0.85, 0.8), (0.3, 0.5)]:
        needed = cases_to_decide(rate, bar)
        assert needed is not None and settles(rate, needed, bar), (rate, bar, needed)
        assert needed == 1 or not settles(rate, needed - 1, bar), (rate, bar, needed)
    assert cases_to_decide(0.8, 0.8) is None  # on the bar, no n decides


def test_inconclusive_message_names_the_cases_that_would_decide():
    decision = decide_rate("accuracy", 9, 10, 0.8)
    text = decision.describe()
    assert text.startswith("inconclusive: n too small.")
    assert f"about {decision.cases_needed} cases would decide" in text
    assert decision.cases_needed == cases_to_decide(0.9, 0.8) and decision.cases_needed > 10
