"""How far a judge is from humans: correlation, agreement, kappa, alpha, pairwise accuracy.

Every function takes plain arrays (NaN or None = missing), drops the items where either
side is missing, says how many it dropped, and attaches a 95% bootstrap interval that
resamples items. Items are merged by their (judge, human) value pair before resampling,
so on Likert data the bootstrap costs the same at any n.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse, stats

from jurist.stats.bootstrap import (
    Estimate,
    FloatArray,
    IntArray,
    bootstrap_counts,
    clean,
    factorize,
    nan_estimate,
    weighted_pearson,
)

# Above this many distinct (judge, human) pairs Kendall's tau is computed per resample
# with an O(n log n) routine instead of one (b, J) x (J, J) product.
_KENDALL_MATRIX_MAX = 2000

VERDICTS: tuple[str, str, str] = ("A", "B", "tie")


# ---------------------------------------------------------------- inputs


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


# ---------------------------------------------------------------- vectorised kernels


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
    n_resamples: int,
    seed: int,
    confidence: float,
    min_n: int = 2,
) -> Estimate:
    (x, y), n_excluded = paired(judge, human)
    if x.size < min_n:
        return nan_estimate(int(x.size), n_excluded, confidence)
    (ux, uy), codes = merge_rows(x, y)
    return bootstrap_counts(
        lambda c: kernel(c, ux, uy),
        int(x.size),
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
        codes=codes,
        n_excluded=n_excluded,
    )


def pearson(
    judge: ArrayLike,
    human: ArrayLike,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    """Pearson r between judge and human scores."""
    return _estimate_pairs(judge, human, weighted_pearson, n_resamples, seed, confidence, 2)


def spearman(
    judge: ArrayLike,
    human: ArrayLike,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    """Spearman rho; each resample is ranked afresh (ties get average ranks)."""
    return _estimate_pairs(judge, human, weighted_spearman, n_resamples, seed, confidence, 2)


def kendall(
    judge: ArrayLike,
    human: ArrayLike,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    """Kendall tau-b, the tie-corrected variant that suits coarse Likert scales."""
    return _estimate_pairs(judge, human, weighted_kendall, n_resamples, seed, confidence, 2)


def mean_absolute_error(
    judge: ArrayLike,
    human: ArrayLike,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    """Mean |judge - human| on the raw (unrounded) scores."""

    def kernel(c: FloatArray, x: FloatArray, y: FloatArray) -> FloatArray:
        return (c @ np.abs(x - y)) / c.sum(axis=1)

    return _estimate_pairs(judge, human, kernel, n_resamples, seed, confidence, 1)


def _scale_agreement(
    judge: ArrayLike,
    human: ArrayLike,
    scale: Sequence[float],
    tolerance: int,
    n_resamples: int,
    seed: int,
    confidence: float,
) -> Estimate:
    (x, y), n_excluded = paired(judge, human)
    if x.size == 0:
        return nan_estimate(0, n_excluded, confidence)
    hits = (np.abs(snap(x, scale) - snap(y, scale)) <= tolerance).astype(np.float64)
    (uh,), codes = merge_rows(hits)
    return bootstrap_counts(
        lambda c: (c @ uh) / c.sum(axis=1),
        int(x.size),
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
        codes=codes,
        n_excluded=n_excluded,
    )


def exact_agreement(
    judge: ArrayLike,
    human: ArrayLike,
    *,
    scale: Sequence[float],
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    """Share of items where judge and human land on the same scale point.

    Both sides are snapped to the nearest scale point first, so expected scores from
    token probabilities and averaged human ratings are compared on the scale they use.
    """
    return _scale_agreement(judge, human, scale, 0, n_resamples, seed, confidence)


def within_one(
    judge: ArrayLike,
    human: ArrayLike,
    *,
    scale: Sequence[float],
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    """Share of items where judge and human are at most one scale point apart (after
    snapping both to the scale)."""
    return _scale_agreement(judge, human, scale, 1, n_resamples, seed, confidence)


def kappa_weights(n_categories: int, weights: Literal["linear", "quadratic"] | None) -> FloatArray:
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


def _kappa_from_indices(
    a: IntArray,
    b: IntArray,
    n_categories: int,
    weights: Literal["linear", "quadratic"] | None,
    n_resamples: int,
    seed: int,
    confidence: float,
    n_excluded: int,
) -> Estimate:
    if a.size == 0:
        return nan_estimate(0, n_excluded, confidence)
    cells = a * n_categories + b
    uniq_cells, codes = np.unique(cells, return_inverse=True)
    wmat = kappa_weights(n_categories, weights)

    def kernel(counts: FloatArray) -> FloatArray:
        conf = np.zeros((counts.shape[0], n_categories * n_categories))
        conf[:, uniq_cells] = counts
        return kappa_from_confusion(conf.reshape(-1, n_categories, n_categories), wmat)

    return bootstrap_counts(
        kernel,
        int(a.size),
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
        codes=codes.reshape(-1),
        n_excluded=n_excluded,
    )


def cohen_kappa(
    judge: ArrayLike,
    human: ArrayLike,
    *,
    scale: Sequence[float] | None = None,
    weights: Literal["linear", "quadratic"] | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
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
    return _kappa_from_indices(
        a, b, n_categories, weights, n_resamples, seed, confidence, n_excluded
    )


# ---------------------------------------------------------------- Krippendorff's alpha


@dataclass(frozen=True)
class _AlphaSetup:
    n_units: int
    n_excluded: int
    values: FloatArray
    unit_values: sparse.csr_matrix  # (units, V) counts of pairable values
    pair_unit: IntArray
    pair_c: IntArray
    pair_k: IntArray
    pair_w: FloatArray  # 2 / (m_u - 1): both orders of an unordered coder pair


def _alpha_setup(data: ArrayLike) -> _AlphaSetup:
    arr = np.atleast_2d(as_float(data))
    present = ~np.isnan(arr)
    m_u = present.sum(axis=0)
    keep = m_u >= 2
    arr, present, m_u = arr[:, keep], present[:, keep], m_u[keep]
    n_units = arr.shape[1]
    values, inv = np.unique(arr[present], return_inverse=True)
    vidx = np.full(arr.shape, -1, dtype=np.intp)
    vidx[present] = inv.reshape(-1)
    units, cs, ks, ws = [], [], [], []
    for i in range(arr.shape[0]):
        for j in range(i + 1, arr.shape[0]):
            both = np.flatnonzero(present[i] & present[j])
            units.append(both)
            cs.append(vidx[i, both])
            ks.append(vidx[j, both])
            ws.append(2.0 / (m_u[both] - 1.0))
    coder_of, unit_of = np.nonzero(present)
    unit_values = sparse.csr_matrix(
        (np.ones(unit_of.size), (unit_of, vidx[coder_of, unit_of])),
        shape=(n_units, len(values)),
    )
    empty_i = np.zeros(0, dtype=np.intp)
    return _AlphaSetup(
        n_units=n_units,
        n_excluded=int((~keep).sum()),
        values=values,
        unit_values=unit_values,
        pair_unit=np.concatenate(units) if units else empty_i,
        pair_c=np.concatenate(cs) if cs else empty_i,
        pair_k=np.concatenate(ks) if ks else empty_i,
        pair_w=np.concatenate(ws) if ws else np.zeros(0),
    )


def _alpha_kernel(
    setup: _AlphaSetup, level: Literal["ordinal", "interval"]
) -> Callable[[FloatArray], FloatArray]:
    """Alpha for a (b, units) count matrix, via the coincidence-matrix identities.

    Both metrics are squared differences of a per-value position G: the value itself
    (interval), or the value's cumulative pairable count minus half its own count
    (ordinal), which depends on the resample. Observed disagreement then sums over coder
    pairs and expected disagreement is 2 N sum n_c (G_c - mean G)^2, so nothing V x V
    is ever formed.
    """
    if level not in ("ordinal", "interval"):
        raise ValueError(f"level must be 'ordinal' or 'interval', not {level!r}")
    unit_values_t = setup.unit_values.T.tocsr()
    if level == "interval":
        diffs = setup.values[setup.pair_c] - setup.values[setup.pair_k]
        per_unit = np.bincount(
            setup.pair_unit, weights=setup.pair_w * diffs * diffs, minlength=setup.n_units
        )

    def kernel(counts: FloatArray) -> FloatArray:
        n_v = np.asarray(unit_values_t @ counts.T).T  # (b, V)
        total = n_v.sum(axis=1)
        if level == "interval":
            pos = np.broadcast_to(setup.values, n_v.shape)
            observed = counts @ per_unit
        else:
            pos = np.cumsum(n_v, axis=1) - n_v / 2.0
            d = pos[:, setup.pair_c] - pos[:, setup.pair_k]
            observed = (counts[:, setup.pair_unit] * (setup.pair_w * d * d)).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (n_v * pos).sum(axis=1) / total
            centred = pos - mean[:, None]
            expected = 2.0 * total * (n_v * centred * centred).sum(axis=1)
            alpha = 1.0 - (total - 1.0) * observed / expected
        return np.where(expected > 0, alpha, np.nan)

    return kernel


def krippendorff_alpha(
    data: ArrayLike,
    *,
    level: Literal["ordinal", "interval"] = "ordinal",
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    """Krippendorff's alpha for a (coders, units) matrix with NaN for missing ratings.

    Units rated by fewer than two coders carry no pairable values; they are left out
    and counted in `n_excluded`. The interval resamples units.
    """
    setup = _alpha_setup(data)
    if setup.n_units == 0 or setup.values.size < 2:
        return nan_estimate(setup.n_units, setup.n_excluded, confidence)
    return bootstrap_counts(
        _alpha_kernel(setup, level),
        setup.n_units,
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
        n_excluded=setup.n_excluded,
    )


@dataclass(frozen=True)
class AlphaAgreement:
    """Alpha of the judge against each annotator, next to the annotators' own alpha.

    `among_annotators` is the human ceiling: a judge whose alpha with the annotators
    reaches it agrees with them as well as they agree with each other.
    """

    level: str
    judge_vs_annotator: tuple[Estimate, ...]
    among_annotators: Estimate
    judge_with_annotators: Estimate

    def to_dict(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "judge_vs_annotator": [e.to_dict() for e in self.judge_vs_annotator],
            "among_annotators": self.among_annotators.to_dict(),
            "judge_with_annotators": self.judge_with_annotators.to_dict(),
        }


def judge_alpha(
    judge: ArrayLike,
    annotators: ArrayLike,
    *,
    level: Literal["ordinal", "interval"] = "ordinal",
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> AlphaAgreement:
    """Krippendorff's alpha between a judge (n,) and annotators (m, n), NaN = missing.

    `judge_with_annotators` treats the judge as one more coder among the annotators.
    """
    j = as_float(judge)
    ann = np.atleast_2d(as_float(annotators))
    if ann.shape[1] != j.shape[0]:
        raise ValueError(f"annotators must be (m, {j.shape[0]}), got {ann.shape}")
    kw: dict[str, Any] = {
        "level": level,
        "n_resamples": n_resamples,
        "seed": seed,
        "confidence": confidence,
    }
    return AlphaAgreement(
        level=level,
        judge_vs_annotator=tuple(krippendorff_alpha(np.stack([j, a]), **kw) for a in ann),
        among_annotators=krippendorff_alpha(ann, **kw),
        judge_with_annotators=krippendorff_alpha(np.vstack([j[None, :], ann]), **kw),
    )


# ---------------------------------------------------------------- pairwise verdicts


def verdict_codes(verdicts: ArrayLike) -> IntArray:
    """'A' -> 0, 'B' -> 1, 'tie' -> 2, None / NaN / '' -> -1 (failed or missing)."""
    out = []
    for v in np.asarray(verdicts, dtype=object).ravel():
        if v is None or v == "" or (isinstance(v, float) and math.isnan(v)):
            out.append(-1)
        elif v in VERDICTS:
            out.append(VERDICTS.index(v))
        else:
            raise ValueError(f"unknown verdict {v!r}; expected 'A', 'B', 'tie' or None")
    return np.asarray(out, dtype=np.intp)


def _paired_verdicts(first: ArrayLike, second: ArrayLike) -> tuple[IntArray, IntArray, int]:
    a, b = verdict_codes(first), verdict_codes(second)
    if a.shape != b.shape:
        raise ValueError(f"verdict arrays differ in length: {a.size} vs {b.size}")
    keep = (a >= 0) & (b >= 0)
    return a[keep], b[keep], int((~keep).sum())


def _mean_of_codes(
    scores_per_cell: FloatArray,
    cells: IntArray,
    n_excluded: int,
    n_resamples: int,
    seed: int,
    confidence: float,
) -> Estimate:
    if cells.size == 0:
        return nan_estimate(0, n_excluded, confidence)
    uniq, codes = np.unique(cells, return_inverse=True)
    per_code = scores_per_cell[uniq]
    return bootstrap_counts(
        lambda c: (c @ per_code) / c.sum(axis=1),
        int(cells.size),
        n_resamples=n_resamples,
        confidence=confidence,
        seed=seed,
        codes=codes.reshape(-1),
        n_excluded=n_excluded,
    )


def pairwise_accuracy(
    verdicts: ArrayLike,
    labels: ArrayLike,
    *,
    ties: Literal["exclude", "half"] = "exclude",
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    """Share of pairs where the judge's verdict matches the human label.

    ties="exclude": pairs labelled 'tie' are left out (and counted in n_excluded); a judge
    'tie' on a decisive label scores 0, since it failed to pick the better response.
    ties="half": every pair counts; a match scores 1, a tie against a decisive verdict
    (judge tie on an A/B label, or an A/B verdict on a tie label) scores 0.5, and A vs B
    scores 0.
    Failed verdicts and missing labels are always left out and counted.
    """
    v, lab, n_excluded = _paired_verdicts(verdicts, labels)
    score = np.zeros((3, 3))
    np.fill_diagonal(score, 1.0)
    if ties == "exclude":
        decisive = lab != 2
        n_excluded += int((~decisive).sum())
        v, lab = v[decisive], lab[decisive]
    elif ties == "half":
        score[2, :2] = score[:2, 2] = 0.5
    else:
        raise ValueError(f"ties must be 'exclude' or 'half', not {ties!r}")
    return _mean_of_codes(score.ravel(), v * 3 + lab, n_excluded, n_resamples, seed, confidence)


def pairwise_kappa(
    verdicts: ArrayLike,
    labels: ArrayLike,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    """Unweighted Cohen's kappa between verdicts and labels on {A, B, tie}."""
    v, lab, n_excluded = _paired_verdicts(verdicts, labels)
    return _kappa_from_indices(v, lab, 3, None, n_resamples, seed, confidence, n_excluded)


