"""Held-out agreement with people, with intervals from resampling whole groups.

Four figures per criterion: Spearman pooled over all items, Spearman within group (the
mean over groups, e.g. SummEval's summaries of one document), mean absolute error, and
pairwise accuracy (of two items in one group whose labels differ, how often the judge
orders them the same way; a judge tie counts half). Groups are resampled, never items, so
items that share a source share their luck; a within-group figure treats a group where the
judge gave every item the same score as rho = 0 (it ordered nothing), not as missing.

Every figure of one call is computed on the same resamples, so differences between two
scorings (tuned minus default) are paired.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, ConfigDict

from jurist.core.lazy import lazy
from jurist.stats.agreement import weighted_spearman
from jurist.stats.arrays import FloatArray, IntArray, factorize
from jurist.stats.bootstrap import draw, percentile_interval, tally
from jurist.stats.results import Figure

stats = lazy("scipy.stats")

__all__ = ["METRICS", "Agreement", "Resamples", "agreement_reps", "criterion_reps", "summarise"]

METRICS = ("pooled", "within", "mae", "pairwise")
MEAN = "mean"  # the figures averaged over criteria
SCORED = "n"  # items with both a score and a label (for the mean: the fewest of any criterion)
Reps = dict[str, FloatArray]  # metric -> (B + 1,) values, row 0 the sample itself


class Agreement(BaseModel):
    """One scoring's held-out figures (or a paired difference of two)."""

    model_config = ConfigDict(extra="forbid")

    pooled: Figure
    within: Figure
    mae: Figure
    pairwise: Figure


@dataclass(frozen=True)
class Resamples:
    """Group resamples shared by every figure of a comparison: row 0 counts each group
    once (the sample itself), the other rows are bootstrap draws of whole groups."""

    codes: IntArray  # each item's group
    counts: FloatArray  # (B + 1, n_groups)
    grouped: bool

    @classmethod
    def of(
        cls, groups: ArrayLike | None, n: int, n_resamples: int = 1000, seed: int = 0
    ) -> Resamples:
        grouped = groups is not None
        codes = factorize(groups)[0] if grouped else np.arange(n, dtype=np.intp)
        n_groups = int(codes.max(initial=-1)) + 1
        rng = np.random.default_rng(seed)
        drawn = tally(draw(rng, n_groups, n_resamples, n_groups), n_groups)
        return cls(codes, np.vstack([np.ones((1, n_groups)), drawn]), grouped)


def _rank_rho(x: FloatArray, y: FloatArray) -> float:
    if np.ptp(y) == 0:
        return np.nan  # people did not order these items: nothing to agree with
    if np.ptp(x) == 0:
        return 0.0
    return float(np.corrcoef(stats.rankdata(x), stats.rankdata(y))[0, 1])


def _concordance(x: FloatArray, y: FloatArray) -> tuple[float, float]:
    """(credit, pairs) over the pairs whose labels differ."""
    dx = np.sign(x[:, None] - x[None, :])
    dy = np.sign(y[:, None] - y[None, :])
    upper = np.triu(dy != 0, k=1)
    credit = np.where(dx == dy, 1.0, np.where(dx == 0, 0.5, 0.0))
    return float(credit[upper].sum()), float(upper.sum())


def _per_group(x: FloatArray, y: FloatArray, codes: IntArray, n_groups: int) -> FloatArray:
    """Per group: rho (0 when undefined), rho defined?, |error| sum, n, credit, pairs."""
    out = np.zeros((6, n_groups))
    for g in np.unique(codes):
        mask = codes == g
        gx, gy = x[mask], y[mask]
        rho = _rank_rho(gx, gy) if gx.size > 1 else np.nan
        out[:, g] = (
            0.0 if np.isnan(rho) else rho, float(not np.isnan(rho)),
            float(np.abs(gx - gy).sum()), float(gx.size), *_concordance(gx, gy),
        )  # fmt: skip
    return out


def _ratio(top: FloatArray, bottom: FloatArray) -> FloatArray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)


def criterion_reps(predicted: ArrayLike, labels: ArrayLike, rs: Resamples) -> Reps:
    """Each metric on the sample and on every resample (items without a prediction or a
    label are left out)."""
    x = np.asarray(predicted, dtype=np.float64)
    y = np.asarray(labels, dtype=np.float64)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y, codes = x[keep], y[keep], rs.codes[keep]
    n_groups = rs.counts.shape[1]
    parts = _per_group(x, y, codes, n_groups) @ rs.counts.T  # (6, B + 1)
    items = rs.counts[:, codes]
    pooled = weighted_spearman(items, x, y) if x.size > 1 else np.full(len(items), np.nan)
    reps: Reps = {"pooled": pooled, "mae": _ratio(parts[2], parts[3])}
    reps[SCORED] = np.full(len(items), float(x.size))
    if rs.grouped:
        reps["within"] = _ratio(parts[0], parts[1])
        reps["pairwise"] = _ratio(parts[4], parts[5])
    else:  # items are their own groups: pairs are taken across the whole sample
        credit, pairs = _pair_matrices(x, y)
        reps["within"] = np.full(len(items), np.nan)
        reps["pairwise"] = _ratio(
            np.einsum("bi,ij,bi->b", items, credit, items),
            np.einsum("bi,ij,bi->b", items, pairs, items),
        )
    return reps


def _pair_matrices(x: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    dx = np.sign(x[:, None] - x[None, :])
    dy = np.sign(y[:, None] - y[None, :])
    pairs = np.triu(dy != 0, k=1).astype(np.float64)
    credit = np.where(dx == dy, 1.0, np.where(dx == 0, 0.5, 0.0)) * pairs
    return credit, pairs


def agreement_reps(
    predicted: Mapping[str, ArrayLike], labels: Mapping[str, ArrayLike], rs: Resamples
) -> dict[str, Reps]:
    """Per criterion, and their mean under `MEAN`, every metric's replicates."""
    found = {c: criterion_reps(predicted[c], labels[c], rs) for c in predicted}
    if found:
        parts = list(found.values())
        mean = {m: np.mean([r[m] for r in parts], axis=0) for m in METRICS}
        mean[SCORED] = np.min([r[SCORED] for r in parts], axis=0)
        found[MEAN] = mean
    return found


def summarise(reps: Reps, baseline: Reps | None = None) -> Agreement:
    """Figures from replicates (minus `baseline`'s on the same resamples: a paired
    difference, on the items both scored)."""
    n = int(reps[SCORED][0] if baseline is None else min(reps[SCORED][0], baseline[SCORED][0]))
    figures = {}
    for metric in METRICS:
        values = reps[metric] - baseline[metric] if baseline is not None else reps[metric]
        point, rest = float(values[0]), values[1:]
        if np.isnan(point) or np.isnan(rest).all():
            figures[metric] = Figure(value=None if np.isnan(point) else point, n=n)
            continue
        low, high = percentile_interval(rest[~np.isnan(rest)])
        figures[metric] = Figure(value=point, low=float(low), high=float(high), n=n)
    return Agreement(**figures)
