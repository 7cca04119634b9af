"""How a profile combines scores: criterion weights for the overall score, and juror
weights for a jury.

Criterion weights act on calibrated criterion scores scaled to [0, 1] by each criterion's
range, so the overall score keeps the rubric's meaning (a weighted mean on [0, 1]); what
`jurist tune` chooses is only which weights:

- `equal`: every criterion counts the same;
- `rubric`: the rubric's own `weight:` per criterion;
- `inverse-correlation`: w ∝ R⁻¹·1 over the criteria's correlation matrix R, the weights
  `jurist.rubrics.weighting` gives a rubric (two criteria measuring one thing share a
  weight instead of counting it twice);
- `whitened`: w = Σ^-1/2·1 over their covariance Σ, the sum of the whitened (decorrelated,
  unit-variance) scores, as in recursive rubric decomposition.

Weights are never negative (a criterion does not count against the overall score): the
two fitted ones are clipped at 0 and renormalised to sum to 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict

from jurist.rubrics.weighting import correlation_aware_weights
from jurist.stats.arrays import FloatArray
from jurist.tune.agreement import Agreement

__all__ = [
    "JURY_WEIGHTINGS",
    "WEIGHTINGS",
    "JuryProfile",
    "JuryWeighting",
    "OverallProfile",
    "Weighting",
    "combine_columns",
    "fit_weights",
    "inverse_sqrt",
    "whitened_weights",
]

Weighting = Literal["equal", "rubric", "inverse-correlation", "whitened"]
WEIGHTINGS: tuple[Weighting, ...] = ("equal", "rubric", "inverse-correlation", "whitened")
JuryWeighting = Literal["equal", "inverse-error", "stacked"]
JURY_WEIGHTINGS: tuple[JuryWeighting, ...] = ("equal", "inverse-error", "stacked")
# Eigenvalues below this fraction of the largest count as zero: a criterion that is an
# exact copy (or constant) adds no direction instead of an exploding weight.
RCOND = 1e-8


def inverse_sqrt(matrix: ArrayLike, rcond: float = RCOND) -> FloatArray:
    """The symmetric (pseudo-)inverse square root of a covariance matrix."""
    values, vectors = np.linalg.eigh(np.asarray(matrix, dtype=np.float64))
    keep = values > rcond * max(float(values.max(initial=0.0)), 0.0)
    scaled = np.zeros_like(values)
    scaled[keep] = 1.0 / np.sqrt(values[keep])
    return np.asarray((vectors * scaled) @ vectors.T, dtype=np.float64)


def _complete_rows(scores: FloatArray) -> FloatArray:
    return scores[~np.isnan(scores).any(axis=1)]


def whitened_weights(scores: ArrayLike) -> FloatArray:
    """Σ^-1/2·1 over the items scored on every criterion (not clipped or normalised)."""
    rows = _complete_rows(np.asarray(scores, dtype=np.float64))
    if rows.shape[0] < 2:
        return np.ones(rows.shape[1])
    return inverse_sqrt(np.cov(rows, rowvar=False).reshape(rows.shape[1], -1)) @ np.ones(
        rows.shape[1]
    )


def _normalised(weights: FloatArray, fallback: FloatArray) -> FloatArray:
    clipped = np.clip(np.nan_to_num(weights, nan=0.0), 0.0, None)
    if clipped.sum() <= 0:
        clipped = fallback
    return np.asarray(clipped / clipped.sum(), dtype=np.float64)


def fit_weights(kind: Weighting, scores: ArrayLike, rubric: Sequence[float]) -> FloatArray:
    """Weights (≥ 0, summing to 1) for the columns of an (items x criteria) matrix of
    scaled calibrated scores; NaN marks a missing score."""
    x = np.asarray(scores, dtype=np.float64)
    equal = np.ones(x.shape[1])
    if kind == "equal":
        return equal / equal.sum()
    if kind == "rubric":
        return _normalised(np.asarray(rubric, dtype=np.float64), equal)
    varying = np.array([np.nanstd(x[:, j]) > 0 if (~np.isnan(x[:, j])).sum() > 1 else False
                        for j in range(x.shape[1])])  # fmt: skip
    if not varying.any():
        return equal / equal.sum()
    if kind == "inverse-correlation":
        return _normalised(correlation_aware_weights(x), varying.astype(np.float64))
    fitted = np.zeros(x.shape[1])
    fitted[varying] = whitened_weights(x[:, varying])
    return _normalised(fitted, varying.astype(np.float64))


def combine_columns(columns: Sequence[FloatArray], weights: ArrayLike) -> FloatArray:
    """Per item the weighted mean of the columns present (NaN where none with weight is)."""
    w = np.asarray(weights, dtype=np.float64)
    x = np.vstack(columns) if columns else np.empty((0, 0))
    present = ~np.isnan(x)
    mass = (w[:, None] * present).sum(axis=0)
    total = (w[:, None] * np.where(present, x, 0.0)).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(mass > 0, total / np.where(mass > 0, mass, 1.0), np.nan)


class OverallProfile(BaseModel):
    """How the profile's overall score is made from its calibrated criterion scores."""

    model_config = ConfigDict(extra="forbid")

    field: str  # the people's overall label it was chosen against
    weighting: Weighting
    weights: dict[str, float]
    bounds: dict[str, tuple[float, float]]  # each criterion's range, to scale it to [0, 1]
    heldout: Agreement | None = None  # the tuned weighting's outer-fold figures

    def combine(self, calibrated: Mapping[str, float | None]) -> float | None:
        """The overall score on [0, 1]; None unless every weighted criterion has one."""
        total = mass = 0.0
        for cid, weight in self.weights.items():
            if weight <= 0:
                continue
            value = calibrated.get(cid)
            if value is None:
                return None
            low, high = self.bounds[cid]
            total += weight * (float(value) - low) / (high - low if high > low else 1.0)
            mass += weight
        return None if mass <= 0 else round(total / mass, 6)


class JuryProfile(BaseModel):
    """The jury a profile chose: its jurors (each with its own profile beside this one)
    and, per criterion, the weight of each juror's calibrated score."""

    model_config = ConfigDict(extra="forbid")

    judges: list[str]
    weighting: JuryWeighting
    weights: dict[str, list[float]]
    heldout: Agreement | None = None

    def refusal(self) -> str:
        """Why `grade --profile` does not grade with it, and what to run instead."""
        mean = np.mean(list(self.weights.values()), axis=0) if self.weights else []
        jurors = ", ".join(f"{j} (weight {w:.2f})" for j, w in zip(self.judges, mean, strict=True))
        return (
            f"this profile chose a jury: {jurors}, combining each juror's calibrated "
            f"scores ({self.weighting} weights per criterion). `grade --profile` applies one "
            "judge's profile: grade with `jurist grade --jury JURY.yaml` (aggregate: weighted, "
            "each juror's `weight:` as above, on raw scores), or tune one of these judges alone "
            "(jurist tune --judge SPEC)"
        )
