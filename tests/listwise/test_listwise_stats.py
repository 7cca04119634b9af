"""Listwise statistics against references: Kendall's tau-b against scipy, the slot-bias test
against scipy's chi-square, top-1 accuracy with tie credit by hand."""

import math

import numpy as np
import pytest
from scipy import stats

from jurist.stats.intervals import wilson_interval
from jurist.stats.ranking import (
    kendall_tau_b,
    mean_kendall_tau,
    slot_bias,
    top1_accuracy,
    top1_credit,
    top_set,
)


def test_kendall_tau_b_matches_scipy_with_and_without_ties():
    rng = np.random.default_rng(7)
    for _ in range(200):
        n = int(rng.integers(2, 8))
        x = rng.integers(0, 4, n).astype(float)
        y = rng.integers(0, 4, n).astype(float)
        expected = stats.kendalltau(x, y, variant="b").statistic
        ours = kendall_tau_b(list(x), list(y))
        if math.isnan(expected):
            assert math.isnan(ours)
        else:
            assert ours == pytest.approx(expected, abs=1e-12)


def test_mean_kendall_tau_excludes_missing_and_undefined_items():
    judge = [[3, 2, 1, 0], [0, 1, 2, 3], None, [1, 1, 1, 1]]
    human = [[3, 2, 1, 0], [3, 2, 1, 0], [1, 2, 3, 4], [4, 3, 2, 1]]
    estimate = mean_kendall_tau(judge, human, n_resamples=200)
    assert estimate.value == pytest.approx(0.0)  # +1 and -1
    assert estimate.n == 2 and estimate.n_excluded == 2
    assert estimate.low <= estimate.value <= estimate.high


def test_top1_credit_shares_ties():
    assert top_set([1.0, 3.0, 3.0, 0.0]) == [1, 2]
    assert top1_credit([1.0, 3.0, 3.0, 0.0], 2) == 0.5
    assert top1_credit([1.0, 3.0, 2.0], 1) == 1.0
    assert top1_credit([1.0, 3.0, 2.0], 0) == 0.0


def test_top1_accuracy_by_hand_with_wilson_interval():
    scores = [[3, 1, 0], [0, 2, 1], [1, 1, 0], None, [0, 0, 5]]
    best = [0, 0, 1, 2, None]
    estimate = top1_accuracy(scores, best)
    # credits 1, 0, 0.5 -> 1.5 / 3; the fourth and fifth are excluded.
    assert estimate.value == pytest.approx(0.5)
    assert estimate.n == 3 and estimate.n_excluded == 2
    low, high = wilson_interval(1.5, 3)
    assert (estimate.low, estimate.high) == pytest.approx((low, high))


def test_slot_bias_matches_scipy_chisquare():
    tops = [0] * 30 + [1] * 10 + [2] * 8 + [3] * 12
    bias = slot_bias(tops, 4)
    reference = stats.chisquare([30, 10, 8, 12])
    assert bias.chi2 == pytest.approx(reference.statistic)
    assert bias.p_value == pytest.approx(reference.pvalue)
    assert bias.counts == (30, 10, 8, 12)
    assert bias.top_rate[0].value == pytest.approx(0.5)
    assert "biased" in bias.sentence()
    balanced = slot_bias([0, 1, 2, 3] * 10, 4)
    assert balanced.p_value == pytest.approx(1.0)
    with pytest.raises(ValueError):
        slot_bias([5], 4)
