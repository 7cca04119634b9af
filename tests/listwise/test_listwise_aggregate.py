"""Pooling rankings from shuffled orders: Borda by hand, Bradley-Terry against a reference
maximum-likelihood fit, and the balance of the presentation orders."""

import numpy as np
import pytest
from scipy.optimize import minimize

from jurist.ranking import (
    aggregate_rankings,
    borda_scores,
    bt_scores,
    implied_wins,
    presentation_orders,
)

RANKINGS = [[2, 0, 1, 3], [0, 2, 1, 3], [2, 1, 0, 3]]


def test_borda_matches_hand_count():
    # Points 3/2/1/0 by position; response 0: 2 + 3 + 1 = 6, 1: 1 + 1 + 2 = 4,
    # 2: 3 + 2 + 3 = 8, 3: 0 -> means over 3 orders.
    assert borda_scores(RANKINGS, 4) == pytest.approx([2.0, 4 / 3, 8 / 3, 0.0])
    pooled = aggregate_rankings(RANKINGS, 4, "borda")
    assert pooled.ranking == [2, 0, 1, 3]
    assert pooled.top == 2 and not pooled.top_tied
    assert pooled.top_consistency == pytest.approx(2 / 3)


def test_implied_wins_by_hand():
    wins = implied_wins([[1, 0, 2]], 3)
    assert wins.tolist() == [[0, 0, 1], [1, 0, 1], [0, 0, 0]]


def _reference_bt(rankings, n, prior):
    """Direct maximisation of the Bradley-Terry likelihood with virtual ties (scipy)."""
    wins = implied_wins(rankings, n)

    def negative_log_likelihood(theta):
        total = 0.0
        for i in range(n):
            for j in range(n):
                if i == j:
                    continue
                p = 1 / (1 + np.exp(theta[j] - theta[i]))
                # Real wins, plus `prior` virtual games between i and j split half-half.
                total -= (wins[i, j] + prior / 2) * np.log(p)
        return total

    fit = minimize(negative_log_likelihood, np.zeros(n), method="BFGS", options={"gtol": 1e-10})
    return fit.x - fit.x.mean()


@pytest.mark.parametrize("prior", [0.1, 1.0])
def test_bradley_terry_matches_reference_fit(prior):
    ours = bt_scores(RANKINGS, 4, prior=prior)
    assert ours == pytest.approx(list(_reference_bt(RANKINGS, 4, prior)), abs=1e-4)
    assert sum(ours) == pytest.approx(0.0, abs=1e-9)


def test_bradley_terry_stays_finite_when_orders_agree():
    scores = bt_scores([[0, 1, 2]] * 4, 3)
    assert all(np.isfinite(scores))
    assert scores[0] > scores[1] > scores[2]


def test_bt_and_borda_can_disagree_only_in_strength_not_sign_here():
    borda = aggregate_rankings(RANKINGS, 4, "borda")
    bt = aggregate_rankings(RANKINGS, 4, "bt")
    assert bt.ranking == borda.ranking


def test_tied_top_is_flagged_and_consistency_counts_orders():
    pooled = aggregate_rankings([[0, 1], [1, 0]], 2, "borda")
    assert pooled.top_tied
    assert pooled.top_consistency == 0.5


@pytest.mark.parametrize("n", [2, 3, 4, 7])
def test_orders_form_a_latin_square_when_k_equals_n(n):
    orders = presentation_orders(n, n, key="item-1", seed=3)
    assert all(sorted(order) == list(range(n)) for order in orders)
    for slot in range(n):
        assert sorted(order[slot] for order in orders) == list(range(n))


def test_orders_are_deterministic_and_depend_on_key_and_seed():
    assert presentation_orders(5, 3, key="a") == presentation_orders(5, 3, key="a")
    variants = {
        tuple(map(tuple, presentation_orders(5, 3, key=k, seed=s)))
        for k in ("a", "b", "c")
        for s in (0, 1)
    }
    assert len(variants) > 1
    extra = presentation_orders(3, 5, key="x")
    assert len(extra) == 5 and all(sorted(o) == [0, 1, 2] for o in extra)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="not a ranking"):
        borda_scores([[0, 0, 1]], 3)
    with pytest.raises(ValueError, match="aggregate"):
        aggregate_rankings([[0, 1]], 2, "mean")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        presentation_orders(1, 2)
