"""The two interval methods jurist uses everywhere, so one figure never gets two intervals.

Proportions (agreement rates, order consistency, yes rates) get Wilson score intervals:
they stay inside [0, 1] and behave at 0 and n. Means get percentile bootstrap intervals,
which cannot leave the range the values were drawn from (a t interval on six Likert scores
can reach below the scale's floor). Both are deterministic for the same data.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from jurist.core.lazy import lazy

stats = lazy("scipy.stats")

BOOTSTRAP_RESAMPLES = 2000


def wilson_interval(
    successes: float, n: int, confidence: float = 0.95
) -> tuple[float, float] | None:
    """Wilson score interval for a proportion; None when there is nothing to estimate."""
    if n <= 0:
        return None
    z = float(stats.norm.ppf(0.5 + confidence / 2))
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= n else min(1.0, centre + half)
    return low, high


def mean_interval(
    values: ArrayLike,
    confidence: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of a mean; None below two values.

    Values that repeat (Likert scores) are resampled as counts per distinct value, so the
    cost does not grow with n.
    """
    data = np.asarray(values, dtype=np.float64)
    data = data[~np.isnan(data)]
    if data.size < 2:
        return None
    distinct, counts = np.unique(data, return_counts=True)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(data.size, counts / data.size, size=resamples)
    means = draws @ distinct / data.size
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return float(low), float(high)
