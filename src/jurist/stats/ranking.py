"""Listwise rankings against humans: top-1 accuracy (best-of-K), Kendall's tau per item,
and how often each presentation slot holds the judge's top pick.

Pure functions on per-item lists. An item whose ranking is missing (failed or unparseable)
is left out and counted, never scored as a miss.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from jurist.core.lazy import lazy
from jurist.stats.bootstrap import bootstrap_ci
from jurist.stats.proportion import proportion, proportion_estimate
from jurist.stats.results import Described, Estimate, nan_estimate

scipy_stats = lazy("scipy.stats")


def top_set(scores: Sequence[float], *, digits: int = 9) -> list[int]:
    """The responses sharing the highest score (more than one when the top is tied)."""
    best = max(round(s, digits) for s in scores)
    return [i for i, s in enumerate(scores) if round(s, digits) == best]


def top1_credit(scores: Sequence[float], best: int) -> float:
    """1 when the judge's top pick is the human's best; a top tied among m responses that
    include it earns 1/m, the accuracy of breaking the tie at random, never a full point."""
    tops = top_set(scores)
    return 1.0 / len(tops) if best in tops else 0.0


def top1_accuracy(
    scores: Sequence[Sequence[float] | None],
    best: Sequence[int | None],
    *,
    confidence: float = 0.95,
) -> Estimate:
    """Best-of-K accuracy: the share of items whose top-scored response is the human's best
    (Wilson interval; ties earn fractional credit). Missing scores or labels are excluded."""
    if len(scores) != len(best):
        raise ValueError(f"scores and labels differ in length: {len(scores)} vs {len(best)}")
    credits = [
        math.nan if s is None or b is None else top1_credit(s, int(b))
        for s, b in zip(scores, best, strict=True)
    ]
    return proportion_estimate(credits, confidence=confidence)


def kendall_tau_b(x: Sequence[float], y: Sequence[float]) -> float:
    """Kendall's tau-b of two score lists (higher = better); NaN when either is constant."""
    if len(x) != len(y):
        raise ValueError(f"rankings differ in length: {len(x)} vs {len(y)}")
    concordant = discordant = tied_x = tied_y = 0
    for i in range(len(x)):
        for j in range(i + 1, len(x)):
            dx = np.sign(x[i] - x[j])
            dy = np.sign(y[i] - y[j])
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                tied_x += 1
            elif dy == 0:
                tied_y += 1
            elif dx == dy:
                concordant += 1
            else:
                discordant += 1
    denominator = math.sqrt((concordant + discordant + tied_x) * (concordant + discordant + tied_y))
    return (concordant - discordant) / denominator if denominator else math.nan


def mean_kendall_tau(
    judge: Sequence[Sequence[float] | None],
    human: Sequence[Sequence[float] | None],
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Mean per-item Kendall tau-b between the judge's scores and the human scores (higher =
    better on both sides), with a bootstrap interval over items. Items with no ranking on
    either side, or a constant one (tau undefined), are excluded and counted."""
    taus = []
    excluded = 0
    for j, h in zip(judge, human, strict=True):
        tau = math.nan if j is None or h is None else kendall_tau_b(j, h)
        if math.isnan(tau):
            excluded += 1
        else:
            taus.append(tau)
    if not taus:
        return nan_estimate(0, excluded, confidence)
    result = bootstrap_ci(
        lambda t: t.mean(axis=-1),
        np.asarray(taus),
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
    )
    return Estimate(result.value, result.low, result.high, result.n, excluded, None, confidence)


@dataclass(frozen=True)
class SlotBias(Described):
    """How often each presentation slot held the judge's top pick, against the 1/n an
    unbiased judge gives when orders are balanced; chi-square test of uniformity."""

    n_responses: int
    top_rate: tuple[Estimate, ...]
    counts: tuple[int, ...]
    chi2: float
    p_value: float

    def sentence(self) -> str:
        if not sum(self.counts):
            return "no rankings to measure slot bias on"
        rates = ", ".join(f"{chr(65 + s)} {r.value:.2f}" for s, r in enumerate(self.top_rate))
        expected = 1 / self.n_responses
        verdict = "biased" if self.p_value < 0.05 else "no significant bias"
        return (
            f"top pick by slot: {rates} (uniform {expected:.2f}); chi2={self.chi2:.1f}, "
            f"p={self.p_value:.2g}, n={sum(self.counts)} orders: {verdict}"
        )


def slot_bias(top_slots: Sequence[int], n_responses: int, *, confidence: float = 0.95) -> SlotBias:
    """Top-pick rate per slot (Wilson intervals) over orders of lists of `n_responses`."""
    counts = np.bincount(np.asarray(top_slots, dtype=np.intp), minlength=n_responses)
    if counts.size > n_responses:
        raise ValueError(f"a top slot is beyond the {n_responses} slots")
    total = int(counts.sum())
    rates = tuple(proportion(int(c), total, confidence=confidence) for c in counts)
    if total == 0:
        empty = nan_estimate(0, 0, confidence)
        return SlotBias(
            n_responses, (empty,) * n_responses, tuple([0] * n_responses), math.nan, math.nan
        )
    test = scipy_stats.chisquare(counts)
    return SlotBias(
        n_responses,
        rates,
        tuple(int(c) for c in counts),
        float(test.statistic),
        float(test.pvalue),
    )
