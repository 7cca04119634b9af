"""Learned heads: a regularised linear map from the judge's hidden state at the score position
to the human label — ridge for Likert scores, logistic for yes/no and pairwise — fitted with
cross-validation grouped by source document, so no document is seen on both sides."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from jurist.whitebox.records import load_records, save_records

Kind = Literal["ridge", "logistic"]
FloatArray = NDArray[np.float64]


def grouped_folds(
    groups: Sequence[Hashable], n_folds: int, seed: int = 0
) -> list[tuple[NDArray[np.intp], NDArray[np.intp]]]:
    """(train, test) index pairs with every group wholly on one side; groups are shuffled
    and dealt to folds in turn so fold sizes stay close."""
    keys = sorted({str(g) for g in groups})
    if n_folds < 2 or n_folds > len(keys):
        raise ValueError(f"{n_folds} folds need between 2 and {len(keys)} groups")
    order = np.random.default_rng(seed).permutation(len(keys))
    fold_of = {keys[k]: i % n_folds for i, k in enumerate(order)}
    labels = np.array([fold_of[str(g)] for g in groups])
    folds = []
    for fold in range(n_folds):
        test = np.flatnonzero(labels == fold)
        train = np.flatnonzero(labels != fold)
        train_groups = {str(groups[i]) for i in train}
        assert not train_groups & {str(groups[i]) for i in test}, "a group on both sides"
        folds.append((train, test))
    return folds


@dataclass(frozen=True)
class Probe:
    """A fitted linear head on standardised features: value = (x - mean) / scale @ coef + b
    (for `logistic`, the probability of the positive class is sigmoid(value))."""

    kind: Kind
    layer: int
    pooling: str
    alpha: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    fitted_on: int = 0

    def decision(self, features: ArrayLike) -> FloatArray:
        x = np.atleast_2d(np.asarray(features, dtype=np.float64))
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return np.asarray(z @ np.asarray(self.coef) + self.intercept)

    def predict(self, features: ArrayLike) -> FloatArray:
        value = self.decision(features)
        return 1.0 / (1.0 + np.exp(-value)) if self.kind == "logistic" else value


def _standardise(x: FloatArray) -> tuple[FloatArray, FloatArray]:
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    return mean, np.where(scale > 1e-12, scale, 1.0)


def _ridge(z: FloatArray, y: FloatArray, alpha: float) -> tuple[FloatArray, float]:
    """Closed form on centred data (the intercept is not penalised)."""
    y_mean = float(y.mean())
    n, d = z.shape
    if d > n:  # the dual form solves an n x n system instead of d x d
        dual = np.linalg.solve(z @ z.T + alpha * np.eye(n), y - y_mean)
        return z.T @ dual, y_mean
    coef = np.linalg.solve(z.T @ z + alpha * np.eye(d), z.T @ (y - y_mean))
    return coef, y_mean


def _logistic(z: FloatArray, y: FloatArray, alpha: float) -> tuple[FloatArray, float]:
    """L2-penalised log-loss (intercept unpenalised), minimised with L-BFGS."""
    from scipy.optimize import minimize

    def loss(params: FloatArray) -> tuple[float, FloatArray]:
        w, b = params[:-1], params[-1]
        margin = z @ w + b
        p = 1.0 / (1.0 + np.exp(-margin))
        value = np.logaddexp(0.0, margin).sum() - y @ margin + 0.5 * alpha * w @ w
        residual = p - y
        return float(value), np.concatenate([z.T @ residual + alpha * w, [residual.sum()]])

    start = np.zeros(z.shape[1] + 1)
    result = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return result.x[:-1], float(result.x[-1])


def fit_probe(
    features: ArrayLike,
    labels: ArrayLike,
    *,
    kind: Kind = "ridge",
    alpha: float = 100.0,
    layer: int = -1,
    pooling: str = "last",
) -> Probe:
    """Fit one head; `labels` are scores for ridge, 0/1 for logistic."""
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    if x.ndim != 2 or len(x) != len(y) or len(y) < 2:
        raise ValueError("features must be (items, dims) with one label per item, 2 or more")
    if kind == "logistic" and not set(np.unique(y)) <= {0.0, 1.0}:
        raise ValueError("logistic labels must be 0 or 1")
    mean, scale = _standardise(x)
    z = (x - mean) / scale
    coef, intercept = (_ridge if kind == "ridge" else _logistic)(z, y, alpha)
    return Probe(
        kind,
        layer,
        pooling,
        alpha,
        tuple(map(float, mean)),
        tuple(map(float, scale)),
        tuple(map(float, coef)),
        float(intercept),
        len(y),
    )


def cross_validated(
    features: ArrayLike,
    labels: ArrayLike,
    groups: Sequence[Hashable],
    *,
    n_folds: int = 5,
    kind: Kind = "ridge",
    alpha: float = 100.0,
    seed: int = 0,
) -> FloatArray:
    """Out-of-fold predictions: every item predicted by a head that never saw its group."""
    x = np.asarray(features, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    out = np.full(len(y), np.nan)
    for train, test in grouped_folds(groups, n_folds, seed):
        out[test] = fit_probe(x[train], y[train], kind=kind, alpha=alpha).predict(x[test])
    return out


@dataclass
class ProbeFile:
    """Heads per criterion id, the JSON saved beside the model."""

    model: str
    criteria: dict[str, Probe] = field(default_factory=dict)
    report: dict[str, dict[str, float]] = field(default_factory=dict)

    def save(self, path: str | Path) -> Path:
        return save_records(path, self.model, self.criteria, extra={"report": self.report})

    @classmethod
    def load(cls, path: str | Path) -> ProbeFile:
        model, criteria, payload = load_records(path, "probe", _probe)
        return cls(model, criteria, dict(payload.get("report", {})))


def _probe(value: dict[str, Any]) -> Probe:
    return Probe(**{**value, **{k: tuple(value[k]) for k in ("mean", "scale", "coef")}})
