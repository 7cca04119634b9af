import math
import statistics

import numpy as np
import pytest

from jurist.core.estimate import (
    checklist_score,
    expected_value,
    merge_orders,
    preference_probability,
    slot_distribution,
    summarise_samples,
    unswap,
)


def test_slot_distribution_renormalises_valid_tokens():
    logprobs = {"1": math.log(0.1), "3": math.log(0.3), "5": math.log(0.1), "x": math.log(0.5)}
    dist = slot_distribution(logprobs, [1, 2, 3, 4, 5])
    assert dist == pytest.approx({1: 0.2, 2: 0.0, 3: 0.6, 4: 0.0, 5: 0.2})
    assert expected_value(dist) == pytest.approx(3.0)
    assert slot_distribution({"x": 0.0}, [1, 2]) is None


def test_expected_value_matches_numpy():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(5))
    dist = slot_distribution({str(i + 1): math.log(v) for i, v in enumerate(p)}, [1, 2, 3, 4, 5])
    assert expected_value(dist) == pytest.approx(float(np.dot(np.arange(1, 6), p)))


def test_summarise_samples_against_statistics():
    scores = [4.0, 4.0, 2.0, 5.0, 4.0, 3.0]
    summary = summarise_samples(scores)
    assert summary.mean == pytest.approx(statistics.fmean(scores))
    assert summary.median == statistics.median(scores)
    assert summary.majority == 4.0
    assert summary.std == pytest.approx(statistics.stdev(scores))
    assert summary.agreement == pytest.approx(0.5)
    # A tied vote goes to the value nearest the median.
    assert summarise_samples([1.0, 1.0, 5.0, 5.0, 4.0]).majority == 5.0


def test_checklist_formula_with_negative_weights():
    weights = [2.0, 1.0, -5.0]
    assert checklist_score(weights, [1, 1, 0]) == pytest.approx(1.0)
    assert checklist_score(weights, [1, 0, 0]) == pytest.approx(2 / 3)
    assert checklist_score(weights, [1, 1, 1]) == 0.0  # floored, not negative
    assert checklist_score(weights, [0.5, 1.0, 0.1]) == pytest.approx((1 + 1 - 0.5) / 3)
    with pytest.raises(ValueError):
        checklist_score([-1.0], [1])


def test_swap_merge():
    assert unswap("A") == "B" and unswap("tie") == "tie"
    assert merge_orders("A", "A") == ("A", True)
    assert merge_orders("A", "B") == ("tie", False)
    assert merge_orders("tie", "A") == ("tie", False)
    assert preference_probability({"A": 0.6, "B": 0.2, "tie": 0.2}) == pytest.approx(0.7)
