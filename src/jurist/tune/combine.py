"""Candidates that combine scores, chosen by the same nested grouped cross-validation as
the readings: criterion weights for the overall score, and juries of several judges.

Both are fitted on scores that are themselves held out: on an outer fold's training items
each criterion's calibrated score comes from maps fitted on the other inner folds (with
the reading, estimator and calibration that fold chose), so the weights never see a
calibration fitted on the item they weigh, and nothing of the outer fold's test items
reaches the choice or the fit. The test items get the outer fold's tuned scores, combined
with the weights fitted on its training items.

A jury weighs each juror's calibrated score per criterion: equally, by the inverse of its
held-out squared error, or by a non-negative least-squares stack (weights renormalised to
sum to 1, so the jury stays on the people's scale); a juror no better than noise gets
little or no weight from the two fitted ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict
from rich.console import RenderableType
from rich.table import Table

from jurist.core.data import Item
from jurist.core.errors import ConfigError
from jurist.core.lazy import lazy
from jurist.core.rubric import Rubric
from jurist.stats.arrays import FloatArray, IntArray
from jurist.tune.agreement import Agreement, Resamples, criterion_reps, summarise
from jurist.tune.candidates import Cost
from jurist.tune.cv import Choice, NestedResult, Sample, choose, group_folds, held_out
from jurist.tune.profile import Profile
from jurist.tune.weights import (
    JURY_WEIGHTINGS,
    WEIGHTINGS,
    JuryProfile,
    JuryWeighting,
    OverallProfile,
    Weighting,
    combine_columns,
    fit_weights,
)

optimize = lazy("scipy.optimize")

__all__ = [
    "JuryOutcome",
    "JuryReport",
    "JuryRow",
    "OverallReport",
    "OverallTarget",
    "fit_jury_weights",
    "jury_heldout",
    "jury_profile",
    "overall_heldout",
    "overall_target",
    "tune_jury",
    "tune_overall",
]

Predictions = dict[str, FloatArray]  # criterion -> one score per item (NaN: none)


# --- the overall score -------------------------------------------------------------------


@dataclass(frozen=True)
class OverallTarget:
    """The people's overall label (scaled to [0, 1]) and the criteria combined into it."""

    field: str
    labels: FloatArray
    criteria: list[str]
    rubric_weights: FloatArray
    bounds: dict[str, tuple[float, float]]


def _overall_label(item: Item, name: str) -> float:
    value = item.labels.get(name, item.metadata.get(name))
    if isinstance(value, list):  # one label per annotator: their mean
        found = [float(v) for v in value if isinstance(v, int | float)]
        return float(np.mean(found)) if found else math.nan
    try:
        return float(value) if value is not None else math.nan
    except (TypeError, ValueError):
        return math.nan


def overall_target(
    rubric: Rubric, items: Sequence[Item], name: str, label_fields: Mapping[str, str]
) -> OverallTarget:
    """The overall label `name` and the labelled criteria other than the one it labels."""
    labels = np.array([_overall_label(item, name) for item in items], dtype=np.float64)
    if np.isnan(labels).all():
        raise ConfigError(f"--overall-field {name}: no item has a numeric value there")
    by_id = {c.id: c for c in rubric.criteria}
    criteria = [c for c, f in label_fields.items() if name not in (c, f)]
    if len(criteria) < 2:
        raise ConfigError(
            f"--overall-field {name}: weights need two labelled criteria besides it, "
            f"found {', '.join(criteria) or 'none'}"
        )
    if name in by_id:
        low, high = (float(v) for v in by_id[name].bounds)
    else:
        low, high = float(np.nanmin(labels)), float(np.nanmax(labels))
    scaled = (labels - low) / (high - low if high > low else 1.0)
    bounds = {c: (float(by_id[c].bounds[0]), float(by_id[c].bounds[1])) for c in criteria}
    weights = np.array([by_id[c].weight for c in criteria], dtype=np.float64)
    return OverallTarget(name, scaled, criteria, weights, bounds)


def _scaled(values: FloatArray, bounds: tuple[float, float]) -> FloatArray:
    low, high = bounds
    return (values - low) / (high - low if high > low else 1.0)


