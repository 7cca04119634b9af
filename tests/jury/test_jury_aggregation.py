"""Each aggregation against values worked out by hand (and scipy where it is the reference)."""

import numpy as np
import pytest
from scipy import stats

from jurist.jury import aggregate, majority, spread
from jurist.jury.aggregation import majority_share, verdict_of, verdict_value


def test_mean_median_on_hand_values():
    assert aggregate([1, 2, 4], "mean") == pytest.approx(7 / 3)
    assert aggregate([1, 2, 4], "median") == 2.0
    assert aggregate([1, 2, 4, 5], "median") == 3.0


def test_a_juror_without_a_value_is_left_out_not_zeroed():
    assert aggregate([None, 2, 4], "mean") == 3.0
    assert aggregate([None, None], "mean") is None


def test_majority_takes_the_commonest_and_splits_ties_at_their_mean():
    assert aggregate([4, 4, 2], "majority") == 4.0
    assert majority([2.0, 4.0]) == 3.0
    assert majority([1.0, 1.0, 5.0, 5.0, 3.0]) == 3.0
    # a jury split evenly between A and B is a tie
    assert verdict_of(majority([1.0, 0.0])) == "tie"


def test_trimmed_mean_cuts_each_end_like_scipy():
    values = [1.0, 2.0, 3.0, 4.0, 10.0]
    # 0.2 of 5 = one value cut from each end: mean of 2, 3, 4
    assert aggregate(values, "trimmed_mean", trim=0.2) == pytest.approx(3.0)
    assert aggregate(values, "trimmed_mean", trim=0.2) == pytest.approx(
        stats.trim_mean(values, 0.2)
    )
    # with three jurors 0.34 cuts one from each end: the median
    assert aggregate([1.0, 5.0, 2.0], "trimmed_mean", trim=0.34) == 2.0
    assert aggregate([1.0, 5.0, 2.0], "trimmed_mean", trim=0.2) == pytest.approx(8 / 3)
    with pytest.raises(ValueError, match="trim"):
        aggregate([1.0, 2.0], "trimmed_mean", trim=0.5)


def test_weighted_mean_by_agreement():
    # (0.6*2 + 0.2*5 + 0*1) / 0.8 = 2.75
    assert aggregate([2, 5, 1], "weighted", weights=[0.6, 0.2, 0.0]) == pytest.approx(2.75)
    # a negative agreement weighs nothing, like zero
    assert aggregate([2, 5], "weighted", weights=[1.0, -0.4]) == pytest.approx(2.0)
    # the weight of a juror that gave no value leaves with it
    assert aggregate([None, 5, 1], "weighted", weights=[9.0, 1.0, 3.0]) == pytest.approx(2.0)
    # nobody better than chance: all count equally
    assert aggregate([2, 4], "weighted", weights=[0.0, 0.0]) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="weight"):
        aggregate([2, 4], "weighted")
    with pytest.raises(ValueError, match="2 weights for 3"):
        aggregate([2, 4, 1], "weighted", weights=[1, 1])


def test_weighted_mean_matches_numpy_average():
    rng = np.random.default_rng(3)
    values = rng.integers(1, 6, size=7).astype(float)
    weights = rng.random(7)
    assert aggregate(list(values), "weighted", weights=list(weights)) == pytest.approx(
        np.average(values, weights=weights)
    )


def test_verdicts_on_one_line():
    assert [verdict_value(v) for v in ("A", "tie", "B", None)] == [1.0, 0.5, 0.0, None]
    assert verdict_of(aggregate([1.0, 1.0, 0.0], "mean")) == "A"
    assert verdict_of(aggregate([0.5, 0.0], "mean")) == "B"
    assert verdict_of(0.5) == "tie"


def test_spread_and_majority_share():
    assert spread([1, 4, None, 2]) == 3.0
    assert spread([3, None]) is None
    assert majority_share([4, 4, 2, None]) == pytest.approx(2 / 3)
    assert majority_share([None]) is None


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown aggregation"):
        aggregate([1.0], "mode")  # type: ignore[arg-type]
