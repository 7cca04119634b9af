"""Known judge biases, measured: position, verbosity, self-preference and scale use.

Each measure is stated so that its null value is obvious (0.5 first-slot rate, zero
correlation, zero gap) and carries an interval (Wilson for simple rates, bootstrap
otherwise), so a bias is only claimed when the interval excludes the null.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Unpack

import numpy as np
from numpy.typing import ArrayLike

from jurist.core.lazy import lazy
from jurist.stats.agreement import row_pearson, weighted_midranks, weighted_spearman
from jurist.stats.arrays import FloatArray, IntArray, as_float, factorize, merge_rows, paired, snap
from jurist.stats.bootstrap import (
    bootstrap_counts,
    count_replicates,
    percentile_interval,
    weighted_mean,
)
from jurist.stats.compare import fmt_interval
from jurist.stats.pairwise import verdict_codes
from jurist.stats.proportion import proportion
from jurist.stats.resampling import Resampling, resampling
from jurist.stats.results import Described, Estimate, Result, nan_estimate

stats = lazy("scipy.stats")

# ---------------------------------------------------------------- position


@dataclass(frozen=True)
class PositionBias(Result):
    """`first_slot_rate`: share of decisive verdicts (both orders pooled) that picked the
    response shown first; 0.5 means no position preference. `flip_rate`: share of pairs
    whose verdict changes when the responses are swapped."""

    first_slot_rate: Estimate
    flip_rate: Estimate
    n: int
    n_excluded: int


def position_bias(
    verdict_ab: ArrayLike, verdict_ba: ArrayLike, **options: Unpack[Resampling]
) -> PositionBias:
    """Position preference from both presentation orders of each pair.

    `verdict_ba` is the swapped presentation mapped back to the original labels (as in
    PairVerdict), so in that order the first slot held response B. Pairs missing either
    verdict are left out and counted. The first-slot rate pools both orders of a pair, so
    its bootstrap resamples pairs, keeping the two together; the flip rate is a share of
    pairs with a Wilson interval.
    """
    kw = resampling(options)
    ab, ba = verdict_codes(verdict_ab), verdict_codes(verdict_ba)
    if ab.shape != ba.shape:
        raise ValueError("verdict_ab and verdict_ba differ in length")
    keep = (ab >= 0) & (ba >= 0)
    n_excluded = int((~keep).sum())
    ab, ba = ab[keep], ba[keep]
    n = int(ab.size)
    if n == 0:
        empty = nan_estimate(0, n_excluded, kw["confidence"])
        return PositionBias(empty, empty, 0, n_excluded)
    cells = ab * 3 + ba
    uniq, codes = np.unique(cells, return_inverse=True)
    cab, cba = uniq // 3, uniq % 3
    first = (cab == 0).astype(float) + (cba == 1)
    decisive = (cab != 2).astype(float) + (cba != 2)
    flips = int((ab != ba).sum())

    def first_rate(c: FloatArray) -> FloatArray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return (c @ first) / (c @ decisive)

    return PositionBias(
        first_slot_rate=bootstrap_counts(
            first_rate, n, codes=codes.reshape(-1), n_excluded=n_excluded, **kw
        ),
        flip_rate=proportion(flips, n, n_excluded=n_excluded, confidence=kw["confidence"]),
        n=n,
        n_excluded=n_excluded,
    )


# ---------------------------------------------------------------- verbosity


def partial_spearman(
    x: ArrayLike,
    y: ArrayLike,
    control: ArrayLike,
    **options: Unpack[Resampling],
) -> Estimate:
    """Spearman correlation of x and y with `control` held fixed.

    This is the correlation of the residuals of rank(x) and rank(y) after regressing
    each on rank(control); it is computed as (r_xy - r_xc r_yc) / sqrt((1 - r_xc^2)
    (1 - r_yc^2)) on the ranks, which is the same number. Each resample is re-ranked.
    """
    kw = resampling(options)
    (xv, yv, cv), n_excluded = paired(x, y, control)
    if xv.size < 4:
        return nan_estimate(int(xv.size), n_excluded, kw["confidence"])
    (ux, uy, uc), codes = merge_rows(xv, yv, cv)

    def kernel(counts: FloatArray) -> FloatArray:
        rx = weighted_midranks(counts, ux)
        ry = weighted_midranks(counts, uy)
        rc = weighted_midranks(counts, uc)
        r_xy = row_pearson(counts, rx, ry)
        r_xc = row_pearson(counts, rx, rc)
        r_yc = row_pearson(counts, ry, rc)
        with np.errstate(invalid="ignore", divide="ignore"):
            partial = (r_xy - r_xc * r_yc) / np.sqrt((1 - r_xc**2) * (1 - r_yc**2))
        return np.clip(partial, -1.0, 1.0)

    return bootstrap_counts(kernel, int(xv.size), codes=codes, n_excluded=n_excluded, **kw)


@dataclass(frozen=True)
class VerbosityBias(Result):
    """Rank correlation of judged score with length, raw and with the human label held
    fixed. A judge that only tracks quality has partial correlation near 0 even when
    longer answers really are better."""

    spearman: Estimate
    partial: Estimate | None


def verbosity_bias(
    scores: ArrayLike,
    lengths: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    **options: Unpack[Resampling],
) -> VerbosityBias:
    """Spearman(score, length) and, with human `labels`, the partial Spearman controlling
    for them. With labels both figures use the same items (all three present).

    For pairs, pass the judge's preference for A (e.g. P(A) or 1/0.5/0) as `scores` and
    length(A) - length(B) as `lengths`.
    """
    kw = resampling(options)
    if labels is None:
        (s, ln), n_excluded = paired(scores, lengths)
        partial = None
    else:
        (s, ln, lab), n_excluded = paired(scores, lengths, labels)
        partial = partial_spearman(s, ln, lab, **kw)
        partial = _with_excluded(partial, n_excluded)
    if s.size < 3:
        return VerbosityBias(nan_estimate(int(s.size), n_excluded, kw["confidence"]), partial)
    (us, ul), codes = merge_rows(s, ln)
    rho = bootstrap_counts(
        lambda c: weighted_spearman(c, us, ul),
        int(s.size),
        codes=codes,
        n_excluded=n_excluded,
        **kw,
    )
    return VerbosityBias(rho, partial)


def _with_excluded(e: Estimate, n_excluded: int) -> Estimate:
    return Estimate(e.value, e.low, e.high, e.n, n_excluded, e.se, e.confidence)


@dataclass(frozen=True)
class LongerPreference(Result):
    """How often the longer response is preferred, by the judge and by humans."""

    judge: Estimate
    human: Estimate | None


def _longer_rate(verdicts: IntArray, longer: IntArray, confidence: float) -> Estimate:
    """Share of decisive verdicts on unequal lengths that pick the longer response."""
    keep = (verdicts >= 0) & (verdicts < 2) & (longer >= 0)
    picked = int((verdicts[keep] == longer[keep]).sum())
    n_excluded = int((~keep).sum())
    return proportion(picked, int(keep.sum()), n_excluded=n_excluded, confidence=confidence)


def longer_preference(
    verdicts: ArrayLike,
    length_a: ArrayLike,
    length_b: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    **options: Unpack[Resampling],
) -> LongerPreference:
    """Share of decisive verdicts that pick the longer response.

    Ties, failed verdicts and equal-length pairs are left out and counted. With human
    `labels` the same rate for humans is given too: a judge is length-biased when its
    rate exceeds the humans', not merely when it exceeds 0.5. Rates carry Wilson intervals.
    """
    confidence = resampling(options)["confidence"]
    la, lb = as_float(length_a), as_float(length_b)
    missing = np.isnan(la) | np.isnan(lb)
    longer = np.where(missing | (la == lb), -1, np.where(la > lb, 0, 1)).astype(np.intp)
    v = verdict_codes(verdicts)
    if v.shape != la.shape:
        raise ValueError("verdicts and lengths differ in length")
    judge = _longer_rate(v, longer, confidence)
    human = None
    if labels is not None:
        human = _longer_rate(verdict_codes(labels), longer, confidence)
    return LongerPreference(judge, human)


# ---------------------------------------------------------------- self-preference


@dataclass(frozen=True)
class SelfPreference(Described):
    """Mean score of responses from the judge's own family minus that of the others.

    With human scores given, the gap is in (judge - human), so a family that really is
    better does not count as favouritism.
    """

    gap: Estimate
    se: float
    t: float
    df: float
    p_value: float
    n_self: int
    n_other: int
    judge_family: str
    relative_to_human: bool
    alpha: float = 0.05

    def sentence(self) -> str:
        g = self.gap
        verdict = "significant" if self.p_value < self.alpha else "not significant"
        what = "judge - human gap" if self.relative_to_human else "score"
        return (
            f"{self.judge_family} responses vs others ({what}): "
            f"{fmt_interval(g.value, g.low, g.high)}, n={self.n_self} vs {self.n_other}: "
            f"{verdict} at α={self.alpha:g} (Welch t-test p={self.p_value:.2g})"
        )


def self_preference(
    scores: ArrayLike,
    families: ArrayLike,
    judge_family: str,
    *,
    alpha: float = 0.05,
    human: ArrayLike | None = None,
    **options: Unpack[Resampling],
) -> SelfPreference:
    """Gap between responses from the judge's model family and the rest.

    The test is Welch's (unequal variances); the interval is a bootstrap that resamples
    each group separately, since group sizes are fixed by design. Its confidence is
    1 - alpha unless given.
    """
    kw = resampling({"confidence": 1.0 - alpha, **options})
    confidence, n_resamples = kw["confidence"], kw["n_resamples"]
    s = as_float(scores)
    fam = np.asarray(families, dtype=object)
    if fam.shape != s.shape:
        raise ValueError("scores and families differ in length")
    value = s if human is None else s - as_float(human)
    keep = ~np.isnan(value) & np.asarray([f is not None for f in fam.tolist()], dtype=bool)
    n_excluded = int((~keep).sum())
    mine = value[keep & (fam == judge_family)]
    rest = value[keep & (fam != judge_family)]
    n = int(mine.size + rest.size)
    common: dict[str, Any] = {
        "judge_family": judge_family,
        "relative_to_human": human is not None,
        "alpha": alpha,
    }
    if mine.size < 2 or rest.size < 2:
        gap = nan_estimate(n, n_excluded, confidence)
        nan = math.nan
        return SelfPreference(gap, nan, nan, nan, nan, int(mine.size), int(rest.size), **common)
    diff = float(mine.mean() - rest.mean())
    se = math.sqrt(mine.var(ddof=1) / mine.size + rest.var(ddof=1) / rest.size)
    test = stats.ttest_ind(mine, rest, equal_var=False)
    rng_mine, rng_rest = (
        np.random.default_rng(c) for c in np.random.SeedSequence(kw["seed"]).spawn(2)
    )
    reps = count_replicates(
        lambda c: weighted_mean(c, mine), mine.size, n_resamples=n_resamples, seed=rng_mine
    ) - count_replicates(
        lambda c: weighted_mean(c, rest), rest.size, n_resamples=n_resamples, seed=rng_rest
    )
    low, high = percentile_interval(reps, confidence)
    gap = Estimate(diff, float(low), float(high), n, n_excluded, se, confidence)
    return SelfPreference(
        gap=gap,
        se=se,
        t=float(test.statistic),
        df=float(test.df),
        p_value=float(test.pvalue),
        n_self=int(mine.size),
        n_other=int(rest.size),
        **common,
    )


# ---------------------------------------------------------------- scale use


@dataclass(frozen=True)
class ScaleUse(Result):
    """How a judge spreads its scores over the scale.

    `tie_rate` is the chance that two items (two responses to the same prompt, when
    groups are given) get the same scale point: a judge with a high tie rate cannot rank
    the responses it is shown.
    """

    points: tuple[float, ...]
    counts: tuple[int, ...]
    share_used: float
    tie_rate: float
    n: int
    n_excluded: int


def scale_use(
    scores: ArrayLike,
    scale: Sequence[float],
    *,
    groups: ArrayLike | None = None,
) -> ScaleUse:
    """Histogram over the scale points (scores snapped to the nearest point), share of
    points used at least once, and the tie rate."""
    s = as_float(scores)
    keep = ~np.isnan(s)
    points = tuple(float(p) for p in sorted(scale))
    idx = snap(s[keep], points)
    counts = np.bincount(idx, minlength=len(points))
    n = int(idx.size)
    if groups is None:
        same = float((counts * (counts - 1.0)).sum())
        pairs = n * (n - 1.0)
    else:
        g = np.asarray(groups, dtype=object)[keep]
        gi, _ = factorize(g)
        cell = np.bincount(gi * len(points) + idx).astype(np.float64)
        size = np.bincount(gi).astype(np.float64)
        same = float((cell * (cell - 1.0)).sum())
        pairs = float((size * (size - 1.0)).sum())
    return ScaleUse(
        points=points,
        counts=tuple(int(c) for c in counts),
        share_used=float((counts > 0).mean()),
        tie_rate=same / pairs if pairs > 0 else math.nan,
        n=n,
        n_excluded=int((~keep).sum()),
    )
