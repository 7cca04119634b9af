"""How a jury's scores for one criterion become one: mean, median, majority, trimmed mean,
or a mean weighted by each juror's measured agreement with humans.

Pure functions on the jurors' values; a juror that gave no value (failed, unparseable) is
left out, never counted as a default score. Pairwise verdicts are put on the same line
(A = 1, tie = ½, B = 0) so one set of rules serves both modes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Literal, get_args

import numpy as np

from jurist.core.judgment import Verdict
from jurist.core.lazy import lazy

scipy_stats = lazy("scipy.stats")

Method = Literal["mean", "median", "majority", "trimmed_mean", "weighted"]
METHODS: tuple[str, ...] = get_args(Method)

VERDICT_VALUE: dict[str, float] = {"A": 1.0, "tie": 0.5, "B": 0.0}


def verdict_value(verdict: str | None) -> float | None:
    return None if verdict is None else VERDICT_VALUE[verdict]


def verdict_of(value: float | None) -> Verdict | None:
    """The verdict an aggregated value stands for: above ½ A, below ½ B, exactly ½ a tie."""
    if value is None:
        return None
    if value > 0.5:
        return "A"
    if value < 0.5:
        return "B"
    return "tie"


def majority(values: Sequence[float]) -> float:
    """The most frequent value; a tie between values is split at their mean, so a jury split
    evenly between A and B is a tie, and between 2 and 4 gives 3."""
    counts = Counter(values)
    top = max(counts.values())
    tied = [value for value, count in counts.items() if count == top]
    return float(np.mean(tied))


def weighted_mean(values: Sequence[float], weights: Sequence[float]) -> float:
    """Mean weighted by the jurors' agreement with humans; a juror measured no better than
    chance weighs 0, and when all weigh 0 they count equally (no evidence favours any)."""
    w = np.clip(np.asarray(weights, dtype=np.float64), 0.0, None)
    x = np.asarray(values, dtype=np.float64)
    if w.sum() <= 0:
        return float(x.mean())
    return float((w * x).sum() / w.sum())


def aggregate(
    values: Sequence[float | None],
    method: Method,
    *,
    weights: Sequence[float] | None = None,
    trim: float = 0.2,
) -> float | None:
    """One value from the jurors' values (None = that juror gave none).

    `trim` is the share cut from each end for `trimmed_mean`, as in scipy's `trim_mean`
    (with 3 jurors, 0.34 cuts one from each end, which leaves the median).
    """
    if weights is not None and len(weights) != len(values):
        raise ValueError(f"{len(weights)} weights for {len(values)} jurors")
    kept = [i for i, value in enumerate(values) if value is not None]
    if not kept:
        return None
    present = [float(values[i]) for i in kept]  # type: ignore[arg-type]
    if method == "mean":
        return float(np.mean(present))
    if method == "median":
        return float(np.median(present))
    if method == "majority":
        return majority(present)
    if method == "trimmed_mean":
        if not 0.0 <= trim < 0.5:
            raise ValueError(f"trim must be in [0, 0.5), not {trim}")
        return float(scipy_stats.trim_mean(present, trim))
    if method == "weighted":
        if weights is None:
            raise ValueError("weighted aggregation needs a weight per juror")
        return weighted_mean(present, [weights[i] for i in kept])
    raise ValueError(f"unknown aggregation {method!r}; use one of: {', '.join(METHODS)}")


def spread(values: Sequence[float | None]) -> float | None:
    """How far apart the jurors are: highest minus lowest value (None with fewer than two)."""
    present = [v for v in values if v is not None]
    if len(present) < 2:
        return None
    return float(max(present) - min(present))


def majority_share(values: Sequence[float | None]) -> float | None:
    """Share of the answering jurors who gave the most frequent value."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return max(Counter(present).values()) / len(present)
