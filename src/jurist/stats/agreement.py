"""How far a judge is from humans on scores: correlation, agreement on the scale, MAE.

Every function takes plain arrays (NaN or None = missing), drops the items where either
side is missing and says how many it dropped. Correlations and MAE carry a 95% bootstrap
interval that resamples items; items are merged by their (judge, human) value pair before
resampling, so on Likert data the bootstrap costs the same at any n. Agreement rates carry
Wilson intervals. Kappa, alpha and pairwise verdicts live in their own modules and are
re-exported here for their older import path.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, Unpack

import numpy as np
from numpy.typing import ArrayLike

from jurist.core.lazy import lazy
from jurist.stats.alpha import AlphaAgreement as AlphaAgreement
from jurist.stats.alpha import judge_alpha as judge_alpha
from jurist.stats.alpha import krippendorff_alpha as krippendorff_alpha
from jurist.stats.arrays import FloatArray, factorize, group_sum
from jurist.stats.arrays import as_float as as_float
from jurist.stats.arrays import merge_rows as merge_rows
from jurist.stats.arrays import paired as paired
from jurist.stats.arrays import snap as snap
from jurist.stats.bootstrap import bootstrap_counts, weighted_pearson
from jurist.stats.kappa import cohen_kappa as cohen_kappa
from jurist.stats.kappa import kappa_from_confusion as kappa_from_confusion
from jurist.stats.kappa import kappa_weights as kappa_weights
from jurist.stats.pairwise import VERDICTS as VERDICTS
from jurist.stats.pairwise import ConfusionMatrix as ConfusionMatrix
from jurist.stats.pairwise import pairwise_accuracy as pairwise_accuracy
from jurist.stats.pairwise import pairwise_confusion as pairwise_confusion
from jurist.stats.pairwise import pairwise_kappa as pairwise_kappa
from jurist.stats.pairwise import position_consistency as position_consistency
from jurist.stats.pairwise import verdict_codes as verdict_codes
from jurist.stats.proportion import proportion
from jurist.stats.resampling import Resampling, resampling
from jurist.stats.results import Estimate, clean, nan_estimate

stats = lazy("scipy.stats")

# Above this many distinct (judge, human) pairs Kendall's tau is computed per resample
# with an O(n log n) routine instead of one (b, J) x (J, J) product.
_KENDALL_MATRIX_MAX = 2000


# ---------------------------------------------------------------- vectorised kernels


def weighted_midranks(counts: FloatArray, values: ArrayLike) -> FloatArray:
    """Average (tie-aware) rank of each column's value within each resample.

    A resample that holds an item w times holds w tied copies, so the rank of a value is
    the number of drawn items below it plus the middle of its own block of copies.
    """
    uniq, inv = np.unique(np.asarray(values, dtype=np.float64), return_inverse=True)
    per_value = group_sum(counts, inv, len(uniq))
    mid = np.cumsum(per_value, axis=1) - (per_value - 1.0) / 2.0
    return mid[:, inv]


def row_pearson(counts: FloatArray, x: FloatArray, y: FloatArray) -> FloatArray:
    """Pearson r per resample for values that differ between resamples (ranks), (b, J)."""
    total = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = (counts * x).sum(axis=1) / total
        my = (counts * y).sum(axis=1) / total
        xc = x - mx[:, None]
        yc = y - my[:, None]
        vx = (counts * xc * xc).sum(axis=1)
        vy = (counts * yc * yc).sum(axis=1)
        r = (counts * xc * yc).sum(axis=1) / np.sqrt(vx * vy)
    return np.where((vx <= 0) | (vy <= 0), np.nan, np.clip(r, -1.0, 1.0))


def weighted_spearman(counts: FloatArray, x: ArrayLike, y: ArrayLike) -> FloatArray:
    """Spearman rho in each resample: Pearson r of the ranks within that resample."""
    return row_pearson(counts, weighted_midranks(counts, x), weighted_midranks(counts, y))


def _tie_pairs(counts: FloatArray, values: ArrayLike) -> FloatArray:
    uniq, inv = np.unique(np.asarray(values, dtype=np.float64), return_inverse=True)
    per_value = group_sum(counts, inv, len(uniq))
    return ((per_value * per_value).sum(axis=1) - counts.sum(axis=1)) / 2.0


def weighted_kendall(counts: FloatArray, x: ArrayLike, y: ArrayLike) -> FloatArray:
    """Kendall tau-b in each resample; columns are items or merged (x, y) pairs.

    Copies of one pair are tied on both sides and add nothing to the concordance sum, so
    S = w' C w / 2 with C[j, k] = sign(x_j - x_k) sign(y_j - y_k), and the tie terms come
    from per-value counts.
    """
    xv = np.asarray(x, dtype=np.float64)
    yv = np.asarray(y, dtype=np.float64)
    total = counts.sum(axis=1)
    n0 = total * (total - 1.0) / 2.0
    tx = _tie_pairs(counts, xv)
    ty = _tie_pairs(counts, yv)
    if xv.size <= _KENDALL_MATRIX_MAX:
        concord = np.sign(xv[:, None] - xv[None, :]) * np.sign(yv[:, None] - yv[None, :])
        s = ((counts @ concord) * counts).sum(axis=1) / 2.0
        with np.errstate(invalid="ignore", divide="ignore"):
            tau = s / np.sqrt((n0 - tx) * (n0 - ty))
        return np.where((n0 - tx <= 0) | (n0 - ty <= 0), np.nan, np.clip(tau, -1.0, 1.0))
    out = np.empty(counts.shape[0])
    for i, row in enumerate(counts):
        reps = row.astype(np.intp)
        res = stats.kendalltau(np.repeat(xv, reps), np.repeat(yv, reps), variant="b")
        out[i] = res.statistic
    return out


# ---------------------------------------------------------------- score agreement


def _estimate_pairs(
    judge: ArrayLike,
    human: ArrayLike,
    kernel: Callable[[FloatArray, FloatArray, FloatArray], FloatArray],
    min_n: int,
    options: Resampling,
) -> Estimate:
    kw = resampling(options)
    (x, y), n_excluded = paired(judge, human)
    if x.size < min_n:
        return nan_estimate(int(x.size), n_excluded, kw["confidence"])
    (ux, uy), codes = merge_rows(x, y)
    return bootstrap_counts(
        lambda c: kernel(c, ux, uy), int(x.size), codes=codes, n_excluded=n_excluded, **kw
    )


def pearson(judge: ArrayLike, human: ArrayLike, **options: Unpack[Resampling]) -> Estimate:
    """Pearson r between judge and human scores."""
    return _estimate_pairs(judge, human, weighted_pearson, 2, options)


def spearman(judge: ArrayLike, human: ArrayLike, **options: Unpack[Resampling]) -> Estimate:
    """Spearman rho; each resample is ranked afresh (ties get average ranks)."""
    return _estimate_pairs(judge, human, weighted_spearman, 2, options)


def kendall(judge: ArrayLike, human: ArrayLike, **options: Unpack[Resampling]) -> Estimate:
    """Kendall tau-b, the tie-corrected variant that suits coarse Likert scales."""
    return _estimate_pairs(judge, human, weighted_kendall, 2, options)


def _absolute_error(c: FloatArray, x: FloatArray, y: FloatArray) -> FloatArray:
    return (c @ np.abs(x - y)) / c.sum(axis=1)


def mean_absolute_error(
    judge: ArrayLike, human: ArrayLike, **options: Unpack[Resampling]
) -> Estimate:
    """Mean |judge - human| on the raw (unrounded) scores."""
    return _estimate_pairs(judge, human, _absolute_error, 1, options)


def _scale_agreement(
    judge: ArrayLike,
    human: ArrayLike,
    scale: Sequence[float],
    tolerance: int,
    options: Resampling,
) -> Estimate:
    confidence = resampling(options)["confidence"]
    (x, y), n_excluded = paired(judge, human)
    hits = int((np.abs(snap(x, scale) - snap(y, scale)) <= tolerance).sum())
    return proportion(hits, int(x.size), n_excluded=n_excluded, confidence=confidence)


def exact_agreement(
    judge: ArrayLike,
    human: ArrayLike,
    *,
    scale: Sequence[float],
    **options: Unpack[Resampling],
) -> Estimate:
    """Share of items where judge and human land on the same scale point (Wilson interval).

    Both sides are snapped to the nearest scale point first, so expected scores from
    token probabilities and averaged human ratings are compared on the scale they use.
    """
    return _scale_agreement(judge, human, scale, 0, options)


def within_one(
    judge: ArrayLike,
    human: ArrayLike,
    *,
    scale: Sequence[float],
    **options: Unpack[Resampling],
) -> Estimate:
    """Share of items where judge and human are at most one scale point apart (after
    snapping both to the scale), with a Wilson interval."""
    return _scale_agreement(judge, human, scale, 1, options)


# ---------------------------------------------------------------- per-group breakdown


def by_group(
    statistic: Callable[..., Any],
    groups: ArrayLike,
    *arrays: ArrayLike,
    **kwargs: Any,
) -> dict[Hashable, Any]:
    """Apply `statistic(*arrays, **kwargs)` within each group.

    Arrays are split along their last axis, so (m, n) annotator matrices work too. Every
    result carries its own n; groups are returned in sorted order.
    """
    codes, keys = factorize(groups)
    arrs = [np.asarray(a) for a in arrays]
    for a in arrs:
        if a.shape[-1] != codes.size:
            raise ValueError(f"array with {a.shape[-1]} items for {codes.size} group labels")
    order = sorted(range(len(keys)), key=lambda k: (keys[k] is None, str(keys[k])))
    out: dict[Hashable, Any] = {}
    for k in order:
        mask = codes == k
        out[keys[k]] = statistic(*(a[..., mask] for a in arrs), **kwargs)
    return out


def results_to_dict(results: dict[Hashable, Any]) -> dict[str, Any]:
    """JSON-ready form of a by_group result."""
    return {str(k): v.to_dict() if hasattr(v, "to_dict") else clean(v) for k, v in results.items()}