def _inner_folds(sample: Sample, index: IntArray, k: int, seed: int) -> list[IntArray]:
    return [index[f] for f in group_folds(sample.group_codes()[index], k, seed)]


def _held_scores(sample: Sample, choice: Choice, folds: Sequence[IntArray]) -> Predictions:
    """Each criterion's calibrated score on `folds`' items, from maps fitted on the other
    folds (NaN elsewhere)."""
    return {
        c: held_out(sample, choice.reading, c, pick.estimator, pick.calibration, folds)
        for c, pick in choice.criteria.items()
    }


def _primary(predicted: FloatArray, labels: FloatArray, sample: Sample, index: IntArray) -> float:
    """The figure choices are made by: within-group Spearman (pooled without groups)."""
    rs = Resamples.of(sample.groups_of(index), index.size, 0)
    reps = criterion_reps(predicted[index], labels[index], rs)
    value = float(reps["within" if rs.grouped else "pooled"][0])
    return -2.0 if math.isnan(value) else value


def _overall_columns(scores: Predictions, target: OverallTarget) -> list[FloatArray]:
    return [_scaled(scores[c], target.bounds[c]) for c in target.criteria]


def _choose_weighting(
    sample: Sample, target: OverallTarget, columns: list[FloatArray], index: IntArray,
    folds: Sequence[IntArray],
) -> Weighting:  # fmt: skip
    """The weighting whose weights, fitted on the other inner folds, order each inner
    fold's items best (ties go to the simpler one, listed first)."""
    matrix = np.column_stack(columns)
    scores = {}
    for kind in WEIGHTINGS:
        predicted = np.full(sample.n, np.nan)
        for test in folds:
            train = np.setdiff1d(index, test)
            w = fit_weights(kind, matrix[train], target.rubric_weights)
            predicted[test] = combine_columns([col[test] for col in columns], w)
        scores[kind] = _primary(predicted, target.labels, sample, index)
    return max(WEIGHTINGS, key=lambda kind: scores[kind])


class OverallReport(BaseModel):
    """Held-out agreement of the overall score under each weighting and the tuned choice
    (MAE on [0, 1]: the overall score against the label scaled by its range)."""

    model_config = ConfigDict(extra="forbid")

    field: str
    criteria: list[str]
    weightings: dict[str, Agreement]
    tuned: Agreement
    chosen: str
    weights: dict[str, float]

    def render(self) -> list[RenderableType]:
        table = Table(
            title=f"overall score vs {self.field} from {', '.join(self.criteria)} "
            "(outer-fold held-out, 95% group CI)",
            title_justify="left",
        )
        for column in ("weights", "within", "pooled", "MAE [0,1]", "pairwise"):
            table.add_column(column, justify="left" if column == "weights" else "right")
        rows = [*self.weightings.items(), ("tuned (nested CV)", self.tuned)]
        for name, h in rows:
            table.add_row(name, h.within.cell(), h.pooled.cell(), h.mae.cell(), h.pairwise.cell())
        shares = ", ".join(f"{c} {w:.2f}" for c, w in self.weights.items())
        return [table, f"overall profile: {self.chosen} weights ({shares})"]


def overall_heldout(
    sample: Sample, nested: NestedResult, target: OverallTarget, *, inner: int, seed: int = 0
) -> tuple[dict[str, FloatArray], FloatArray]:
    """Each weighting's and the tuned choice's outer-fold held-out overall scores: each
    fold's weights are chosen and fitted on its training items alone."""
    n = sample.n
    outer_held = {kind: np.full(n, np.nan) for kind in WEIGHTINGS}
    tuned = np.full(n, np.nan)
    for fold in nested.folds:
        train = np.setdiff1d(np.arange(n), fold.test)
        folds = _inner_folds(sample, train, inner, seed)
        columns = _overall_columns(_held_scores(sample, fold.choice, folds), target)
        chosen = _choose_weighting(sample, target, columns, train, folds)
        test_columns = _overall_columns({c: v[fold.test] for c, v in nested.tuned.items()}, target)
        for kind in WEIGHTINGS:
            w = fit_weights(kind, np.column_stack(columns)[train], target.rubric_weights)
            outer_held[kind][fold.test] = combine_columns(test_columns, w)
        tuned[fold.test] = outer_held[chosen][fold.test]
    return outer_held, tuned


