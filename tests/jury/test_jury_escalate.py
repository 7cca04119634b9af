"""Trust or Escalate: the fixed-sequence threshold keeps agreement at or above the target
in at least 1 - alpha of repeated labelled samples, where the point-estimate threshold
(`calibrate_thresholds`) fails about half the time, and it reports the share it keeps."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from jurist.jury.cascade import calibrate_thresholds
from jurist.jury.escalate import (
    DEFAULT_GRID,
    binomial_p_value,
    fewest_testable,
    guaranteed_thresholds,
    lower_bound,
    trust_threshold,
)

TARGET, ALPHA = 0.9, 0.1


def _sample(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A calibrated judge: confidence 0.5 + 0.5·B with B ~ Beta(2, 1), and it agrees with
    people with that probability."""
    confidence = 0.5 + 0.5 * rng.beta(2.0, 1.0, n)
    agree = (rng.uniform(size=n) < confidence).astype(float)
    return confidence, agree


def _true_agreement(threshold: float) -> float:
    """Agreement among items at or above the threshold: 0.5 + 0.5·E[B | B >= 2t - 1]."""
    s = min(max(2.0 * threshold - 1.0, 0.0), 1.0 - 1e-9)
    return 0.5 + (1 - s**3) / (3 * (1 - s**2))


BEST_SHARE = 1 - ((0.2 + math.sqrt(0.84)) / 2) ** 2  # the most a 0.9 target can keep: 0.69


def test_the_guarantee_holds_over_repeated_samples():
    rng = np.random.default_rng(2025)
    repetitions = 400
    violations = naive_violations = 0
    kept_shares = []
    for _ in range(repetitions):
        confidence, agree = _sample(rng, 400)
        found = trust_threshold(confidence, agree, TARGET, alpha=ALPHA)
        if math.isfinite(found.threshold):
            violations += _true_agreement(found.threshold) < TARGET
        kept_shares.append(found.kept.value)
        (naive,) = calibrate_thresholds(confidence, agree, TARGET)
        naive_violations += math.isfinite(naive) and _true_agreement(naive) < TARGET
    slack = stats.binom.ppf(0.999, repetitions, ALPHA)
    assert violations <= slack, (violations, slack)
    # The observed-agreement threshold is tuned to the noise of its own sample.
    assert naive_violations > 0.3 * repetitions
    # Not vacuous: the typical sample keeps well over half of what the target allows.
    assert np.median(kept_shares) > 0.5 * BEST_SHARE
    assert np.mean(np.array(kept_shares) > 0) > 0.8


def test_the_report_carries_the_kept_share_and_its_agreement():
    confidence, agree = _sample(np.random.default_rng(0), 500)
    found = trust_threshold(confidence, agree, TARGET, alpha=ALPHA)
    keep = confidence >= found.threshold
    assert found.kept.n == 500 and found.kept.value == pytest.approx(keep.mean())
    assert found.agreement.n == keep.sum()
    assert found.agreement.value == pytest.approx(agree[keep].mean())
    assert found.lower_bound >= TARGET  # the last test passed: its bound clears the target
    passed = [t for t in found.tests if t.passed]
    assert passed[-1].threshold == found.threshold
    assert all(t.passed for t in found.tests[:-1])  # the sequence stops at its first failure
    thresholds = [t.threshold for t in found.tests]
    assert thresholds == sorted(thresholds, reverse=True)


def test_p_value_and_bound_are_the_exact_binomial_ones():
    assert binomial_p_value(22, 22, 0.9) == pytest.approx(0.9**22)
    assert binomial_p_value(0, 0, 0.9) == 1.0
    # The one-sided Clopper-Pearson bound clears the target exactly when the test passes.
    for agreed, kept in ((45, 48), (90, 100), (30, 30)):
        passes = binomial_p_value(agreed, kept, 0.9) <= 0.1
        assert (lower_bound(agreed, kept, 0.1) >= 0.9) == passes
    assert fewest_testable(0.9, 0.1) == 22


def test_unknown_confidence_escalates_and_unlabelled_items_are_left_out():
    confidence = np.r_[np.full(60, 0.95), np.full(20, np.nan), np.full(10, 0.9)]
    agree = np.r_[np.ones(60), np.ones(20), np.full(10, np.nan)]
    found = trust_threshold(confidence, agree, TARGET, alpha=ALPHA)
    assert found.threshold == 0.95
    assert found.kept.n == 80 and found.kept.n_excluded == 10
    assert found.kept.value == pytest.approx(60 / 80)


def test_too_few_labelled_items_escalate_everything():
    found = trust_threshold([0.99] * 10, [1.0] * 10, TARGET)
    assert math.isinf(found.threshold) and found.tests == ()
    assert found.kept.value == 0.0 and found.agreement.n == 0


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="target"):
        trust_threshold([0.5], [1.0], 1.0)
    with pytest.raises(ValueError, match="agreement must be"):
        trust_threshold([0.5, 0.6], [1.0, 0.5], 0.9)
    with pytest.raises(ValueError, match="confidences"):
        trust_threshold([0.5], [1.0, 0.0], 0.9)


def test_cascade_thresholds_with_the_guarantee_one_per_early_juror():
    rng = np.random.default_rng(4)
    confidence, agree = _sample(rng, 600)
    never = np.zeros(600)
    thresholds = guaranteed_thresholds(
        np.vstack([confidence, confidence]), np.vstack([agree, never]), TARGET
    )
    assert len(thresholds) == 2 and thresholds[0] in DEFAULT_GRID
    assert math.isinf(thresholds[1])
