"""Comparing models by their judged scores and pairwise outcomes.

Means carry cluster-robust standard errors because several responses to one prompt are
not independent; paired differences report both the paired and the naive standard error
so the gain from pairing is visible; pairwise outcomes become Bradley-Terry ratings and
length-controlled win rates.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Unpack

import numpy as np
from numpy.typing import ArrayLike

from jurist.core.lazy import lazy
from jurist.stats.arrays import FloatArray, IntArray, as_float, factorize, paired
from jurist.stats.bootstrap import (
    bootstrap_counts,
    count_replicates,
    full_counts,
    percentile_interval,
)
from jurist.stats.pairwise import verdict_codes
from jurist.stats.proportion import proportion
from jurist.stats.resampling import Resampling, resampling
from jurist.stats.results import Described, Estimate, Result, nan_estimate

sparse = lazy("scipy.sparse")
stats = lazy("scipy.stats")


def fmt_interval(value: float, low: float, high: float) -> str:
    """'0.12 [-0.03, 0.27]' with as many decimals as the interval's width deserves."""
    width = high - low
    if math.isfinite(width) and width > 0:
        decimals = int(min(6, max(0, 1 - math.floor(math.log10(width)))))
    else:
        decimals = 3
    return f"{value:.{decimals}f} [{low:.{decimals}f}, {high:.{decimals}f}]"


# ---------------------------------------------------------------- means


