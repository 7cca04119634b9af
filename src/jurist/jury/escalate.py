"""Abstain or escalate with a guarantee (Trust or Escalate, Jung et al., ICLR 2025).

A judge keeps the verdicts it is confident of and hands the rest on (to the next juror of
a cascade, or to a person). The confidence threshold is chosen on a labelled sample so
that the kept verdicts agree with people at least `target` of the time, with probability
at least 1 - alpha over the draw of that sample.

`calibrate_thresholds` (cascade.py) takes the lowest threshold whose *observed*
agreement reaches the target; on a small sample that figure flatters the very threshold
it picked. Here each candidate threshold, from the most confident down, is a one-sided
exact binomial (Clopper-Pearson) test of "agreement on the kept items >= target".
Testing in an order fixed in advance and stopping at the first failure needs no
correction for the many thresholds tried (fixed-sequence testing), so the last threshold
that passed carries the guarantee.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from jurist.core.lazy import lazy
from jurist.stats.proportion import proportion
from jurist.stats.results import Estimate, Result

sps = lazy("scipy.stats")

# Candidate thresholds, fixed before any data is seen: 0.999, 0.995, then 1.00, 0.99, ...,
# 0.00 (model probabilities crowd near 1).
DEFAULT_GRID: tuple[float, ...] = (0.999, 0.995, *(round(1.0 - k / 100, 2) for k in range(101)))
# The fewest kept items a threshold is tested on: a smaller set rarely passes, and the
# first failure would end the sequence before the thresholds that could.
MIN_KEPT = 50


@dataclass(frozen=True)
class ThresholdTest(Result):
    """One step of the sequence: the items a threshold keeps, how many of them agree with
    people, and the p-value of "agreement < target" (passed: rejected at alpha)."""

    threshold: float
    kept: int
    agreed: int
    p_value: float
    passed: bool


@dataclass(frozen=True)
class Escalation(Result):
    """The chosen threshold (inf: nothing passed, every item escalates), the share of the
    labelled items it keeps and their agreement with people, with the one-sided
    (1 - alpha) Clopper-Pearson lower bound that the guarantee rests on."""

    target: float
    alpha: float
    threshold: float
    kept: Estimate
    agreement: Estimate
    lower_bound: float
    tests: tuple[ThresholdTest, ...]


def binomial_p_value(agreed: int, kept: int, target: float) -> float:
    """P(at least `agreed` of `kept` agree | agreement = target): small when the kept
    items agree more often than `target` could explain."""
    if kept == 0:
        return 1.0
    return float(sps.binom.sf(agreed - 1, kept, target))


def lower_bound(agreed: int, kept: int, alpha: float) -> float:
    """One-sided Clopper-Pearson lower bound at 1 - alpha (0 when nothing agrees)."""
    if kept == 0 or agreed == 0:
        return 0.0
    return float(sps.beta.ppf(alpha, agreed, kept - agreed + 1))


def fewest_testable(target: float, alpha: float) -> int:
    """The fewest kept items that could pass at all (all agreeing): target**n <= alpha."""
    return max(1, math.ceil(math.log(alpha) / math.log(target) - 1e-12))


def _clean(confidence: ArrayLike, agree: ArrayLike) -> tuple[np.ndarray, np.ndarray, int]:
    conf = np.asarray(confidence, dtype=np.float64).ravel()
    credit = np.asarray(agree, dtype=np.float64).ravel()
    if conf.shape != credit.shape:
        raise ValueError(f"{conf.size} confidences for {credit.size} agreements")
    known = ~np.isnan(credit)
    credit = credit[known]
    if credit.size and not np.isin(credit, (0.0, 1.0)).all():
        raise ValueError("agreement must be 1 (agrees), 0 (does not) or NaN (unknown)")
    # An unknown confidence never reaches a threshold: that item always escalates.
    return np.nan_to_num(conf[known], nan=-math.inf), credit, int((~known).sum())


def trust_threshold(
    confidence: ArrayLike,
    agree: ArrayLike,
    target: float,
    *,
    alpha: float = 0.1,
    grid: Sequence[float] = DEFAULT_GRID,
    min_kept: int = MIN_KEPT,
    confidence_level: float = 0.95,
) -> Escalation:
    """The lowest confidence threshold that keeps agreement >= `target` with probability
    >= 1 - `alpha`, by fixed-sequence testing down `grid` (sorted most confident first).

    `confidence` is the judge's probability for its own verdict, `agree` 1 where it matches
    the people's label and 0 where not (NaN: unlabelled, left out and counted). Thresholds
    that keep fewer than `min_kept` items (or too few to pass even if all agreed), or the
    same items as the threshold tested before them, are skipped: which ones depends on the
    confidences alone, never on the labels, so the guarantee stands. The first threshold
    that fails ends the sequence. The kept share and the kept agreement carry Wilson intervals at
    `confidence_level`.
    """
    if not 0.0 < target < 1.0:
        raise ValueError(f"target agreement must be in (0, 1), not {target}")
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), not {alpha}")
    conf, credit, excluded = _clean(confidence, agree)
    smallest = max(fewest_testable(target, alpha), min_kept)
    chosen, tests, previous = math.inf, [], -1
    for threshold in sorted(set(grid), reverse=True):
        keep = conf >= threshold
        kept = int(keep.sum())
        if kept < smallest or kept == previous:
            continue
        previous = kept
        agreed = int(credit[keep].sum())
        p = binomial_p_value(agreed, kept, target)
        tests.append(ThresholdTest(float(threshold), kept, agreed, p, p <= alpha))
        if p > alpha:
            break
        chosen = float(threshold)
    keep = conf >= chosen
    kept, agreed = int(keep.sum()), int(credit[keep].sum())
    return Escalation(
        target=target,
        alpha=alpha,
        threshold=chosen,
        kept=proportion(kept, credit.size, n_excluded=excluded, confidence=confidence_level),
        agreement=proportion(agreed, kept, confidence=confidence_level),
        lower_bound=lower_bound(agreed, kept, alpha),
        tests=tuple(tests),
    )


def guaranteed_thresholds(
    confidence: ArrayLike,
    correct: ArrayLike,
    target: float,
    *,
    alpha: float = 0.1,
    grid: Sequence[float] = DEFAULT_GRID,
    min_kept: int = MIN_KEPT,
) -> tuple[float, ...]:
    """`calibrate_thresholds` with the guarantee: one threshold per non-final juror of a
    cascade, from (jurors - 1, items) confidences and 0/1 credits. Each juror's kept
    verdicts agree at least `target` of the time with probability >= 1 - alpha; a juror
    that cannot promise it gets an infinite threshold and always escalates."""
    conf = np.atleast_2d(np.asarray(confidence, dtype=np.float64))
    credit = np.atleast_2d(np.asarray(correct, dtype=np.float64))
    if conf.shape != credit.shape:
        raise ValueError(f"confidence {conf.shape} and correct {credit.shape} differ in shape")
    return tuple(
        trust_threshold(c, k, target, alpha=alpha, grid=grid, min_kept=min_kept).threshold
        for c, k in zip(conf, credit, strict=True)
    )
