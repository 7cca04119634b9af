"""Cascade thresholds calibrated on synthetic labelled data, and what a cascade costs."""

import math

import numpy as np
import pytest

from jurist.jury import calibrate_thresholds, evaluate_cascade, route


def test_threshold_on_hand_values():
    confidence = [0.9, 0.8, 0.8, 0.6, 0.4]
    correct = [1, 1, 0, 1, 0]
    # keeping >= 0.9: 1/1; >= 0.8: 2/3; >= 0.6: 3/4; >= 0.4: 3/5
    assert calibrate_thresholds(confidence, correct, 0.75) == (0.6,)
    assert calibrate_thresholds(confidence, correct, 0.7) == (0.6,)
    assert calibrate_thresholds(confidence, correct, 0.8) == (0.9,)
    assert calibrate_thresholds(confidence, correct, 0.8, min_accepted=2) == (math.inf,)
    assert calibrate_thresholds(confidence, correct, 0.6) == (0.4,)


def test_unknown_values_are_left_out_of_calibration():
    assert calibrate_thresholds([0.9, np.nan, 0.5], [1, 0, 0], 0.9) == (0.9,)
    assert calibrate_thresholds([0.9, 0.7, 0.5], [1, np.nan, 1], 1.0) == (0.5,)


def test_calibration_on_synthetic_data_finds_the_analytic_threshold():
    # P(correct | c) = c with c uniform: accuracy above t is (1 + t) / 2, so 0.8 -> t = 0.6
    rng = np.random.default_rng(7)
    confidence = rng.random(20_000)
    correct = (rng.random(20_000) < confidence).astype(float)
    (threshold,) = calibrate_thresholds(confidence, correct, 0.8)
    assert threshold == pytest.approx(0.6, abs=0.03)
    # held-out data from the same process meets the target (within sampling noise)
    fresh = rng.random(20_000)
    fresh_correct = rng.random(20_000) < fresh
    assert fresh_correct[fresh >= threshold].mean() == pytest.approx(0.8, abs=0.02)


def test_route_picks_the_first_confident_juror():
    confidence = [[0.9, 0.2, 0.5, np.nan], [0.1, 0.8, 0.4, 0.9]]
    np.testing.assert_array_equal(route(confidence, [0.5, 0.5]), [0, 1, 0, 1])
    np.testing.assert_array_equal(route(confidence, [math.inf, 0.5]), [2, 1, 2, 1])


def test_cascade_outcome_on_hand_values():
    confidence = [[0.9, 0.9, 0.3, 0.2]]
    correct = [[1, 0, 0, 1], [1, 1, 1, 0]]
    outcome = evaluate_cascade(confidence, correct, [0.5], costs=[1, 4], n_resamples=300)
    # items 0, 1 decided cheap (1, 0); items 2, 3 escalated (1, 0): accuracy 2/4
    assert outcome.decided == (2, 2)
    assert outcome.accuracy.value == pytest.approx(0.5)
    assert outcome.accuracy_final.value == pytest.approx(0.75)
    assert outcome.accuracy_lost.value == pytest.approx(0.25)
    # cost: 1, 1, 5, 5 -> 3 per item against 4 alone: 25% saved
    assert outcome.cost == pytest.approx(3.0) and outcome.cost_final == 4.0
    assert outcome.cost_saved.value == pytest.approx(0.25)
    assert outcome.cost_saved.low <= 0.25 <= outcome.cost_saved.high
    assert outcome.accuracy.low < 0.5 < outcome.accuracy.high


def test_cascade_outcome_leaves_out_unlabelled_items():
    outcome = evaluate_cascade([[0.9, 0.9]], [[1, np.nan], [1, 1]], [0.5], n_resamples=100)
    assert outcome.accuracy.n == 1 and outcome.accuracy.n_excluded == 1


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="shape"):
        calibrate_thresholds([[0.1, 0.2]], [[1]], 0.8)
    with pytest.raises(ValueError, match="target"):
        calibrate_thresholds([0.1], [1], 0.0)
    with pytest.raises(ValueError, match="confidence must be"):
        evaluate_cascade([0.1, 0.2], [[1, 1], [1, 1], [1, 1]], [0.5, 0.5])


def test_nested_costs_when_the_last_level_reuses_the_first():
    # a cheap juror (1 call), then a jury that includes it (1 + 3 calls)
    outcome = evaluate_cascade(
        [[0.9, 0.2]], [[1, 0], [1, 1]], [0.5], costs=[1, 4], nested=True, n_resamples=100
    )
    assert outcome.cost == pytest.approx(2.5) and outcome.cost_final == 4.0
    assert outcome.cost_saved.value == pytest.approx(1 - 2.5 / 4)
