"""Plain-array helpers the statistics share: missing values, pairing, merging, scales."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]


def factorize(labels: ArrayLike) -> tuple[IntArray, list[Any]]:
    """Integer code per label (first-seen order) and the distinct labels; works for any
    hashable labels, None and mixed types included, in one pass."""
    index: dict[Any, int] = {}
    codes = np.fromiter(
        (index.setdefault(v, len(index)) for v in np.asarray(labels, dtype=object).tolist()),
        dtype=np.intp,
    )
    return codes, list(index)


def as_float(values: ArrayLike) -> FloatArray:
    """Float array; None becomes NaN (missing)."""
    return np.asarray(values, dtype=np.float64)


def paired(*arrays: ArrayLike) -> tuple[list[FloatArray], int]:
    """Keep the items where every array has a value; return them and how many were dropped."""
    arrs = [as_float(a) for a in arrays]
    n = arrs[0].shape[0]
    if any(a.shape != (n,) for a in arrs):
        raise ValueError(f"expected 1-D arrays of equal length, got {[a.shape for a in arrs]}")
    keep = np.ones(n, dtype=bool)
    for a in arrs:
        keep &= ~np.isnan(a)
    return [a[keep] for a in arrs], int(n - keep.sum())


def merge_rows(*columns: ArrayLike) -> tuple[list[NDArray[Any]], IntArray]:
    """Distinct value tuples (one array per column) and each item's tuple code."""
    stacked = np.stack([np.asarray(c, dtype=np.float64) for c in columns], axis=1)
    uniq, codes = np.unique(stacked, axis=0, return_inverse=True)
    return [uniq[:, i] for i in range(uniq.shape[1])], codes.reshape(-1)


def snap(values: ArrayLike, scale: Sequence[float]) -> IntArray:
    """Index of the nearest scale point for each value; halfway values go up (3.5 -> 4),
    values outside the scale go to its ends."""
    points = np.asarray(sorted(scale), dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    pos = np.clip(np.searchsorted(points, v), 1, len(points) - 1)
    lower = points[pos - 1]
    upper = points[pos]
    take_upper = (upper - v) <= (v - lower)
    idx = np.where(take_upper, pos, pos - 1)
    return np.clip(idx, 0, len(points) - 1).astype(np.intp)


def group_sum(counts: FloatArray, groups: IntArray, n_groups: int) -> FloatArray:
    """Sum the columns of a (b, J) count matrix by group label (0..n_groups-1)."""
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    summed = np.add.reduceat(counts[:, order], starts, axis=1)
    if summed.shape[1] == n_groups:
        return summed
    out = np.zeros((counts.shape[0], n_groups))
    out[:, sorted_groups[starts]] = summed
    return out
