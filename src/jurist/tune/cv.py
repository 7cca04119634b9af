"""Nested grouped cross-validation: inner folds choose, outer folds report.

Every choice `tune` makes (the reading, each criterion's estimator and calibration) and
every fit (calibration maps, conformal radii) is made by `choose` / `fit_choice` from the
items it is handed; `nested_cv` hands them only an outer fold's training items, so an
outer-fold item's label never reaches the choice or the fit that predicts it. Folds split
by group (e.g. source document), so no group is on both sides of a split.

Within one reading and criterion, the estimator is chosen by Spearman (within group when
there are groups: the ordering people care about), then the calibration by mean absolute
error (calibration barely moves a rank correlation, it moves the scale); the reading is
the one whose chosen estimators agree best on average over criteria, or with a budget
the cheapest one whose interval overlaps the best one's.

An estimator is either read off the answers (`Sample.raw`: parsed, expected) or learned
(`Sample.learned`: LAGER, probe), which is fitted like a calibration map: on a fold's
training items only (`Learned.fit(train)`), and read on its test items.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jurist.core.data import Item
from jurist.core.errors import ConfigError
from jurist.stats.arrays import FloatArray, IntArray, factorize
from jurist.tune.agreement import Resamples, criterion_reps
from jurist.tune.calibration import Calibration, fit_calibration
from jurist.tune.candidates import (
    ESTIMATORS,
    CalibrationKind,
    Cost,
    Estimator,
    calibrations_for,
)
from jurist.tune.conformal import Conformal, fit_conformal
from jurist.whitebox.learned import Learned

__all__ = [
    "Choice",
    "CriterionChoice",
    "Fold",
    "NestedResult",
    "Sample",
    "choose",
    "cross_predict",
    "fit_choice",
    "fit_learned",
    "fit_radii",
    "group_folds",
    "held_out",
    "item_groups",
    "nested_cv",
    "predict",
]


@dataclass(frozen=True)
class Sample:
    """The labelled sample as scored under every reading: `raw[reading][criterion]
    [estimator]` holds one raw score per item (NaN: none); `learned[reading][criterion]
    [estimator]` the learned estimators (white-box judges only), fitted per fold."""

    raw: dict[str, dict[str, dict[str, FloatArray]]]
    labels: dict[str, FloatArray]
    groups: NDArray[np.object_] | None
    bounds: dict[str, tuple[float, float]]
    costs: dict[str, Cost] = field(default_factory=dict)
    learned: dict[str, dict[str, dict[str, Learned]]] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(next(iter(self.labels.values())))

    @property
    def criteria(self) -> list[str]:
        return list(self.labels)

    def group_codes(self) -> IntArray:
        if self.groups is None:
            return np.arange(self.n, dtype=np.intp)
        return factorize(self.groups)[0]

    def groups_of(self, index: IntArray) -> NDArray[np.object_] | None:
        return None if self.groups is None else self.groups[index]

    def estimators(self, reading: str, criterion: str) -> list[str]:
        return [*ESTIMATORS, *self.learned.get(reading, {}).get(criterion, {})]

    def learner(self, reading: str, criterion: str, estimator: str) -> Learned | None:
        return self.learned.get(reading, {}).get(criterion, {}).get(estimator)


@dataclass(frozen=True)
class CriterionChoice:
    estimator: Estimator
    calibration: CalibrationKind


@dataclass(frozen=True)
class Choice:
    reading: str
    criteria: dict[str, CriterionChoice]


def item_groups(items: Sequence[Item], group_field: str | None) -> NDArray[np.object_] | None:
    """Each item's group (None: no grouping); an item without one is refused by id."""
    if group_field is None:
        return None
    missing = [item.id for item in items if item.metadata.get(group_field) is None]
    if missing:
        raise ConfigError(f"--group-field {group_field}: items {', '.join(missing[:3])} have none")
    return np.array([str(item.metadata[group_field]) for item in items], dtype=object)


def group_folds(codes: IntArray, k: int, seed: int = 0) -> list[IntArray]:
    """Test indices of `k` folds (fewer when there are fewer groups); whole groups are
    dealt to folds in a seeded random order."""
    groups = np.unique(codes)
    order = np.random.default_rng(seed).permutation(groups)
    k = max(1, min(k, groups.size))
    return [np.flatnonzero(np.isin(codes, order[f::k])) for f in range(k)]


def _complement(n: int, test: IntArray) -> IntArray:
    mask = np.ones(n, dtype=bool)
    mask[test] = False
    return np.flatnonzero(mask)


