"""Proportions as Estimates with Wilson score intervals: the one interval jurist gives a
rate (agreement, accuracy, consistency), so it never leaves [0, 1] and n is always stated."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from jurist.stats.intervals import wilson_interval
from jurist.stats.results import Estimate, nan_estimate


def proportion(
    successes: float, n: int, *, n_excluded: int = 0, confidence: float = 0.95
) -> Estimate:
    """successes / n with its Wilson interval; successes may be fractional (a tie = ½)."""
    interval = wilson_interval(successes, n, confidence)
    if interval is None:
        return nan_estimate(0, n_excluded, confidence)
    low, high = interval
    return Estimate(successes / n, low, high, n, n_excluded, None, confidence)


def proportion_estimate(scores: ArrayLike, *, confidence: float = 0.95) -> Estimate:
    """Mean of per-item credits in [0, 1] (NaN = left out) as a proportion."""
    values = np.asarray(scores, dtype=np.float64)
    keep = ~np.isnan(values)
    if not keep.any():
        return Estimate(math.nan, math.nan, math.nan, 0, int((~keep).sum()), None, confidence)
    kept = values[keep]
    if kept.min() < 0 or kept.max() > 1:
        raise ValueError("a proportion needs credits between 0 and 1")
    return proportion(
        float(kept.sum()), int(kept.size), n_excluded=int((~keep).sum()), confidence=confidence
    )
