"""Turning one or more judge answers into a score: argmax, token-probability expectation,
sample votes, checklist sums and position-swap merging."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

Point = TypeVar("Point", int, str)


def slot_distribution(
    logprobs: Mapping[str, float], points: Sequence[Point]
) -> dict[Point, float] | None:
    """The judge's probability over the valid score points at the score position.

    Log-probabilities of the valid tokens are renormalised among themselves (G-Eval): the
    constrained answer can only be one of them. None when no valid token was seen.
    """
    values = {point: logprobs[str(point)] for point in points if str(point) in logprobs}
    if not values:
        return None
    top = max(values.values())
    weights = {point: math.exp(lp - top) for point, lp in values.items()}
    total = sum(weights.values())
    return {point: weights.get(point, 0.0) / total for point in points}


def expected_value(distribution: Mapping[int, float]) -> float:
    return float(sum(point * p for point, p in distribution.items()))


def mean_distribution(distributions: Sequence[Mapping[Point, float]]) -> dict[Point, float]:
    points = sorted({point for dist in distributions for point in dist})
    return {p: sum(d.get(p, 0.0) for d in distributions) / len(distributions) for p in points}


@dataclass(frozen=True)
class SampleSummary:
    mean: float
    median: float
    majority: float
    std: float
    agreement: float  # share of samples equal to the majority


def summarise_samples(scores: Sequence[float]) -> SampleSummary:
    """Merge several sampled scores; the majority's ties go to the value nearest the median."""
    if not scores:
        raise ValueError("no samples to summarise")
    median = float(statistics.median(scores))
    counts = Counter(scores)
    best = max(counts.values())
    modes = [value for value, count in counts.items() if count == best]
    majority = min(modes, key=lambda value: (abs(value - median), value))
    std = float(statistics.stdev(scores)) if len(scores) > 1 else 0.0
    return SampleSummary(
        mean=float(statistics.fmean(scores)),
        median=median,
        majority=float(majority),
        std=std,
        agreement=best / len(scores),
    )


def checklist_score(weights: Sequence[float], decisions: Sequence[float]) -> float:
    """max(0, sum_i w_i * d_i) / sum_{w_i > 0} w_i, with d_i = 1 for yes (or P(yes)), 0 for no.

    Normalising over positive weights puts a perfect answer at 1; penalties (negative
    weights) subtract, and the floor keeps the score in [0, 1].
    """
    positive = sum(w for w in weights if w > 0)
    if positive <= 0:
        raise ValueError("a checklist needs a positive weight to normalise by")
    raw = sum(w * d for w, d in zip(weights, decisions, strict=True))
    return max(0.0, raw) / positive


_SWAP = {"A": "B", "B": "A", "tie": "tie"}


def unswap(verdict: str) -> str:
    """Map a verdict given with the responses swapped back to the original labels."""
    return _SWAP[verdict]


def merge_orders(verdict_ab: str, verdict_ba_unswapped: str) -> tuple[str, bool]:
    """Merge the two presentation orders: agreement stands, disagreement becomes a tie.

    Returns (merged verdict, consistent). Taking either order alone would import that
    order's position bias into the result.
    """
    if verdict_ab == verdict_ba_unswapped:
        return verdict_ab, True
    return "tie", False


def preference_probability(distribution: Mapping[str, float]) -> float:
    """P(A better) + P(tie)/2 from a distribution over 'A', 'B', 'tie'."""
    total = sum(distribution.values())
    if total <= 0:
        raise ValueError("empty verdict distribution")
    return (distribution.get("A", 0.0) + distribution.get("tie", 0.0) / 2) / total
