"""The gate's error rates by simulation (fixed seeds), fixed n and sequential.

Each simulated pair of runs has two criteria whose paired differences (candidate -
baseline, in Likert points) are drawn as d0 - B: d0 symmetric on {-2..2} (sd 0.84) and B
a Bernoulli(drop), so the true mean difference is exactly -drop. 500 pairs per scenario:

- no true difference: `regressed` in at most 5% (the brief's bound; nominal 2.5%);
- the worst case of that null, a true drop of exactly max_drop: still at most 5%;
- a true drop of max_drop + 0.5: `regressed` or `inconclusive`, never `pass`, in >= 95%.

The fixed-n gate uses 500 bootstrap resamples here (2000 by default) to keep this fast;
the sequential gate is fed batches of 30 items up to a budget of 300.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from jurist.testing.decide import overall_decision
from jurist.testing.gate import compare_arrays
from jurist.testing.sequential import gate_sequential

SIMULATIONS = 500
MAX_DROP = 0.2
SYMMETRIC = np.array([0.05, 0.2, 0.5, 0.2, 0.05])
POINTS = np.arange(-2, 3)
ROWS = ("accuracy", "clarity")


def differences(rng: np.random.Generator, size: int, drop: float) -> np.ndarray:
    return rng.choice(POINTS, p=SYMMETRIC, size=size) - (rng.random(size) < drop)


def fixed_n_decisions(drop: float, n: int = 100) -> Counter[str]:
    out: Counter[str] = Counter()
    for seed in range(SIMULATIONS):
        rng = np.random.default_rng(seed)
        diff = np.stack([differences(rng, n, drop) for _ in ROWS], axis=1).astype(float)
        base = rng.integers(1, 6, size=diff.shape).astype(float)
        rows = compare_arrays(
            base, base + diff, ROWS, [MAX_DROP] * len(ROWS), resamples=500, seed=seed
        )
        out[overall_decision([r.decision for r in rows])] += 1
    return out


def sequential_decisions(drop: float) -> Counter[str]:
    out: Counter[str] = Counter()
    for seed in range(SIMULATIONS):
        rng = np.random.default_rng(10_000 + seed)

        def next_batch(size: int, rng: np.random.Generator = rng) -> dict[str, list[float]]:
            return {row: differences(rng, size, drop).tolist() for row in ROWS}

        report = gate_sequential(
            next_batch,
            spreads=dict.fromkeys(ROWS, 4.0),
            budget=300,
            batch_size=30,
            max_drop=MAX_DROP,
        )
        out[report.decision] += 1
    return out


@pytest.mark.parametrize("gate", [fixed_n_decisions, sequential_decisions])
def test_no_true_difference_rarely_regresses(gate) -> None:
    decisions = gate(0.0)
    assert decisions["regressed"] <= 0.05 * SIMULATIONS, decisions
    assert decisions["pass"] >= 0.3 * SIMULATIONS, decisions  # and it does decide


@pytest.mark.parametrize("gate", [fixed_n_decisions, sequential_decisions])
def test_a_drop_of_exactly_max_drop_rarely_regresses(gate) -> None:
    decisions = gate(MAX_DROP)
    assert decisions["regressed"] <= 0.05 * SIMULATIONS, decisions
    assert decisions["pass"] + decisions["improved"] <= 0.05 * SIMULATIONS, decisions


@pytest.mark.parametrize("gate", [fixed_n_decisions, sequential_decisions])
def test_a_drop_beyond_max_drop_never_passes(gate) -> None:
    decisions = gate(MAX_DROP + 0.5)
    assert decisions["regressed"] + decisions["inconclusive"] >= 0.95 * SIMULATIONS, decisions
    assert decisions["regressed"] >= 0.9 * SIMULATIONS, decisions  # and it does decide
