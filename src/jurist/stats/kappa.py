"""Cohen's kappa, unweighted or weighted by scale distance, with a bootstrap interval."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Unpack

import numpy as np
from numpy.typing import ArrayLike

from jurist.stats.arrays import FloatArray, IntArray, paired, snap
from jurist.stats.bootstrap import bootstrap_counts
from jurist.stats.resampling import Resampling, resampling
from jurist.stats.results import Estimate, nan_estimate

Weights = Literal["linear", "quadratic"] | None


def kappa_weights(n_categories: int, weights: Weights) -> FloatArray:
    """Disagreement weights on category positions (0 on the diagonal)."""
    pos = np.arange(n_categories, dtype=np.float64)
    diff = np.abs(pos[:, None] - pos[None, :])
    if weights is None:
        return (diff > 0).astype(np.float64)
    if weights == "linear":
        return diff
    if weights == "quadratic":
        return diff**2
    raise ValueError(f"weights must be None, 'linear' or 'quadratic', not {weights!r}")


def kappa_from_confusion(confusion: FloatArray, weight_matrix: FloatArray) -> FloatArray:
    """Cohen's kappa for a stack of (b, K, K) confusion matrices."""
    total = confusion.sum(axis=(1, 2))
    rows = confusion.sum(axis=2)
    cols = confusion.sum(axis=1)
    observed = np.einsum("bij,ij->b", confusion, weight_matrix)
    expected = np.einsum("bi,ij,bj->b", rows, weight_matrix, cols)
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa = 1.0 - observed * total / expected
    return np.where(expected > 0, kappa, np.nan)


def kappa_from_indices(
    a: IntArray,
    b: IntArray,
    n_categories: int,
    weights: Weights,
    n_excluded: int,
    **options: Unpack[Resampling],
) -> Estimate:
    """Kappa of two category-index arrays; the bootstrap resamples items."""
    kw = resampling(options)
    if a.size == 0:
        return nan_estimate(0, n_excluded, kw["confidence"])
    cells = a * n_categories + b
    uniq_cells, codes = np.unique(cells, return_inverse=True)
    wmat = kappa_weights(n_categories, weights)

    def kernel(counts: FloatArray) -> FloatArray:
        conf = np.zeros((counts.shape[0], n_categories * n_categories))
        conf[:, uniq_cells] = counts
        return kappa_from_confusion(conf.reshape(-1, n_categories, n_categories), wmat)

    return bootstrap_counts(
        kernel, int(a.size), codes=codes.reshape(-1), n_excluded=n_excluded, **kw
    )


def cohen_kappa(
    judge: ArrayLike,
    human: ArrayLike,
    *,
    scale: Sequence[float] | None = None,
    weights: Weights = None,
    **options: Unpack[Resampling],
) -> Estimate:
    """Cohen's kappa, unweighted or weighted by scale distance.

    With `scale`, both sides are snapped to it and the categories are all of its points,
    so the weights reflect real scale distances even when a middle point is never used.
    Without it the categories are the distinct values seen on either side.
    """
    (x, y), n_excluded = paired(judge, human)
    if scale is None:
        categories = np.unique(np.concatenate([x, y]))
        a = np.searchsorted(categories, x).astype(np.intp)
        b = np.searchsorted(categories, y).astype(np.intp)
        n_categories = len(categories)
    else:
        a, b = snap(x, scale), snap(y, scale)
        n_categories = len(scale)
    return kappa_from_indices(a, b, n_categories, weights, n_excluded, **options)