def cross_predict(
    raw: FloatArray,
    labels: FloatArray,
    kind: CalibrationKind,
    folds: Sequence[IntArray],
    domain: tuple[float, float] | None = None,
) -> FloatArray:
    """Held-out calibrated scores of `folds`' items (NaN elsewhere): each fold's items are
    predicted by a map fitted on the other folds' items only."""
    out = np.full(raw.shape, np.nan)
    everyone = np.concatenate(folds) if folds else np.empty(0, dtype=np.intp)
    for test in folds:
        train = np.setdiff1d(everyone, test)
        fitted = fit_calibration(kind, raw[train], labels[train], domain)
        out[test] = fitted.apply(raw[test])
    return out


def held_out(
    sample: Sample,
    reading: str,
    criterion: str,
    estimator: str,
    kind: CalibrationKind,
    folds: Sequence[IntArray],
) -> FloatArray:
    """`cross_predict` for any estimator: a learned one is fitted on each fold's
    complement within `folds` and read on the fold (it takes no calibration map)."""
    learner = sample.learner(reading, criterion, estimator)
    labels = sample.labels[criterion]
    if learner is None:
        return cross_predict(sample.raw[reading][criterion][estimator], labels, kind, folds)
    out = np.full(labels.shape, np.nan)
    everyone = np.concatenate(folds) if folds else np.empty(0, dtype=np.intp)
    for test in folds:
        out[test] = learner.predict(learner.fit(np.setdiff1d(everyone, test)), test)
    return out


def _inner_folds(sample: Sample, index: IntArray, k: int, seed: int) -> list[IntArray]:
    return [index[f] for f in group_folds(sample.group_codes()[index], k, seed)]


def _inner_predictions(
    sample: Sample, index: IntArray, k: int, seed: int
) -> dict[tuple[str, str, str, str], FloatArray]:
    """(reading, criterion, estimator, calibration) -> inner held-out scores on `index`."""
    folds = _inner_folds(sample, index, k, seed)
    return {
        (reading, c, est, kind): held_out(sample, reading, c, est, kind, folds)
        for reading in sample.raw
        for c in sample.criteria
        for est in sample.estimators(reading, c)
        for kind in calibrations_for(est)
    }


def _primary(reps: dict[str, FloatArray], grouped: bool) -> FloatArray:
    return reps["within"] if grouped else reps["pooled"]


def choose(
    sample: Sample,
    index: IntArray,
    *,
    k: int = 4,
    seed: int = 0,
    budget: bool = False,
) -> Choice:
    """The choice made from `index`'s items alone (inner grouped CV on them)."""
    predictions = _inner_predictions(sample, index, k, seed)
    rs = Resamples.of(sample.groups_of(index), index.size, 200 if budget else 0, seed)
    picks: dict[str, Choice] = {}
    scores: dict[str, FloatArray] = {}
    for reading in sample.raw:
        chosen, best = {}, []
        for c in sample.criteria:
            held = {key[2:]: values[index] for key, values in predictions.items()
                    if key[:2] == (reading, c)}  # fmt: skip
            chosen[c], reps = _choose_criterion(held, sample.labels[c][index], rs)
            best.append(reps)
        picks[reading] = Choice(reading, chosen)
        scores[reading] = np.nan_to_num(np.mean(best, axis=0), nan=-2.0)
    return picks[_pick_reading(scores, sample.costs, budget)]


def _choose_criterion(
    held: dict[tuple[str, str], FloatArray], labels: FloatArray, rs: Resamples
) -> tuple[CriterionChoice, FloatArray]:
    """One criterion under one reading: the estimator that orders items best (uncalibrated),
    then its calibration with the smallest error; with the chosen estimator's agreement."""

    def reps(estimator: str, kind: str) -> dict[str, FloatArray]:
        return criterion_reps(held[(estimator, kind)], labels, rs)

    names = list(dict.fromkeys(e for e, _ in held))
    ordering = {e: _primary(reps(e, "none"), rs.grouped) for e in names}
    estimator = max(names, key=lambda e: np.nan_to_num(ordering[e][0], nan=-2.0))
    kinds = calibrations_for(estimator)
    errors = {kind: reps(estimator, kind)["mae"][0] for kind in kinds}
    kind = min(kinds, key=lambda m: np.nan_to_num(errors[m], nan=np.inf))
    return CriterionChoice(estimator, kind), ordering[estimator]  # type: ignore[arg-type]


def _pick_reading(scores: dict[str, FloatArray], costs: dict[str, Cost], budget: bool) -> str:
    """The best reading, or with a budget the cheapest whose 95% interval overlaps the
    best one's."""
    best = max(scores, key=lambda r: scores[r][0])
    if not budget or len(scores[best]) < 3:
        return best
    low_best = float(np.quantile(scores[best][1:], 0.025))
    eligible = [r for r in scores if float(np.quantile(scores[r][1:], 0.975)) >= low_best]
    cost = {r: costs.get(r, Cost()) for r in eligible}
    # Readings whose cost was not measured (cached) come after the measured ones.
    return min(
        eligible,
        key=lambda r: (
            not cost[r].measured,
            cost[r].seconds if cost[r].measured else 0.0,
            cost[r].calls,
            -scores[r][0],
        ),
    )