def tune_overall(
    sample: Sample,
    nested: NestedResult,
    target: OverallTarget,
    *,
    outer: int,
    inner: int,
    seed: int = 0,
    resamples: int = 1000,
    budget: bool = False,
) -> tuple[OverallReport, OverallProfile]:
    """Choose the weighting inside each outer fold's training items, report the outer
    folds' held-out agreement, and fit the profile's weights on every item."""
    n = sample.n
    outer_held, tuned = overall_heldout(sample, nested, target, inner=inner, seed=seed)
    rs = Resamples.of(sample.groups, n, resamples, seed)
    figures = {k: summarise(criterion_reps(v, target.labels, rs)) for k, v in outer_held.items()}
    heldout = summarise(criterion_reps(tuned, target.labels, rs))
    everyone = np.arange(n)
    folds = _inner_folds(sample, everyone, outer, seed)
    choice = choose(sample, everyone, k=outer, seed=seed, budget=budget)
    columns = _overall_columns(_held_scores(sample, choice, folds), target)
    chosen = _choose_weighting(sample, target, columns, everyone, folds)
    w = fit_weights(chosen, np.column_stack(columns), target.rubric_weights)
    weights = {c: round(float(v), 6) for c, v in zip(target.criteria, w, strict=True)}
    profile = OverallProfile(
        field=target.field, weighting=chosen, weights=weights, bounds=target.bounds,
        heldout=heldout,
    )  # fmt: skip
    report = OverallReport(
        field=target.field, criteria=target.criteria, weightings=figures, tuned=heldout,
        chosen=chosen, weights=weights,
    )  # fmt: skip
    return report, profile


# --- juries ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Juror:
    """One judge as `tune` measured it: its sample and its nested cross-validation."""

    sample: Sample
    nested: NestedResult


def fit_jury_weights(
    kind: JuryWeighting, scores: Sequence[FloatArray], labels: FloatArray
) -> FloatArray:
    """One criterion's juror weights (≥ 0, summing to 1) from the jurors' held-out
    calibrated scores of labelled items."""
    matrix = np.column_stack(scores)
    equal = np.full(matrix.shape[1], 1.0 / matrix.shape[1])
    keep = ~(np.isnan(matrix).any(axis=1) | np.isnan(labels))
    if kind == "equal" or keep.sum() < 2:
        return equal
    x, y = matrix[keep], labels[keep]
    if kind == "inverse-error":
        raw = 1.0 / np.maximum(((x - y[:, None]) ** 2).mean(axis=0), 1e-12)
    else:
        raw = optimize.nnls(x, y)[0]
    return raw / raw.sum() if raw.sum() > 0 else equal


def _jury_scores(
    scores: Mapping[str, Predictions], weights: Mapping[str, FloatArray]
) -> Predictions:
    names = list(scores)
    return {c: combine_columns([scores[j][c] for j in names], w) for c, w in weights.items()}


def _fit_jury(
    kind: JuryWeighting, scores: Mapping[str, Predictions], labels: Predictions, index: IntArray
) -> dict[str, FloatArray]:
    names = list(scores)
    return {
        c: fit_jury_weights(kind, [scores[j][c][index] for j in names], y[index])
        for c, y in labels.items()
    }


def _candidate_names(jurors: Sequence[str]) -> list[str]:
    return [*jurors, *(f"jury {kind}" for kind in JURY_WEIGHTINGS)]


def _mean_primary(predicted: Predictions, sample: Sample, index: IntArray) -> tuple[float, float]:
    """(primary agreement, -MAE) averaged over criteria: higher is better on both."""
    primary, errors = [], []
    for c, y in sample.labels.items():
        primary.append(_primary(predicted[c], y, sample, index))
        gap = np.abs(predicted[c][index] - y[index])
        errors.append(float(np.nanmean(gap)) if (~np.isnan(gap)).any() else math.inf)
    return float(np.mean(primary)), -float(np.mean(errors))


