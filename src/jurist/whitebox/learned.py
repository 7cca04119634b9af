"""Learned estimators over per-item feature arrays: LAGER layer weights on every layer's
score distribution, and a ridge probe on one layer's hidden state.

Each holds the arrays of every item but fits only on the items it is handed (`fit(train)`),
so whoever splits the items (`jurist tune`'s nested folds, `jurist calibrate`'s grouped
folds) decides what a fit may see; `predict(fitted, index)` reads the fitted model on other
items. The probe chooses its layer and penalty by grouped CV inside the training items, so
that choice never sees a held-out label either. Fits are memoised per training set: nested
CV asks for the same one more than once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from jurist.whitebox.lager import LagerWeights, fit_lager
from jurist.whitebox.layers import Lens
from jurist.whitebox.probe import Probe, cross_validated, fit_probe

__all__ = [
    "ALPHAS",
    "LEARNED",
    "LagerEstimator",
    "Learned",
    "ProbeEstimator",
    "out_of_fold",
    "rank_correlation",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.intp]
LEARNED = ("lager", "probe")
ALPHAS = (10.0, 100.0, 1000.0)


class Learned(Protocol):
    """An estimator fitted on some items' features and labels, read on others'."""

    name: str
    labels: FloatArray

    def fit(self, train: IntArray) -> Any: ...

    def predict(self, fitted: Any, index: IntArray) -> FloatArray: ...


def _usable(features: NDArray[Any], labels: FloatArray, index: IntArray) -> IntArray:
    """`index`'s items with a label and every feature known."""
    rows = features[index].reshape(index.size, int(np.prod(features.shape[1:])))
    keep = ~np.isnan(labels[index]) & ~np.isnan(rows).any(axis=1)
    return index[keep]


def _memoised(
    memo: dict[bytes, Any], rows: IntArray, minimum: int, fit: Callable[[IntArray], Any]
) -> Any:
    """One fit per distinct set of usable rows (nested CV asks for the same training set
    again and again); None when fewer than `minimum` rows are usable."""
    key = rows.tobytes()
    if key not in memo:
        memo[key] = fit(rows) if rows.size >= minimum else None
    return memo[key]


def _midranks(x: FloatArray) -> FloatArray:
    """Ranks from 1, ties sharing their mean rank."""
    _, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2.0)[inverse]


def rank_correlation(a: FloatArray, b: FloatArray) -> float:
    """Spearman's rho on the items where both are known (NaN when either is constant)."""
    keep = ~(np.isnan(a) | np.isnan(b))
    if keep.sum() < 3 or np.ptp(a[keep]) == 0 or np.ptp(b[keep]) == 0:
        return float("nan")
    return float(np.corrcoef(_midranks(a[keep]), _midranks(b[keep]))[0, 1])


@dataclass(frozen=True, eq=False)
class LagerEstimator:
    """`logits`: (items, layers, choices) per-layer log-probabilities (or logits) of the
    score points; NaN rows where an item has none."""

    logits: FloatArray
    labels: FloatArray
    points: tuple[float, ...]
    lens: Lens = "norm"
    steps: int = 300
    name: str = "lager"
    _memo: dict[bytes, LagerWeights | None] = field(default_factory=dict, repr=False)

    def fit(self, train: IntArray) -> LagerWeights | None:
        rows = _usable(self.logits, self.labels, np.asarray(train, dtype=np.intp))
        return _memoised(self._memo, rows, 2, self._fit)

    def _fit(self, rows: IntArray) -> LagerWeights:
        return fit_lager(
            self.logits[rows], self.labels[rows], self.points, lens=self.lens, steps=self.steps
        )

    def predict(self, fitted: LagerWeights | None, index: IntArray) -> FloatArray:
        if fitted is None:
            return np.full(len(index), np.nan)
        return fitted.expected(self.logits[index], self.points)


@dataclass(frozen=True, eq=False)
class ProbeEstimator:
    """`hidden`: (items, layers + 1, hidden size) states at the score position; `groups`:
    one code per item, so the layer is chosen by CV that keeps each group whole."""

    hidden: NDArray[np.floating[Any]]
    labels: FloatArray
    groups: IntArray
    alphas: tuple[float, ...] = ALPHAS
    folds: int = 4
    seed: int = 0
    name: str = "probe"
    _memo: dict[bytes, Probe | None] = field(default_factory=dict, repr=False)

    def fit(self, train: IntArray) -> Probe | None:
        rows = _usable(self.hidden, self.labels, np.asarray(train, dtype=np.intp))
        return _memoised(self._memo, rows, 3, self._fit)

    def _fit(self, rows: IntArray) -> Probe:
        """The layer and penalty whose grouped out-of-fold predictions on `rows` rank them
        best, refitted on all of `rows`; the last layer when `rows` span too few groups."""
        y, groups = self.labels[rows], self.groups[rows]
        n_folds = min(self.folds, np.unique(groups).size)
        layer, alpha = self.hidden.shape[1] - 1, self.alphas[len(self.alphas) // 2]
        if n_folds >= 2:
            best = -np.inf
            for at in range(1, self.hidden.shape[1]):
                x = self.hidden[rows, at]
                for a in self.alphas:
                    oof = cross_validated(x, y, groups, n_folds=n_folds, alpha=a, seed=self.seed)
                    rho = np.nan_to_num(rank_correlation(oof, y), nan=-2.0)
                    if rho > best:
                        best, layer, alpha = rho, at, a
        return fit_probe(self.hidden[rows, layer], y, alpha=alpha, layer=layer)

    def predict(self, fitted: Probe | None, index: IntArray) -> FloatArray:
        if fitted is None:
            return np.full(len(index), np.nan)
        x = np.asarray(self.hidden[index, fitted.layer], dtype=np.float64)
        out = fitted.predict(np.nan_to_num(x)).astype(np.float64)
        out[np.isnan(x).any(axis=1)] = np.nan
        return out


def out_of_fold(estimator: Learned, folds: Sequence[IntArray]) -> FloatArray:
    """Each fold's items predicted by a fit on the other folds' items only (NaN for items
    in no fold)."""
    out = np.full(len(estimator.labels), np.nan)
    everyone = np.concatenate(folds) if folds else np.empty(0, dtype=np.intp)
    for test in folds:
        fitted = estimator.fit(np.setdiff1d(everyone, test))
        out[test] = estimator.predict(fitted, test)
    return out
