"""A cascade of jurors: the cheap one answers where it is confident, the next is asked
where it is not. Thresholds are calibrated on labelled items for a target accuracy, and
the saving is reported next to the accuracy it costs, both with 95% intervals.

Calibration is selective accuracy per level: a juror keeps the items whose confidence is
at or above its threshold, and the threshold is the lowest one at which the items it
would keep are correct at least `target` of the time (so it keeps as many as it can).
The last juror answers whatever reaches it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Unpack

import numpy as np
from numpy.typing import ArrayLike

from jurist.stats.bootstrap import bootstrap_ci
from jurist.stats.proportion import proportion_estimate
from jurist.stats.resampling import Resampling, resampling
from jurist.stats.results import Estimate, Result


def _rows(values: ArrayLike) -> np.ndarray:
    return np.atleast_2d(np.asarray(values, dtype=np.float64))


def calibrate_thresholds(
    confidence: ArrayLike, correct: ArrayLike, target: float, *, min_accepted: int = 1
) -> tuple[float, ...]:
    """One threshold per non-final juror from labelled items.

    `confidence` and `correct` are (jurors - 1, items): each early juror's confidence and
    its credit on each item (1 right, 0 wrong, ½ partly; NaN = unknown, left out). A
    juror that reaches `target` on no set of at least `min_accepted` items gets an
    infinite threshold: it always escalates.
    """
    if not 0.0 < target <= 1.0:
        raise ValueError(f"target accuracy must be in (0, 1], not {target}")
    conf, credit = _rows(confidence), _rows(correct)
    if conf.shape != credit.shape:
        raise ValueError(f"confidence {conf.shape} and correct {credit.shape} differ in shape")
    thresholds: list[float] = []
    for c, k in zip(conf, credit, strict=True):
        known = ~np.isnan(c) & ~np.isnan(k)
        c, k = c[known], k[known]
        order = np.argsort(-c, kind="stable")
        c, k = c[order], k[order]
        accuracy = np.cumsum(k) / np.arange(1, c.size + 1)
        # Keeping everything at or above a value keeps a prefix that ends where it changes.
        ends = np.flatnonzero(np.r_[c[:-1] > c[1:], True]) if c.size else np.zeros(0, int)
        good = ends[(accuracy[ends] >= target) & (ends + 1 >= min_accepted)]
        thresholds.append(float(c[good.max()]) if good.size else math.inf)
    return tuple(thresholds)


def route(confidence: ArrayLike, thresholds: Sequence[float]) -> np.ndarray:
    """The juror that decides each item: the first whose confidence reaches its threshold
    (an unknown confidence never does), else the last."""
    conf = _rows(confidence)
    if conf.shape[0] != len(thresholds):
        raise ValueError(f"{len(thresholds)} thresholds for {conf.shape[0]} early jurors")
    level = np.full(conf.shape[1], len(thresholds), dtype=np.intp)
    for i in reversed(range(len(thresholds))):
        with np.errstate(invalid="ignore"):
            level[conf[i] >= thresholds[i]] = i
    return level


@dataclass(frozen=True)
class CascadeOutcome(Result):
    """What a cascade buys: its accuracy next to the last juror's alone, the accuracy lost
    (last alone minus cascade, paired bootstrap) and the share of cost saved (bootstrap),
    with how many items each juror decided."""

    thresholds: tuple[float, ...]
    accuracy: Estimate
    accuracy_final: Estimate
    accuracy_lost: Estimate
    cost_saved: Estimate
    decided: tuple[int, ...]
    cost: float  # mean cost per item of the cascade
    cost_final: float  # mean cost per item of asking the last juror alone


def evaluate_cascade(
    confidence: ArrayLike,
    correct: ArrayLike,
    thresholds: Sequence[float],
    *,
    costs: Sequence[float] | None = None,
    nested: bool = False,
    **options: Unpack[Resampling],
) -> CascadeOutcome:
    """A cascade on labelled items: `confidence` (jurors - 1, items), `correct` (jurors,
    items) credits, `costs` per item of asking each juror (default 1 each). Every juror
    asked pays, so an escalated item costs the early jurors' calls too, unless `nested`:
    each level then reuses the answers before it (a cheap juror, then a jury that includes
    it) and `costs[i]` is the whole price of reaching level i. Items with an unknown credit
    for any juror are left out and counted."""
    kw = resampling(options)
    conf, credit = _rows(confidence), _rows(correct)
    levels = credit.shape[0]
    if conf.shape != (levels - 1, credit.shape[1]):
        raise ValueError(f"confidence must be ({levels - 1}, {credit.shape[1]}), got {conf.shape}")
    price = np.asarray(costs if costs is not None else [1.0] * levels, dtype=np.float64)
    if price.shape != (levels,):
        raise ValueError(f"{price.size} costs for {levels} jurors")
    known = ~np.isnan(credit).any(axis=0)
    excluded = int((~known).sum())
    conf, credit = conf[:, known], credit[:, known]
    level = route(conf, thresholds)
    chosen = credit[level, np.arange(level.size)]
    final = credit[-1]
    item_cost = (price if nested else np.cumsum(price))[level]
    boot = {"n_resamples": kw["n_resamples"], "seed": kw["seed"], "confidence": kw["confidence"]}

    def lost(f: np.ndarray, c: np.ndarray) -> np.ndarray:
        return f.mean(axis=-1) - c.mean(axis=-1)

    def saved(cost: np.ndarray) -> np.ndarray:
        return 1.0 - cost.mean(axis=-1) / price[-1]

    return CascadeOutcome(
        thresholds=tuple(float(t) for t in thresholds),
        accuracy=_with_excluded(proportion_estimate(chosen, confidence=kw["confidence"]), excluded),
        accuracy_final=_with_excluded(
            proportion_estimate(final, confidence=kw["confidence"]), excluded
        ),
        accuracy_lost=_with_excluded(bootstrap_ci(lost, final, chosen, **boot), excluded),
        cost_saved=_with_excluded(bootstrap_ci(saved, item_cost, **boot), excluded),
        decided=tuple(int((level == i).sum()) for i in range(levels)),
        cost=float(item_cost.mean()) if item_cost.size else math.nan,
        cost_final=float(price[-1]),
    )


def _with_excluded(estimate: Estimate, excluded: int) -> Estimate:
    return replace(estimate, n_excluded=estimate.n_excluded + excluded)