def _choose_jury(
    sample: Sample, scores: Mapping[str, Predictions], index: IntArray, folds: Sequence[IntArray]
) -> str:
    """Among each juror alone and the jury under each weighting: the best on the inner
    folds (a jury's weights fitted on the other inner folds); ties go to a juror alone."""
    ranked: dict[str, tuple[float, float]] = {j: _mean_primary(s, sample, index)
                                              for j, s in scores.items()}  # fmt: skip
    for kind in JURY_WEIGHTINGS:
        predicted = {c: np.full(sample.n, np.nan) for c in sample.labels}
        for test in folds:
            weights = _fit_jury(kind, scores, sample.labels, np.setdiff1d(index, test))
            for c, values in _jury_scores(scores, weights).items():
                predicted[c][test] = values[test]
        ranked[f"jury {kind}"] = _mean_primary(predicted, sample, index)
    return max(_candidate_names(list(scores)), key=lambda name: ranked[name])


class JuryRow(BaseModel):
    """One jury candidate's held-out figures and its cost per item (summed over jurors)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    heldout: Agreement
    calls: float
    seconds: float | None  # None: some answers came from the cache


class JuryReport(BaseModel):
    """Each judge alone, the jury under each weighting, and the tuned choice, held out."""

    model_config = ConfigDict(extra="forbid")

    jurors: list[str]
    rows: list[JuryRow]
    tuned: Agreement
    chosen: str
    weights: dict[str, dict[str, float]]  # criterion -> juror -> weight (a jury chosen)

    def render(self) -> list[RenderableType]:
        table = Table(
            title="judges and juries (outer-fold held-out, mean over criteria, 95% group CI)",
            title_justify="left",
        )
        for column in ("candidate", "within", "pooled", "MAE", "pairwise", "calls/item  s/item"):
            table.add_column(column, justify="left" if column == "candidate" else "right")
        for row in self.rows:
            h = row.heldout
            seconds = "(cached)" if row.seconds is None else f"{row.seconds:.2f}"
            table.add_row(row.name, h.within.cell(), h.pooled.cell(), h.mae.cell(),
                          h.pairwise.cell(), f"{row.calls:.1f}  {seconds}")  # fmt: skip
        h = self.tuned
        table.add_row("tuned (nested CV)", h.within.cell(), h.pooled.cell(), h.mae.cell(),
                      h.pairwise.cell(), "")  # fmt: skip
        parts: list[RenderableType] = [table, f"jury choice: {self.chosen}"]
        if self.weights:
            parts.append("jury weights: " + "; ".join(
                f"{c}: " + ", ".join(f"{j} {w:.2f}" for j, w in ws.items())
                for c, ws in self.weights.items()))  # fmt: skip
        return parts


@dataclass
class JuryOutcome:
    """What the jury tuning chose on every item, and its report."""

    report: JuryReport
    chosen: str  # a juror's name, or `jury WEIGHTING`
    weighting: JuryWeighting | None
    weights: dict[str, list[float]]


def jury_heldout(
    jurors: Mapping[str, Juror], inner: int, seed: int
) -> tuple[dict[str, Predictions], Predictions]:
    """Every candidate's and the tuned choice's outer-fold held-out scores."""
    first = next(iter(jurors.values()))
    sample, n, names = first.sample, first.sample.n, list(jurors)
    held = {
        name: {c: np.full(n, np.nan) for c in sample.labels} for name in _candidate_names(names)
    }
    tuned = {c: np.full(n, np.nan) for c in sample.labels}
    for k, fold in enumerate(first.nested.folds):
        test, train = fold.test, np.setdiff1d(np.arange(n), fold.test)
        folds = _inner_folds(sample, train, inner, seed)
        inner_scores = {j: _held_scores(jr.sample, jr.nested.folds[k].choice, folds)
                        for j, jr in jurors.items()}  # fmt: skip
        for j, jr in jurors.items():
            for c in sample.labels:
                held[j][c][test] = jr.nested.tuned[c][test]
        outer_scores = {j: jr.nested.tuned for j, jr in jurors.items()}
        for kind in JURY_WEIGHTINGS:
            weights = _fit_jury(kind, inner_scores, sample.labels, train)
            for c, values in _jury_scores(outer_scores, weights).items():
                held[f"jury {kind}"][c][test] = values[test]
        chosen = _choose_jury(sample, inner_scores, train, folds)
        for c in sample.labels:
            tuned[c][test] = held[chosen][c][test]
    return held, tuned


def _summed_cost(costs: Sequence[Cost]) -> tuple[float, float | None]:
    calls = float(sum(c.calls for c in costs))
    seconds = None if not all(c.measured for c in costs) else float(sum(c.seconds for c in costs))
    return calls, seconds


def _mean_agreement(predicted: Predictions, labels: Predictions, rs: Resamples) -> Agreement:
    reps = [criterion_reps(predicted[c], y, rs) for c, y in labels.items()]
    mean = {m: np.mean([r[m] for r in reps], axis=0) for m in reps[0]}
    mean["n"] = np.min([r["n"] for r in reps], axis=0)
    return summarise(mean)


def tune_jury(
    jurors: Mapping[str, Juror],
    *,
    outer: int = 5,
    inner: int = 4,
    seed: int = 0,
    resamples: int = 1000,
    budget: bool = False,
) -> JuryOutcome:
    """Each judge alone and the jury, chosen by nested grouped CV over the jurors' own
    nested CVs (the same outer folds), then chosen and fitted on every item."""
    names = list(jurors)
    sample = jurors[names[0]].sample
    if any(len(jr.nested.folds) != len(jurors[names[0]].nested.folds) for jr in jurors.values()):
        raise ConfigError("the jurors' samples were split differently: tune them on one sample")
    held, tuned = jury_heldout(jurors, inner, seed)
    rs = Resamples.of(sample.groups, sample.n, resamples, seed)
    everyone = np.arange(sample.n)
    choices = {j: choose(jr.sample, everyone, k=outer, seed=seed, budget=budget)
               for j, jr in jurors.items()}  # fmt: skip
    costs = {j: jr.sample.costs.get(choices[j].reading, Cost()) for j, jr in jurors.items()}
    rows = []
    for name, predicted in held.items():
        calls, seconds = _summed_cost([costs[name]] if name in costs else list(costs.values()))
        rows.append(JuryRow(name=name, heldout=_mean_agreement(predicted, sample.labels, rs),
                            calls=calls, seconds=seconds))  # fmt: skip
    folds = _inner_folds(sample, everyone, outer, seed)
    scores = {j: _held_scores(jr.sample, choices[j], folds) for j, jr in jurors.items()}
    chosen = _choose_jury(sample, scores, everyone, folds)
    weighting: JuryWeighting | None = None
    weights: dict[str, list[float]] = {}
    if chosen.startswith("jury "):
        weighting = next(k for k in JURY_WEIGHTINGS if chosen == f"jury {k}")
        fitted = _fit_jury(weighting, scores, sample.labels, everyone)
        weights = {c: [round(float(v), 6) for v in w] for c, w in fitted.items()}
    report = JuryReport(
        jurors=names, rows=rows, tuned=_mean_agreement(tuned, sample.labels, rs), chosen=chosen,
        weights={c: dict(zip(names, w, strict=True)) for c, w in weights.items()},
    )  # fmt: skip
    return JuryOutcome(report, chosen, weighting, weights)


def jury_profile(profiles: Mapping[str, Profile], outcome: JuryOutcome) -> Profile:
    """The profile of a chosen jury: its jurors' own profiles and their weights (or, when
    one judge alone was best, that judge's profile)."""
    if outcome.weighting is None:
        return profiles[outcome.chosen]
    first = next(iter(profiles.values()))
    provenance = first.provenance.model_copy(update={"heldout": outcome.report.tuned})
    jury = JuryProfile(
        judges=[p.judge for p in profiles.values()], weighting=outcome.weighting,
        weights=outcome.weights, heldout=outcome.report.tuned,
    )  # fmt: skip
    return Profile(
        judge=f"jury[{outcome.weighting}]({', '.join(profiles)})", mode=first.mode, options={},
        criteria={}, provenance=provenance, jury=jury, jurors=list(profiles.values()),
    )  # fmt: skip
