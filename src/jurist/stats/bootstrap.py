"""Bootstrap confidence intervals, vectorised over resamples.

A resample is drawn as a row of item indices, and statistics see it as a row of counts
(how often each item was drawn). Sums over a resample then become one matrix product for
all resamples at once, items that share a value can be merged before resampling (so
Likert data costs the same at any n), and resampling whole clusters is only a different
way of filling the same count matrix.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from jurist.core.lazy import lazy
from jurist.stats.arrays import FloatArray, IntArray, factorize
from jurist.stats.results import Estimate

sparse = lazy("scipy.sparse")

# Cells of index/count matrix held at once: bounds memory whatever n and B are, and keeps
# each batch small enough to stay in cache (larger batches measured slower).
_BATCH_CELLS = 250_000


def batch_sizes(n_resamples: int, n: int) -> Iterator[int]:
    """Split B resamples into batches whose (batch, n) matrices stay within the cell budget."""
    size = max(1, min(n_resamples, _BATCH_CELLS // max(n, 1)))
    done = 0
    while done < n_resamples:
        step = min(size, n_resamples - done)
        yield step
        done += step


def draw(rng: np.random.Generator, high: int, rows: int, cols: int) -> NDArray[np.integer]:
    """(rows, cols) indices in [0, high), kept 32-bit where they fit to halve memory."""
    dtype = np.int32 if high < 2**31 else np.int64
    return rng.integers(0, high, size=(rows, cols), dtype=dtype)


def resample_indices(n: int, n_resamples: int, seed: int | np.random.Generator = 0) -> IntArray:
    """A (B, n) matrix of item indices drawn with replacement, one resample per row."""
    rng = np.random.default_rng(seed)
    return draw(rng, n, n_resamples, n).astype(np.intp)


def tally(indices: NDArray[np.integer], n_bins: int) -> FloatArray:
    """Count matrix (b, n_bins) of how often each bin occurs in each row of `indices`."""
    b = indices.shape[0]
    offsets = (np.arange(b, dtype=np.intp) * n_bins)[:, None]
    flat = np.bincount((indices + offsets).ravel(), minlength=b * n_bins)
    return flat.reshape(b, n_bins).astype(np.float64)


def iter_counts(
    n: int,
    n_resamples: int,
    seed: int | np.random.Generator = 0,
    *,
    codes: ArrayLike | None = None,
    clusters: ArrayLike | None = None,
) -> Iterator[FloatArray]:
    """Yield batches of resample count matrices.

    Without `codes` a batch is (b, n): how often each item was drawn. With `codes` (one
    integer per item, 0..K-1) items with the same code are merged and a batch is (b, K);
    statistics that only depend on an item's code (its value pair) get the exact same
    bootstrap distribution at a fraction of the cost. With `clusters` whole clusters are
    drawn (a cluster drawn twice counts all of its items twice), which keeps the
    dependence between items of one cluster, e.g. several responses to one prompt.
    """
    rng = np.random.default_rng(seed)
    code_arr = None if codes is None else np.asarray(codes, dtype=np.intp)
    n_codes = 0 if code_arr is None else int(code_arr.max(initial=-1)) + 1
    if clusters is None:
        # Draw in cache-sized chunks, but hand merged counts to the statistic in larger
        # batches: its per-call cost (e.g. an iterative fit) then stays small.
        width = n if code_arr is None else max(n_codes, 1)
        rows_wanted = max(1, _BATCH_CELLS // width)
        pending: list[FloatArray] = []
        for b in batch_sizes(n_resamples, n):
            idx = draw(rng, n, b, n)
            pending.append(tally(idx, n) if code_arr is None else tally(code_arr[idx], n_codes))
            if sum(p.shape[0] for p in pending) >= rows_wanted:
                yield np.concatenate(pending)
                pending = []
        if pending:
            yield np.concatenate(pending)
        return
    cluster_of, names = factorize(clusters)
    n_clusters = len(names)
    if code_arr is not None:
        ones = np.ones(n)
        merge = sparse.csr_matrix((ones, (np.arange(n), code_arr)), shape=(n, n_codes))
    for b in batch_sizes(n_resamples, max(n, n_clusters)):
        drawn = tally(draw(rng, n_clusters, b, n_clusters), n_clusters)
        weights = drawn[:, cluster_of]
        if code_arr is None:
            yield weights
        else:
            yield np.asarray(merge.T @ weights.T).T


def percentile_interval(replicates: ArrayLike, confidence: float = 0.95) -> tuple[Any, Any]:
    """Percentile interval per column; resamples where the statistic is undefined are
    dropped, and the interval is NaN when more than half of them are."""
    reps = np.asarray(replicates, dtype=np.float64)
    alpha = (1.0 - confidence) / 2.0
    finite = ~np.isnan(reps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: handled below
        low = np.nanquantile(reps, alpha, axis=0)
        high = np.nanquantile(reps, 1.0 - alpha, axis=0)
    too_few = finite.sum(axis=0) * 2 < reps.shape[0]
    low = np.where(too_few, np.nan, low)
    high = np.where(too_few, np.nan, high)
    return low, high


def count_replicates(
    statistic: Callable[[FloatArray], NDArray[np.float64]],
    n: int,
    *,
    n_resamples: int = 1000,
    seed: int | np.random.Generator = 0,
    codes: ArrayLike | None = None,
    clusters: ArrayLike | None = None,
) -> FloatArray:
    """Bootstrap replicates of a statistic of a count matrix: (B,) or (B, k)."""
    parts = [
        np.asarray(statistic(counts), dtype=np.float64)
        for counts in iter_counts(n, n_resamples, seed, codes=codes, clusters=clusters)
    ]
    return np.concatenate(parts, axis=0)


def full_counts(n: int, codes: ArrayLike | None = None) -> FloatArray:
    """The (1, n) or (1, K) count row of the original sample."""
    if codes is None:
        return np.ones((1, n))
    return np.bincount(np.asarray(codes, dtype=np.intp))[None, :].astype(np.float64)


def bootstrap_counts(
    statistic: Callable[[FloatArray], NDArray[np.float64]],
    n: int,
    *,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int | np.random.Generator = 0,
    codes: ArrayLike | None = None,
    clusters: ArrayLike | None = None,
    n_excluded: int = 0,
) -> Estimate:
    """Point estimate and percentile CI of a scalar statistic of a (b, n|K) count matrix.

    `statistic` maps a count matrix to one value per row; the point estimate is the
    statistic of the original sample (every item counted once).
    """
    value = float(np.asarray(statistic(full_counts(n, codes)))[0])
    if n < 2 or math.isnan(value):
        return Estimate(value, math.nan, math.nan, n, n_excluded, None, confidence)
    reps = count_replicates(
        statistic, n, n_resamples=n_resamples, seed=seed, codes=codes, clusters=clusters
    )
    low, high = percentile_interval(reps, confidence)
    return Estimate(value, float(low), float(high), n, n_excluded, None, confidence)


def bootstrap_ci(
    statistic: Callable[..., NDArray[np.float64]],
    *samples: ArrayLike,
    n_resamples: int = 1000,
    confidence: float = 0.95,
    seed: int | np.random.Generator = 0,
) -> Estimate:
    """Paired bootstrap of any statistic vectorised over a leading resample axis.

    `statistic(*arrays)` receives each sample resampled as a (b, n) array (the same item
    indices for every sample, so pairs stay together) and returns one value per row. Use
    this for statistics that are not sums over items; the count-based helpers are faster.
    """
    arrays = [np.asarray(s) for s in samples]
    n = arrays[0].shape[-1]
    if any(a.shape[-1] != n for a in arrays):
        raise ValueError("all samples must have the same number of items")
    value = float(np.asarray(statistic(*(a[None, :] for a in arrays)))[0])
    if n < 2 or math.isnan(value):
        return Estimate(value, math.nan, math.nan, n, 0, None, confidence)
    rng = np.random.default_rng(seed)
    parts = []
    for b in batch_sizes(n_resamples, n * len(arrays)):
        idx = draw(rng, n, b, n)
        parts.append(np.asarray(statistic(*(a[idx] for a in arrays)), dtype=np.float64))
    low, high = percentile_interval(np.concatenate(parts), confidence)
    return Estimate(value, float(low), float(high), n, 0, None, confidence)


def weighted_mean(counts: FloatArray, values: ArrayLike) -> FloatArray:
    """Mean of `values` in each resample given its counts (b, n)."""
    total = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (counts @ np.asarray(values, dtype=np.float64)) / total


def weighted_pearson(counts: FloatArray, x: ArrayLike, y: ArrayLike) -> FloatArray:
    """Pearson r in each resample, from sums of counts times centred values."""
    xv = np.asarray(x, dtype=np.float64)
    yv = np.asarray(y, dtype=np.float64)
    # r is shift invariant; centring keeps the raw-moment formulas well conditioned.
    xv = xv - xv.mean()
    yv = yv - yv.mean()
    total = counts.sum(axis=1)
    # (5, n) @ (n, b) is far faster than (b, n) @ (n, 5) for BLAS.
    moments = (np.stack([xv, yv, xv * xv, yv * yv, xv * yv]) @ counts.T).T
    with np.errstate(invalid="ignore", divide="ignore"):
        m = moments / total[:, None]
        mx, my = m[:, 0], m[:, 1]
        vx = m[:, 2] - mx * mx
        vy = m[:, 3] - my * my
        cov = m[:, 4] - mx * my
        r = cov / np.sqrt(vx * vy)
    return _degenerate_to_nan(r, vx, vy, m)


def _degenerate_to_nan(r: FloatArray, vx: FloatArray, vy: FloatArray, m: FloatArray) -> FloatArray:
    # A resample with (numerically) constant x or y has no correlation.
    bad = (vx <= 1e-12 * np.abs(m[:, 2])) | (vy <= 1e-12 * np.abs(m[:, 3]))
    return np.where(bad, np.nan, np.clip(r, -1.0, 1.0))