def mean_estimate(
    scores: ArrayLike,
    *,
    clusters: ArrayLike | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Mean with a t interval, kept inside the range of the values; with `clusters` the SE
    is cluster-robust.

    The cluster-robust variance G/(G-1) * sum_g (sum_{i in g} e_i)^2 / n^2 lets responses
    to one prompt share their prompt's difficulty; with one item per cluster it is
    exactly s^2 / n. Degrees of freedom are G - 1.
    """
    y = as_float(scores)
    keep = ~np.isnan(y)
    n_excluded = int((~keep).sum())
    y = y[keep]
    n = int(y.size)
    if n < 2:
        value = float(y.mean()) if n else math.nan
        return Estimate(value, math.nan, math.nan, n, n_excluded, None, confidence)
    mean = float(y.mean())
    resid = y - mean
    if clusters is None:
        group_sums = resid
    else:
        cluster_of, _ = factorize(np.asarray(clusters, dtype=object)[keep])
        group_sums = np.bincount(cluster_of, weights=resid)
    g = group_sums.size
    if g < 2:
        return Estimate(mean, math.nan, math.nan, n, n_excluded, None, confidence)
    se = math.sqrt(g / (g - 1) * float((group_sums**2).sum())) / n
    half = float(stats.t.ppf(0.5 + confidence / 2, g - 1)) * se
    # A mean cannot leave the range of the values it averages: a t interval on a few Likert
    # scores would otherwise reach below the scale's floor.
    low, high = max(mean - half, float(y.min())), min(mean + half, float(y.max()))
    return Estimate(mean, low, high, n, n_excluded, se, confidence)


def model_means(
    scores: ArrayLike,
    models: ArrayLike,
    *,
    prompts: ArrayLike | None = None,
    confidence: float = 0.95,
) -> dict[str, Estimate]:
    """Per-model mean score, clustered by prompt when prompts are given."""
    y = as_float(scores)
    m = np.asarray(models, dtype=object)
    p = None if prompts is None else np.asarray(prompts, dtype=object)
    out: dict[str, Estimate] = {}
    for name in sorted(set(m.tolist()), key=str):
        mask = m == name
        out[str(name)] = mean_estimate(
            y[mask], clusters=None if p is None else p[mask], confidence=confidence
        )
    return out


# ---------------------------------------------------------------- paired differences


@dataclass(frozen=True)
class Difference(Described):
    """x - y on the same units, with a paired t interval and test."""

    name_x: str
    name_y: str
    value: float
    low: float
    high: float
    n: int
    n_excluded: int
    se_paired: float
    se_naive: float
    t: float
    p_value: float
    alpha: float = 0.05
    unit: str = "prompts"

    @property
    def significant(self) -> bool:
        return bool(self.p_value < self.alpha)

    def sentence(self) -> str:
        verdict = "significant" if self.significant else "not significant"
        return (
            f"{self.name_x} - {self.name_y} = {fmt_interval(self.value, self.low, self.high)}, "
            f"n={self.n} {self.unit}: {verdict} at α={self.alpha:g} "
            f"(paired t-test p={self.p_value:.2g}; SE paired {self.se_paired:.3g}, "
            f"unpaired {self.se_naive:.3g})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "significant": self.significant}


def paired_difference(
    x: ArrayLike,
    y: ArrayLike,
    *,
    name_x: str = "x",
    name_y: str = "y",
    unit: str = "prompts",
    alpha: float = 0.05,
) -> Difference:
    """Mean of x - y over units scored for both, with a paired t-test.

    `se_naive` is what treating the two columns as independent samples would give; the
    paired SE is smaller whenever prompts differ in difficulty, which is why the test and
    the interval use it.
    """
    (xv, yv), n_excluded = paired(x, y)
    n = int(xv.size)
    names: dict[str, Any] = {"name_x": name_x, "name_y": name_y, "alpha": alpha, "unit": unit}
    if n < 2:
        nan = math.nan
        value = float((xv - yv).mean()) if n else nan
        return Difference(
            value=value,
            low=nan,
            high=nan,
            n=n,
            n_excluded=n_excluded,
            se_paired=nan,
            se_naive=nan,
            t=nan,
            p_value=nan,
            **names,
        )
    d = xv - yv
    mean = float(d.mean())
    se_paired = float(d.std(ddof=1)) / math.sqrt(n)
    se_naive = math.sqrt(float(xv.var(ddof=1) + yv.var(ddof=1)) / n)
    if se_paired > 0:
        test = stats.ttest_rel(xv, yv)
        t, p = float(test.statistic), float(test.pvalue)
    else:
        t = math.copysign(math.inf, mean) if mean else math.nan
        p = 0.0 if mean else 1.0
    half = float(stats.t.ppf(1 - alpha / 2, n - 1)) * se_paired
    return Difference(
        value=mean,
        low=mean - half,
        high=mean + half,
        n=n,
        n_excluded=n_excluded,
        se_paired=se_paired,
        se_naive=se_naive,
        t=t,
        p_value=p,
        **names,
    )


def compare_models(
    scores: ArrayLike,
    models: ArrayLike,
    prompts: ArrayLike,
    model_x: str,
    model_y: str,
    *,
    alpha: float = 0.05,
) -> Difference:
    """Paired difference of two models over the prompts both answered.

    Several responses of one model to one prompt are averaged first, so the prompt is
    the unit; prompts only one model answered are counted in n_excluded.
    """
    y = as_float(scores)
    m = np.asarray(models, dtype=object)
    p = np.asarray(prompts, dtype=object)
    means: list[dict[Any, float]] = []
    for name in (model_x, model_y):
        mask = (m == name) & ~np.isnan(y)
        sums: dict[Any, list[float]] = {}
        for prompt, value in zip(p[mask].tolist(), y[mask].tolist(), strict=True):
            sums.setdefault(prompt, []).append(value)
        means.append({k: float(np.mean(v)) for k, v in sums.items()})
    shared = sorted(set(means[0]) & set(means[1]), key=str)
    only_one = len(set(means[0]) ^ set(means[1]))
    diff = paired_difference(
        [means[0][k] for k in shared],
        [means[1][k] for k in shared],
        name_x=model_x,
        name_y=model_y,
        alpha=alpha,
    )
    return Difference(**{**asdict(diff), "n_excluded": only_one})


# ---------------------------------------------------------------- pairwise outcomes


@dataclass(frozen=True)
class _Games:
    models: tuple[str, ...]
    a: IntArray
    b: IntArray
    score_a: FloatArray  # 1 win, 0.5 tie, 0 loss for model_a
    n_excluded: int


def _games(model_a: ArrayLike, model_b: ArrayLike, winner: ArrayLike) -> _Games:
    ma = np.asarray(model_a, dtype=object)
    mb = np.asarray(model_b, dtype=object)
    w = verdict_codes(winner)
    if not (ma.shape == mb.shape == w.shape):
        raise ValueError("model_a, model_b and winner must have the same length")
    keep = (w >= 0) & (ma != mb)
    names = tuple(sorted({str(v) for v in np.concatenate([ma[keep], mb[keep]]).tolist()}))
    index = {name: i for i, name in enumerate(names)}
    a = np.asarray([index[str(v)] for v in ma[keep].tolist()], dtype=np.intp)
    b = np.asarray([index[str(v)] for v in mb[keep].tolist()], dtype=np.intp)
    score = np.asarray([1.0, 0.0, 0.5])[w[keep]]
    return _Games(names, a, b, score, int((~keep).sum()))


def _game_codes(g: _Games) -> tuple[IntArray, IntArray, FloatArray, IntArray]:
    stacked = np.stack([g.a, g.b, g.score_a * 2], axis=1).astype(np.intp)
    uniq, codes = np.unique(stacked, axis=0, return_inverse=True)
    return uniq[:, 0], uniq[:, 1], uniq[:, 2] / 2.0, codes.reshape(-1)


def _tallies(
    g: _Games, a: IntArray, b: IntArray, s: FloatArray
) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """Sparse maps from distinct games to per-model wins and to the M x M games table."""
    m = len(g.models)
    u = np.arange(a.size)
    wins = sparse.csr_matrix((np.r_[s, 1.0 - s], (np.r_[u, u], np.r_[a, b])), shape=(a.size, m))
    games = sparse.csr_matrix(
        (np.ones(2 * a.size), (np.r_[u, u], np.r_[a * m + b, b * m + a])),
        shape=(a.size, m * m),
    )
    return wins, games


def _apply(matrix: sparse.csr_matrix, counts: FloatArray) -> FloatArray:
    return np.asarray(matrix.T @ counts.T).T


def bt_strengths(
    wins: FloatArray, games: FloatArray, *, tol: float = 1e-10, max_iter: int = 10_000
) -> FloatArray:
    """Bradley-Terry log-strengths for stacks of win totals (b, M) and game tables
    (b, M, M), by the minorise-maximise iteration (Hunter 2004), which increases the
    likelihood at every step and needs no step size. Ties count as half a win each,
    which makes this the maximum-likelihood fit of the binomial model with fractional
    outcomes. Log-strengths are centred to mean zero.
    """
    p = np.ones_like(wins)
    for _ in range(max_iter):
        denom = (games / (p[:, :, None] + p[:, None, :])).sum(axis=2)
        with np.errstate(divide="ignore", invalid="ignore"):
            new = wins / denom
            logp = np.log(new)
        logp -= np.nanmean(np.where(np.isfinite(logp), logp, np.nan), axis=1, keepdims=True)
        new = np.exp(logp)
        with np.errstate(invalid="ignore"):
            change = np.nanmax(np.abs(np.log(new) - np.log(p)))
        p = new
        if not change > tol:
            break
    return np.log(p)


@dataclass(frozen=True)
class Ratings(Result):
    """Bradley-Terry ratings on an Elo-like scale, with bootstrap intervals over games."""

    ratings: dict[str, Estimate]
    n_games: int
    n_excluded: int
    anchor: str | None
    base: float
    scale: float

    def ranked(self) -> list[tuple[str, Estimate]]:
        return sorted(self.ratings.items(), key=lambda kv: -kv[1].value)


def bradley_terry(
    model_a: ArrayLike,
    model_b: ArrayLike,
    winner: ArrayLike,
    *,
    anchor: str | None = None,
    base: float = 1000.0,
    scale: float = 400.0,
    prior: float = 0.1,
    **options: Unpack[Resampling],
) -> Ratings:
    """Bradley-Terry ratings from pairwise outcomes ('A', 'B', 'tie'; None = failed).

    rating = scale * log10(strength), shifted so the mean rating is `base`, or so the
    `anchor` model sits at `base`; a 400-point gap means 10:1 odds, as in Elo.
    `prior` adds that many virtual tie games between every two models: it keeps ratings
    finite when a model wins or loses every game (in the data or in a resample) and is
    negligible once models have played a few dozen games; 0 is the plain MLE.
    Each model's n is the number of games it played.
    """
    g = _games(model_a, model_b, winner)
    m = len(g.models)
    if anchor is not None and anchor not in g.models:
        raise ValueError(f"anchor {anchor!r} played no valid games")
    if m < 2:
        return Ratings({}, int(g.a.size), g.n_excluded, anchor, base, scale)
    a, b, s, codes = _game_codes(g)
    wins_map, games_map = _tallies(g, a, b, s)
    virtual = prior * (1.0 - np.eye(m))

    def statistic(counts: FloatArray) -> FloatArray:
        wins = _apply(wins_map, counts) + prior * (m - 1) / 2.0
        games = _apply(games_map, counts).reshape(-1, m, m) + virtual
        rating = scale / math.log(10) * bt_strengths(wins, games)
        ref = rating.mean(axis=1) if anchor is None else rating[:, g.models.index(anchor)]
        return rating - ref[:, None] + base

    ratings = _per_model(statistic, g, codes, resampling(options))
    return Ratings(ratings, int(g.a.size), g.n_excluded, anchor, base, scale)


def _per_model(
    statistic: Callable[[FloatArray], FloatArray],
    g: _Games,
    codes: IntArray,
    options: Resampling,
) -> dict[str, Estimate]:
    """One Estimate per model from a statistic with one column per model; n = games played."""
    kw = resampling(options)
    point = statistic(full_counts(g.a.size, codes))[0]
    reps = count_replicates(
        statistic, g.a.size, n_resamples=kw["n_resamples"], seed=kw["seed"], codes=codes
    )
    confidence = kw["confidence"]
    low, high = percentile_interval(reps, confidence)
    played = np.bincount(np.r_[g.a, g.b], minlength=len(g.models))
    return {
        name: Estimate(
            float(point[i]), float(low[i]), float(high[i]), int(played[i]), 0, None, confidence
        )
        for i, name in enumerate(g.models)
    }


def win_rates(
    model_a: ArrayLike,
    model_b: ArrayLike,
    winner: ArrayLike,
    **options: Unpack[Resampling],
) -> dict[str, Estimate]:
    """Raw win rate of each model over all its games, ties as half a win.

    A model's games share it, so the interval is a bootstrap over games rather than a
    Wilson interval that would treat them as independent."""
    g = _games(model_a, model_b, winner)
    m = len(g.models)
    if g.a.size == 0:
        return {}
    a, b, s, codes = _game_codes(g)
    wins_map, _ = _tallies(g, a, b, s)
    u = np.arange(a.size)
    played_map = sparse.csr_matrix(
        (np.ones(2 * a.size), (np.r_[u, u], np.r_[a, b])), shape=(a.size, m)
    )

    def statistic(counts: FloatArray) -> FloatArray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return _apply(wins_map, counts) / _apply(played_map, counts)

    return _per_model(statistic, g, codes, options)


# ---------------------------------------------------------------- length control


def verdict_preference(verdicts: ArrayLike, *, model_slot: str = "A") -> FloatArray:
    """1 when the model (in `model_slot`) wins, 0 when it loses, 0.5 for a tie, NaN
    for a failed verdict."""
    if model_slot not in ("A", "B"):
        raise ValueError("model_slot must be 'A' or 'B'")
    table = np.asarray([1.0, 0.0, 0.5, math.nan] if model_slot == "A" else [0, 1, 0.5, math.nan])
    return table[verdict_codes(verdicts)]


@dataclass(frozen=True)
class LengthControlled(Described):
    """Win rate against a baseline, raw and at zero length difference."""

    lc: Estimate
    raw: Estimate
    length_coef: float
    n: int
    n_excluded: int

    def sentence(self, model: str = "model", baseline: str = "baseline") -> str:
        lc, raw = self.lc, self.raw
        return (
            f"{model} vs {baseline}: length-controlled win rate "
            f"{fmt_interval(lc.value, lc.low, lc.high)} "
            f"(raw {fmt_interval(raw.value, raw.low, raw.high)}), n={self.n} pairs"
        )


def fit_logistic(
    counts: FloatArray,
    features: FloatArray,
    target: FloatArray,
    *,
    ridge: float = 1e-6,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> FloatArray:
    """Weighted logistic regressions, one per row of `counts`, by Newton steps.

    Targets may be fractional (a tie is 0.5). A tiny ridge keeps the fit finite when a
    resample is perfectly separated (the model won every pair).
    """
    b, k = counts.shape[0], features.shape[1]
    theta = np.zeros((b, k))
    eye = np.eye(k)
    for _ in range(max_iter):
        prob = 1.0 / (1.0 + np.exp(-(theta @ features.T)))
        grad = ((target - prob) * counts) @ features - ridge * theta
        curv = counts * prob * (1.0 - prob)
        hess = np.einsum("bn,ni,nj->bij", curv, features, features) + ridge * eye
        step = np.linalg.solve(hess, grad[:, :, None])[:, :, 0]
        step = np.clip(step, -5.0, 5.0)
        theta += step
        if np.max(np.abs(step)) < tol:
            break
    return theta


def length_controlled_win_rate(
    preference: ArrayLike,
    length_model: ArrayLike,
    length_baseline: ArrayLike,
    **options: Unpack[Resampling],
) -> LengthControlled:
    """Win rate against a baseline had both answered at the same length.

    Fits logit P(win) = a + c * tanh(delta / sd(delta)), delta = length_model -
    length_baseline, and reports sigmoid(a): the predicted win rate at zero length
    difference, with the raw win rate (Wilson interval) beside it. tanh bounds the pull of
    a few very long answers. `preference` is 1 win,
    0 loss, 0.5 tie, NaN failed (see verdict_preference). The length scale sd(delta) is
    taken from the full sample and held fixed across resamples.
    """
    kw = resampling(options)
    (y, lm, lb), n_excluded = paired(preference, length_model, length_baseline)
    n = int(y.size)
    if n < 2:
        empty = nan_estimate(n, n_excluded, kw["confidence"])
        return LengthControlled(empty, empty, math.nan, n, n_excluded)
    delta = lm - lb
    sd = float(delta.std())
    z = np.tanh(delta / sd) if sd > 0 else np.zeros(n)
    features = np.stack([np.ones(n), z], axis=1)

    def lc(counts: FloatArray) -> FloatArray:
        return 1.0 / (1.0 + np.exp(-fit_logistic(counts, features, y)[:, 0]))

    coef = float(fit_logistic(np.ones((1, n)), features, y)[0, 1])
    raw = proportion(float(y.sum()), n, n_excluded=n_excluded, confidence=kw["confidence"])
    lc_rate = bootstrap_counts(lc, n, n_excluded=n_excluded, **kw)
    return LengthControlled(lc_rate, raw, coef, n, n_excluded)
