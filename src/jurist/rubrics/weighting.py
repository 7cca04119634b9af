"""Criterion weights that do not count one quality twice.

If two criteria measure the same thing, equal weights give that thing double say in the
combined score. The weights here are w ∝ R⁻¹·1, where R is the criteria's correlation
matrix over graded responses. For standardised scores these are the minimum-variance
weights of the composite (the same algebra as generalised least squares, or a minimum-
variance portfolio): k identical copies of a criterion together get exactly the weight one
copy would get, and uncorrelated criteria keep equal weights. A criterion largely
explained by the others can come out negative; a rubric weight cannot be negative, so those
are clipped to 0 and the rest renormalised to sum to 1.
"""

from __future__ import annotations

import numpy as np

# Singular values below this fraction of the largest are treated as zero, so exact
# duplicates collapse into one direction instead of blowing up the inverse.
PINV_RCOND = 1e-8


def correlation_matrix(score_matrix: np.ndarray) -> np.ndarray:
    """Pearson correlations of the columns, each pair over the rows where both are scored.

    Pairwise (rather than complete-case) deletion keeps every item that a pair shares, so
    one criterion's parse failures do not thin out the others. A column with no variance
    has no correlation (NaN).
    """
    scores = np.asarray(score_matrix, dtype=float)
    if scores.ndim != 2:
        raise ValueError(f"score matrix must be 2-D (items x criteria), got shape {scores.shape}")
    columns = scores.shape[1]
    result = np.full((columns, columns), np.nan)
    present = ~np.isnan(scores)
    for i in range(columns):
        for j in range(i, columns):
            both = present[:, i] & present[:, j]
            if both.sum() < 2:
                continue
            left, right = scores[both, i], scores[both, j]
            left, right = left - left.mean(), right - right.mean()
            denominator = np.sqrt((left**2).sum() * (right**2).sum())
            if denominator > 0:
                result[i, j] = result[j, i] = float((left * right).sum() / denominator)
    return result


def correlation_aware_weights(score_matrix: np.ndarray) -> np.ndarray:
    """Weights for the columns of an (items x criteria) score matrix; ≥ 0, summing to 1.

    w ∝ pinv(R) @ 1 over the columns that vary; constant (or almost unscored) columns
    separate no responses and get 0. NaN marks a score that could not be obtained. If
    clipping leaves nothing positive, the varying columns share the weight equally.
    """
    scores = np.asarray(score_matrix, dtype=float)
    correlations = correlation_matrix(scores)
    columns = scores.shape[1]
    weights = np.zeros(columns)
    usable = np.array([not np.isnan(correlations[i, i]) for i in range(columns)], dtype=bool)
    if not usable.any():
        raise ValueError("no criterion has scores that vary; weights are undefined")
    sub = correlations[np.ix_(usable, usable)]
    # A pair with too few shared items has no correlation; treat it as unrelated.
    sub = np.where(np.isnan(sub), 0.0, sub)
    raw = np.linalg.pinv(sub, rcond=PINV_RCOND, hermitian=True) @ np.ones(int(usable.sum()))
    raw = np.clip(raw, 0.0, None)
    if raw.sum() <= 0:
        raw = np.ones_like(raw)
    weights[usable] = raw / raw.sum()
    return weights
