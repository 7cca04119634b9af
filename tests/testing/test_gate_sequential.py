"""`gate_sequential`: betting confidence sequences fed in batches, stopping when settled,
plus the anytime-valid p-values checked against Ville's bound directly."""

from __future__ import annotations

import numpy as np
import pytest

from jurist.testing.sequential import (
    confidence_sequence,
    gate_sequential,
    max_log_wealth,
    row_test,
)


def stream(shift: float, seed: int = 0):
    """Batches of paired Likert differences whose true mean is `shift` (in steps of one
    point, so they stay within [-4, 4]), and a record of the batch sizes asked for."""
    rng = np.random.default_rng(seed)
    asked: list[int] = []

    def next_batch(size: int) -> dict[str, list[float | None]]:
        asked.append(size)
        whole = np.floor(shift)
        d = rng.choice([-1, 0, 1], p=[0.2, 0.6, 0.2], size=size) + whole
        d = d + (rng.random(size) < shift - whole)
        return {"accuracy": d.tolist()}

    return next_batch, asked


def test_a_clear_drop_stops_early_as_regressed() -> None:
    next_batch, asked = stream(-1.0)
    report = gate_sequential(next_batch, spreads={"accuracy": 4.0}, budget=1000, batch_size=20)
    assert report.decision == "regressed" and report.exit_code == 1
    assert report.n_paired < 100 and report.limits is not None
    assert report.limits.batches == len(asked) and set(asked) == {20}
    row = report.rows[0]
    assert row.difference.high < -0.2 and row.p_regressed < 0.025


def test_no_difference_passes_within_budget() -> None:
    next_batch, _ = stream(0.0, seed=1)
    report = gate_sequential(next_batch, spreads={"accuracy": 4.0}, budget=1000, batch_size=50)
    assert report.decision == "pass"
    assert report.rows[0].difference.low > -0.2
    assert report.n_paired < 1000


def test_spent_budget_is_inconclusive_and_last_batch_is_trimmed() -> None:
    next_batch, asked = stream(-0.2, seed=2)
    report = gate_sequential(next_batch, spreads={"accuracy": 4.0}, budget=110, batch_size=50)
    assert report.decision == "inconclusive" and report.exit_code == 0
    assert asked == [50, 50, 10] and report.n_paired == 110
    assert "betting" in report.method_text() and "110 of a budget of 110" in report.method_text()


def test_exhausted_items_stop_the_gate() -> None:
    batches = iter([{"accuracy": [0.0, None, 1.0]}, {"accuracy": []}])
    report = gate_sequential(
        lambda size: next(batches), spreads={"accuracy": 4.0}, budget=100, batch_size=10
    )
    assert report.n_paired == 3
    assert report.rows[0].difference.n == 2 and report.rows[0].difference.n_excluded == 1


def test_differences_outside_the_spread_are_refused() -> None:
    with pytest.raises(ValueError, match="spread"):
        gate_sequential(
            lambda size: {"a": [5.0] * size}, spreads={"a": 4.0}, budget=10, batch_size=5
        )


def test_ville_bound_holds_for_the_running_maximum() -> None:
    """Under a null mean exactly at the bet's threshold, the wealth ever reaching 1/alpha
    happens in at most alpha of the paths, however long they run (checked on 2000 paths
    of 400 items: the optional-stopping guarantee itself)."""
    rng = np.random.default_rng(3)
    hits = 0
    alpha = 0.05
    for _ in range(2000):
        x = rng.choice([0.25, 0.5, 0.75], p=[0.3, 0.4, 0.3], size=400)
        wealth = max_log_wealth(x, np.asarray([0.5, 0.5]), np.asarray([1.0, -1.0]))
        hits += int(wealth[0] >= np.log(1 / alpha))
    assert hits <= alpha * 2000


def test_row_test_and_confidence_sequence_agree() -> None:
    rng = np.random.default_rng(4)
    d = rng.choice([-2.0, -1.0, 0.0], p=[0.2, 0.5, 0.3], size=300)  # mean -0.9
    result = row_test(d, 4.0, 0.2)
    low, high = confidence_sequence(d, 4.0, 0.95)
    assert low < d.mean() < high
    assert result.p_regressed < 0.025 and high < -0.2
    assert result.p_pass > 0.5 and result.p_improved > 0.5
