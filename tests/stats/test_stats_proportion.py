"""Rates carry Wilson intervals (checked against scipy), stay inside [0, 1] and state n."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import jurist.stats as S


def _scipy_wilson(k: int, n: int) -> tuple[float, float]:
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return ci.low, ci.high


@pytest.mark.parametrize(("k", "n"), [(0, 5), (1, 24), (12, 24), (24, 24), (37, 120)])
def test_proportion_matches_scipy_wilson(k, n):
    est = S.proportion(k, n)
    assert (est.low, est.high) == pytest.approx(_scipy_wilson(k, n), abs=1e-9)
    assert est.value == pytest.approx(k / n) and est.n == n
    assert 0.0 <= est.low <= est.value <= est.high <= 1.0


def test_position_consistency_of_24_pairs_stays_feasible():
    """One consistent pair in 24: the interval a normal approximation would push below 0."""
    ab = np.array(["A"] * 24, dtype=object)
    ba = np.array(["A"] + ["B"] * 23, dtype=object)
    est = S.position_consistency(ab, ba)
    assert est.value == pytest.approx(1 / 24) and est.n == 24
    assert (est.low, est.high) == pytest.approx(_scipy_wilson(1, 24), abs=1e-9)
    assert est.low >= 0.0


def test_agreement_rates_use_wilson(autoj, noisy_verdicts):
    verdicts = noisy_verdicts(autoj.labels, 0.6, seed=11)
    acc = S.pairwise_accuracy(verdicts, autoj.labels, ties="exclude")
    hits = round(acc.value * acc.n)
    assert (acc.low, acc.high) == pytest.approx(_scipy_wilson(hits, acc.n), abs=1e-9)
    judge = np.clip(np.round(np.arange(60) % 5 + 1.0), 1, 5)
    human = np.roll(judge, 1)
    exact = S.exact_agreement(judge, human, scale=[1, 2, 3, 4, 5])
    same = int((judge == human).sum())
    assert (exact.low, exact.high) == pytest.approx(_scipy_wilson(same, 60), abs=1e-9)


def test_proportion_estimate_counts_half_credit_and_leaves_out_nan():
    est = S.proportion_estimate([1.0, 0.5, 0.0, np.nan, 1.0])
    assert est.value == pytest.approx(2.5 / 4) and est.n == 4 and est.n_excluded == 1
    assert 0.0 <= est.low <= est.value <= est.high <= 1.0
    with pytest.raises(ValueError, match="between 0 and 1"):
        S.proportion_estimate([2.0])