def fit_choice(sample: Sample, choice: Choice, index: IntArray) -> dict[str, Calibration]:
    """Each criterion's calibration map, fitted on `index`'s items (the identity for a
    learned estimator)."""
    raw = sample.raw[choice.reading]
    return {
        c: fit_calibration(pick.calibration, raw[c][pick.estimator][index], sample.labels[c][index])
        if pick.estimator in raw[c]
        else fit_calibration("none", [], [])
        for c, pick in choice.criteria.items()
    }


def fit_learned(sample: Sample, choice: Choice, index: IntArray) -> dict[str, Any]:
    """Each learned estimator the choice reads, fitted on `index`'s items."""
    fitted = {}
    for c, pick in choice.criteria.items():
        learner = sample.learner(choice.reading, c, pick.estimator)
        if learner is not None:
            fitted[c] = learner.fit(index)
    return fitted


def predict(
    sample: Sample,
    choice: Choice,
    maps: dict[str, Calibration],
    index: IntArray,
    learned: dict[str, Any] | None = None,
) -> dict[str, FloatArray]:
    """The chosen scoring of `index`'s items (`learned`: the fits `fit_learned` made)."""
    out = {}
    for c, pick in choice.criteria.items():
        learner = sample.learner(choice.reading, c, pick.estimator)
        if learner is None:
            out[c] = maps[c].apply(sample.raw[choice.reading][c][pick.estimator][index])
        elif learned is None or c not in learned:
            raise ValueError(f"{c}: {pick.estimator} is learned: pass its fit (fit_learned)")
        else:
            out[c] = learner.predict(learned[c], index)
    return out


def fit_radii(
    sample: Sample, choice: Choice, index: IntArray, coverage: float, *, k: int, seed: int
) -> dict[str, Conformal]:
    """Conformal radii from the chosen scoring's inner held-out residuals on `index`."""
    folds = _inner_folds(sample, index, k, seed)
    radii = {}
    for c, pick in choice.criteria.items():
        held = held_out(sample, choice.reading, c, pick.estimator, pick.calibration, folds)
        radii[c] = fit_conformal(
            held[index], sample.labels[c][index], coverage, sample.bounds.get(c)
        )
    return radii


@dataclass(frozen=True)
class Fold:
    """What one outer fold chose and fitted, from its training items only."""

    test: IntArray
    choice: Choice
    maps: dict[str, Calibration]
    radii: dict[str, Conformal]
    learned: dict[str, Any] = field(default_factory=dict)  # criterion -> fitted estimator


@dataclass
class NestedResult:
    """Outer-fold held-out scores of the tuned procedure and of every candidate."""

    folds: list[Fold]
    tuned: dict[str, FloatArray]
    low: dict[str, FloatArray]
    high: dict[str, FloatArray]
    # (reading, estimator, calibration) -> criterion -> held-out scores
    candidates: dict[tuple[str, str, str], dict[str, FloatArray]]


def nested_cv(
    sample: Sample,
    *,
    outer: int = 5,
    inner: int = 4,
    coverage: float = 0.9,
    budget: bool = False,
    seed: int = 0,
) -> NestedResult:
    """Choose and fit on each outer fold's training items, predict its test items."""
    n, criteria = sample.n, sample.criteria
    nan = {c: np.full(n, np.nan) for c in criteria}
    result = NestedResult([], {c: a.copy() for c, a in nan.items()},
                          {c: a.copy() for c, a in nan.items()},
                          {c: a.copy() for c, a in nan.items()}, {})  # fmt: skip
    outer_folds = group_folds(sample.group_codes(), outer, seed)
    for test in outer_folds:
        train = _complement(n, test)
        choice = choose(sample, train, k=inner, seed=seed, budget=budget)
        maps = fit_choice(sample, choice, train)
        learned = fit_learned(sample, choice, train)
        radii = fit_radii(sample, choice, train, coverage, k=inner, seed=seed)
        for c, values in predict(sample, choice, maps, test, learned).items():
            result.tuned[c][test] = values
            result.low[c][test], result.high[c][test] = radii[c].interval(values)
        result.folds.append(Fold(test, choice, maps, radii, learned))
    for reading in sample.raw:
        names = dict.fromkeys(e for c in criteria for e in sample.estimators(reading, c))
        for est in names:
            for kind in calibrations_for(est):
                result.candidates[(reading, est, kind)] = {
                    c: held_out(sample, reading, c, est, kind, outer_folds)
                    if est in sample.estimators(reading, c)
                    else np.full(n, np.nan)
                    for c in criteria
                }
    return result
