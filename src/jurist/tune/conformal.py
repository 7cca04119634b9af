"""Split-conformal intervals: from held-out absolute residuals |label - calibrated score|,
the radius that covers a new item's label with probability at least `coverage`.

The guarantee needs only that the new item is exchangeable with the held-out ones (drawn
the same way); it holds on average over items, not for each one. Likert labels also get
prediction sets: the scale points inside the interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from jurist.stats.arrays import FloatArray
from jurist.stats.results import Figure

__all__ = ["Conformal", "conformal_quantile", "coverage_of", "fit_conformal"]


def conformal_quantile(residuals: ArrayLike, coverage: float) -> float:
    """The ceil((n + 1) * coverage)-th smallest residual (infinite when n is too small
    for that coverage: no finite interval is honest then)."""
    values = np.sort(np.abs(np.asarray(residuals, dtype=np.float64)))
    values = values[~np.isnan(values)]
    rank = math.ceil((values.size + 1) * coverage)
    return math.inf if rank > values.size or rank < 1 else float(values[rank - 1])


@dataclass(frozen=True)
class Conformal:
    """A fitted interval radius for one criterion, clipped to the scale's bounds."""

    coverage: float
    radius: float
    n: int
    low: float | None = None
    high: float | None = None

    def interval(self, values: ArrayLike) -> tuple[FloatArray, FloatArray]:
        centre = np.asarray(values, dtype=np.float64)
        low, high = centre - self.radius, centre + self.radius
        if self.low is not None:
            low = np.maximum(low, self.low)
        if self.high is not None:
            high = np.minimum(high, self.high)
        return low, high

    def prediction_set(self, value: float, points: Sequence[float]) -> list[float]:
        """The scale points inside the value's interval (never empty: the nearest point
        when the interval falls between two)."""
        if math.isnan(value):
            return []
        low, high = value - self.radius, value + self.radius
        inside = [p for p in points if low - 1e-9 <= p <= high + 1e-9]
        return inside or [min(points, key=lambda p: abs(p - value))]

    def to_dict(self) -> dict[str, Any]:
        radius = None if math.isinf(self.radius) else round(self.radius, 6)
        return {"coverage": self.coverage, "radius": radius, "n": self.n}

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], low: float | None = None, high: float | None = None
    ) -> Conformal:
        radius = data.get("radius")
        return cls(
            float(data["coverage"]),
            math.inf if radius is None else float(radius),
            int(data.get("n", 0)),
            low,
            high,
        )


def fit_conformal(
    predicted: ArrayLike,
    labels: ArrayLike,
    coverage: float,
    bounds: tuple[float, float] | None = None,
) -> Conformal:
    """The radius from held-out predictions and their labels (NaN pairs dropped)."""
    residuals = np.asarray(labels, dtype=np.float64) - np.asarray(predicted, dtype=np.float64)
    residuals = residuals[~np.isnan(residuals)]
    low, high = bounds if bounds is not None else (None, None)
    return Conformal(
        coverage, conformal_quantile(residuals, coverage), int(residuals.size), low, high
    )


def coverage_of(low: ArrayLike, high: ArrayLike, labels: ArrayLike) -> Figure:
    """The share of labels inside their intervals, with a Wilson interval."""
    lo, hi, y = (np.asarray(a, dtype=np.float64) for a in (low, high, labels))
    keep = ~(np.isnan(lo) | np.isnan(hi) | np.isnan(y))
    hits = int(((y[keep] >= lo[keep] - 1e-9) & (y[keep] <= hi[keep] + 1e-9)).sum())
    return Figure.share(hits, int(keep.sum()))
