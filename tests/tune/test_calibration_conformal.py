"""Calibration maps and split-conformal intervals on synthetic data with known noise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jurist.stats.results import Figure
from jurist.tune import Calibration, conformal_quantile, coverage_of, fit_calibration, fit_conformal
from jurist.tune.calibration import pool_adjacent_violators


def test_pool_adjacent_violators_is_the_monotone_least_squares_fit():
    fitted = pool_adjacent_violators([1.0, 3.0, 2.0, 4.0], [1.0, 1.0, 1.0, 1.0])
    assert fitted.tolist() == [1.0, 2.5, 2.5, 4.0]


def test_calibration_corrects_a_compressed_lenient_judge():
    rng = np.random.default_rng(0)
    labels = rng.uniform(1, 5, 400)
    raw = 3.5 + 0.3 * labels + rng.normal(0, 0.1, 400)  # lenient and compressed
    before = np.abs(raw - labels).mean()
    for kind in ("isotonic", "ordinal"):
        fitted = fit_calibration(kind, raw, labels)
        after = np.abs(fitted.apply(raw) - labels).mean()
        assert after < 0.5 * before, kind
        assert np.all(np.diff(fitted.apply(np.sort(raw))) >= -1e-12)  # monotone
        assert Calibration.from_dict(fitted.to_dict()).apply([4.2]) == pytest.approx(
            fitted.apply([4.2]), abs=1e-5
        )
    assert fit_calibration("none", raw, labels).apply([7.0]).tolist() == [7.0]


def test_a_linear_map_keeps_the_order_of_scores_beyond_its_fitted_range():
    rng = np.random.default_rng(1)
    raw = rng.uniform(0.2, 0.3, 300)  # a judge using a sliver of its scale
    labels = np.clip(0.4 + 1.5 * raw + rng.normal(0, 0.05, 300), 0, 1)
    fitted = fit_calibration("linear", raw, labels, (0.0, 1.0))
    assert fitted.knots_x == (0.0, 1.0)
    assert fitted.apply([0.25])[0] == pytest.approx(0.775, abs=0.02)
    beyond = fitted.apply([0.35, 0.40])  # an isotonic map is flat out here
    assert beyond[1] > beyond[0] > fitted.apply([0.3])[0]
    falling = fit_calibration("linear", raw, 1 - labels, (0.0, 1.0))
    assert falling.knots_y[0] == falling.knots_y[1]  # never a falling map: a flat one


def test_conformal_quantile_is_the_finite_sample_rank():
    residuals = np.arange(1, 20, dtype=float)  # n = 19: rank ceil(20 * 0.9) = 18
    assert conformal_quantile(residuals, 0.9) == 18.0
    assert math.isinf(conformal_quantile([1.0, 2.0], 0.9))  # too few for 90%


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_split_conformal_coverage_falls_in_its_binomial_band(seed):
    rng = np.random.default_rng(seed)
    n_fit, n_test, coverage = 500, 4000, 0.9
    labels = rng.uniform(1, 5, n_fit + n_test)
    predicted = labels + rng.normal(0, 0.5, labels.size)  # known noise, sd 0.5
    fitted = fit_conformal(predicted[:n_fit], labels[:n_fit], coverage)
    assert fitted.radius == pytest.approx(1.645 * 0.5, rel=0.15)  # the noise's 90% quantile
    low, high = fitted.interval(predicted[n_fit:])
    found = coverage_of(low, high, labels[n_fit:])
    # Marginal coverage is in [0.9, 0.9 + 1/(n+1)]; a test set of 4000 adds binomial noise
    # (and the one calibration draw its own, sd ~ sqrt(0.09 / 500)).
    band = 3 * math.sqrt(coverage * (1 - coverage) / n_test) + 3 * math.sqrt(0.09 / n_fit)
    assert isinstance(found, Figure) and abs(found.value - coverage) < band


def test_prediction_sets_hold_the_scale_points_inside_the_interval():
    fitted = fit_conformal([3.0] * 9, [3.0, 2.5, 3.5, 3.0, 2.2, 3.8, 3.0, 3.1, 2.9], 0.8, (1, 5))
    assert fitted.radius == pytest.approx(0.8)  # the 8th of 9 residuals
    assert fitted.prediction_set(3.2, [1, 2, 3, 4, 5]) == [3, 4]
    assert fitted.prediction_set(3.5, [1, 2, 3, 4, 5])  # never empty
    low, high = fitted.interval([4.9])
    assert high[0] <= 5 and low[0] < 4.9
