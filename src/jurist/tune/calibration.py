"""Mapping a judge's raw score onto the people's scale, fitted on labelled items.

Both maps are monotone (a better raw score never gets a worse calibrated one) and
piecewise linear between knots, so they keep the judge's ranking, are a few numbers in a
profile, and apply by interpolation:

- `isotonic`: the least-squares monotone fit of the labels on the raw score (pool adjacent
  violators), which corrects a judge that is too harsh, too lenient or compressed; its
  knots are the pooled blocks' centres (centred isotonic regression), so the map rises
  between blocks instead of stepping, and items a step function would tie keep their order;
- `ordinal`: quantile matching, the raw score's rank mapped onto the labels' distribution,
  so calibrated scores use the human scale as people use it;
- `linear`: the least-squares line (never falling) across the whole `domain` of raw
  scores, so scores outside the range it was fitted on still keep their order;
- `none`: the raw score as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from jurist.stats.arrays import FloatArray
from jurist.tune.candidates import CalibrationKind

__all__ = ["Calibration", "fit_calibration", "pool_adjacent_violators"]

_QUANTILES = 21  # knots of an ordinal map: every 5th percentile


@dataclass(frozen=True)
class Calibration:
    """A fitted monotone map: raw score -> calibrated score, linear between the knots and
    flat beyond them."""

    kind: CalibrationKind = "none"
    knots_x: tuple[float, ...] = ()
    knots_y: tuple[float, ...] = ()

    def apply(self, raw: ArrayLike) -> FloatArray:
        values = np.asarray(raw, dtype=np.float64)
        if self.kind == "none" or not self.knots_x:
            return values.copy()
        if len(self.knots_x) == 1:
            return np.where(np.isnan(values), np.nan, self.knots_y[0])
        mapped = np.interp(values, self.knots_x, self.knots_y)
        return np.where(np.isnan(values), np.nan, mapped)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "knots_x": [round(v, 6) for v in self.knots_x],
            "knots_y": [round(v, 6) for v in self.knots_y],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(
            data.get("kind", "none"),
            tuple(float(v) for v in data.get("knots_x", ())),
            tuple(float(v) for v in data.get("knots_y", ())),
        )


def pool_adjacent_violators(y: Sequence[float], weights: Sequence[float]) -> FloatArray:
    """The non-decreasing sequence closest to `y` in weighted least squares."""
    values: list[float] = []
    mass: list[float] = []
    sizes: list[int] = []
    for value, weight in zip(y, weights, strict=True):
        values.append(float(value))
        mass.append(float(weight))
        sizes.append(1)
        while len(values) > 1 and values[-2] > values[-1]:
            total = mass[-2] + mass[-1]
            merged = (values[-2] * mass[-2] + values[-1] * mass[-1]) / total
            values[-2:], mass[-2:], sizes[-2:] = [merged], [total], [sizes[-2] + sizes[-1]]
    return np.repeat(values, sizes)


def _block_centres(
    points: FloatArray, fitted: FloatArray, counts: FloatArray
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """One knot per pooled block: its weighted mean raw score and its fitted value."""
    starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])
    weights = np.add.reduceat(counts, starts)
    centres = np.add.reduceat(points * counts, starts) / weights
    return tuple(centres.tolist()), tuple(fitted[starts].tolist())


def fit_calibration(
    kind: CalibrationKind,
    raw: ArrayLike,
    labels: ArrayLike,
    domain: tuple[float, float] | None = None,
) -> Calibration:
    """Fit `kind` on the items where both the raw score and the label are known (a
    `linear` map spans `domain`, default the raw scores' range)."""
    x = np.asarray(raw, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    if kind == "none" or x.size == 0:  # nothing to fit on: the identity
        return Calibration()
    if kind == "linear":
        slope = float(np.polyfit(x, y, 1)[0]) if np.ptp(x) > 0 else 0.0
        slope = max(slope, 0.0)
        ends = domain or (float(x.min()), float(x.max()))
        centre, mean = float(x.mean()), float(y.mean())
        return Calibration(kind, ends, tuple(mean + slope * (e - centre) for e in ends))
    if kind == "isotonic":
        points, inverse = np.unique(x, return_inverse=True)
        counts = np.bincount(inverse).astype(np.float64)
        means = np.bincount(inverse, weights=y) / counts
        fitted = pool_adjacent_violators(means, counts)
        return Calibration(kind, *_block_centres(points, fitted, counts))
    grid = np.linspace(0.0, 1.0, _QUANTILES)
    knots_x = np.quantile(x, grid)
    knots_y = np.quantile(y, grid)
    # Equal raw quantiles (a score many items share) keep the mean of their label quantiles.
    points, inverse = np.unique(knots_x, return_inverse=True)
    mapped = np.bincount(inverse, weights=knots_y) / np.bincount(inverse)
    return Calibration(kind, tuple(points.tolist()), tuple(np.maximum.accumulate(mapped).tolist()))