def position_consistency(
    verdict_ab: ArrayLike,
    verdict_ba: ArrayLike,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Estimate:
    """Share of pairs whose verdict survives swapping the two responses.

    Both arrays use the original labels: `verdict_ba` is the swapped presentation mapped
    back (as in PairVerdict), so a consistent judge gives equal verdicts.
    """
    ab, ba, n_excluded = _paired_verdicts(verdict_ab, verdict_ba)
    same = np.eye(3).ravel()
    return _mean_of_codes(same, ab * 3 + ba, n_excluded, n_resamples, seed, confidence)


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts of human labels (rows) against judge verdicts (columns)."""

    labels: tuple[str, ...]
    counts: tuple[tuple[int, ...], ...]
    n: int
    n_excluded: int

    def as_array(self) -> NDArray[np.int64]:
        return np.asarray(self.counts, dtype=np.int64)

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels),
            "counts": [list(r) for r in self.counts],
            "n": self.n,
            "n_excluded": self.n_excluded,
        }


def pairwise_confusion(verdicts: ArrayLike, labels: ArrayLike) -> ConfusionMatrix:
    """Human label x judge verdict counts on {A, B, tie}; failed verdicts are counted apart."""
    v, lab, n_excluded = _paired_verdicts(verdicts, labels)
    counts = np.zeros((3, 3), dtype=np.int64)
    np.add.at(counts, (lab, v), 1)
    return ConfusionMatrix(
        labels=VERDICTS,
        counts=tuple(tuple(int(c) for c in row) for row in counts),
        n=int(v.size),
        n_excluded=n_excluded,
    )


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
