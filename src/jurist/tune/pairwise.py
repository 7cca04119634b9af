"""Pairwise judge profiles: which number of a two-order verdict to read, how to calibrate
it, where a tie begins, and the conformal set of verdicts each pair could take.

A pairwise judgment is judged in both presentation orders. Two estimators read it:
`parsed`, the merged verdict (agreeing orders stand, disagreeing ones are a tie), coded
A = 1, tie = 0.5, B = 0; and `probability`, P(A better) + P(tie)/2 averaged over both
orders from the verdict token's probabilities (the parsed code where the judge gave none),
which cancels a position bias that the parsed verdict can only turn into ties. A
calibration (`none`, `isotonic`, or `platt`: a logistic curve on the probability's logit)
maps the estimate onto the people's labels coded the same way (symmetrically: a pair read
in the other order gets the mirrored estimate), and a tie band turns it into a verdict:
within 0.5 +/- band is a tie.

Everything is chosen by nested grouped cross-validation like the pointwise choice (the
inner folds choose the reading, estimator, calibration and band by accuracy, equals by
Brier score; the outer folds report), so the figures reported are held out. Accuracy
follows the labels' convention: a verdict counts when it equals the label, so on data
without tie labels a tie verdict is wrong (the judge did not decide); tie-aware accuracy
gives half credit where exactly one of verdict and label is a tie. A pair the judge gave
no verdict for is left out (each figure's n says how many counted).

Sets: split conformal on the score |label code - calibrated estimate|, over the verdicts
the labels use, at the requested coverage; the guarantee is marginal over pairs drawn
like the labelled ones, and a set may be empty (no verdict fits at that coverage).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from rich.console import RenderableType
from rich.table import Table

from jurist.core.data import Item
from jurist.core.errors import ConfigError
from jurist.core.judgment import Judgment, PairwiseJudgment, Verdict
from jurist.datasets import ItemSource
from jurist.stats.arrays import FloatArray, IntArray
from jurist.stats.bootstrap import percentile_interval
from jurist.stats.results import Figure
from jurist.tune.agreement import Resamples
from jurist.tune.calibration import fit_calibration
from jurist.tune.candidates import Cost
from jurist.tune.conformal import conformal_quantile
from jurist.tune.cv import Sample, group_folds, item_groups

__all__ = [
    "BANDS",
    "PAIR_CALIBRATIONS",
    "PAIR_ESTIMATORS",
    "PairChoice",
    "PairFigures",
    "PairMap",
    "PairNested",
    "PairwiseChoice",
    "PairwiseReport",
    "choose_pair",
    "decide",
    "fit_pair_map",
    "judged_sample",
    "nested_pairwise",
    "pair_sample",
    "pairwise_report",
    "pairwise_source",
    "raw_pair",
    "tune_pairwise",
]

PairEstimator = Literal["parsed", "probability"]
PairCalibrationKind = Literal["none", "isotonic", "platt"]
PAIR_ESTIMATORS: tuple[PairEstimator, ...] = ("parsed", "probability")
PAIR_CALIBRATIONS: tuple[PairCalibrationKind, ...] = ("none", "isotonic", "platt")
BANDS: tuple[float, ...] = (0.0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3)
CODES: dict[str, float] = {"A": 1.0, "tie": 0.5, "B": 0.0}
VERDICT_OF: dict[float, Verdict] = {1.0: "A", 0.5: "tie", 0.0: "B"}
KEY = "verdict"  # the one pseudo-criterion of a pairwise `Sample`
_EPS = 1e-4  # probabilities are clipped this far from 0 and 1 before a logit


def label_code(value: Any) -> float:
    """A person's verdict as a code (NaN: not A, B or tie)."""
    text = str(value).strip() if value is not None else ""
    found = {k.lower(): v for k, v in CODES.items()}.get(text.lower())
    return math.nan if found is None else found


def raw_pair(judgment: Judgment, estimator: PairEstimator) -> float:
    """The number an estimator reads from one judgment (NaN: no verdict)."""
    if not isinstance(judgment, PairwiseJudgment) or judgment.pair is None:
        return math.nan
    pair = judgment.pair
    if pair.status != "ok" or pair.verdict is None:
        return math.nan
    parsed = CODES[pair.verdict]
    if estimator == "parsed" or pair.p_a is None:
        return parsed
    return float(pair.p_a)


def decide(q: FloatArray, band: float) -> FloatArray:
    """Verdict codes: a tie within 0.5 +/- band (NaN stays NaN)."""
    values = np.asarray(q, dtype=np.float64)
    codes = np.where(
        values > 0.5 + band + 1e-12, 1.0, np.where(values < 0.5 - band - 1e-12, 0.0, 0.5)
    )
    return np.where(np.isnan(values), np.nan, codes)


def _credit(verdicts: FloatArray, labels: FloatArray, tie_aware: bool = False) -> FloatArray:
    """Per pair: 1 when the verdict equals the label; with `tie_aware`, 0.5 when exactly
    one of them is a tie; NaN where either is missing."""
    hit = (verdicts == labels).astype(np.float64)
    if tie_aware:
        one_tie = (verdicts == 0.5) ^ (labels == 0.5)
        hit = np.where(one_tie, 0.5, hit)
    return np.where(np.isnan(verdicts) | np.isnan(labels), np.nan, hit)


def _accuracy(verdicts: FloatArray, labels: FloatArray) -> float:
    credit = _credit(verdicts, labels)
    return float(np.nanmean(credit)) if np.any(~np.isnan(credit)) else -1.0


@dataclass(frozen=True)
class PairMap:
    """A fitted monotone map: estimate -> calibrated P(A better) + P(tie)/2. Isotonic is
    linear between knots; Platt is sigmoid(slope * logit(x) + intercept)."""

    kind: PairCalibrationKind = "none"
    knots_x: tuple[float, ...] = ()
    knots_y: tuple[float, ...] = ()
    slope: float = 1.0
    intercept: float = 0.0

    def apply(self, raw: FloatArray) -> FloatArray:
        x = np.asarray(raw, dtype=np.float64)
        if self.kind == "platt":
            z = _logit(x)
            out = 1.0 / (1.0 + np.exp(-(self.slope * z + self.intercept)))
        elif self.kind == "isotonic" and self.knots_x:
            out = np.interp(x, self.knots_x, self.knots_y)
        else:
            out = x.copy()
        return np.where(np.isnan(x), np.nan, np.clip(out, 0.0, 1.0))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        if self.kind == "isotonic":
            data["knots_x"] = [round(v, 6) for v in self.knots_x]
            data["knots_y"] = [round(v, 6) for v in self.knots_y]
        if self.kind == "platt":
            data["slope"], data["intercept"] = round(self.slope, 6), round(self.intercept, 6)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PairMap:
        return cls(
            data.get("kind", "none"),
            tuple(float(v) for v in data.get("knots_x", ())),
            tuple(float(v) for v in data.get("knots_y", ())),
            float(data.get("slope", 1.0)),
            float(data.get("intercept", 0.0)),
        )


def _logit(x: FloatArray) -> FloatArray:
    p = np.clip(x, _EPS, 1.0 - _EPS)
    return np.log(p / (1.0 - p))


def _fit_platt(x: FloatArray, y: FloatArray, ridge: float = 1e-2) -> PairMap:
    """Logistic regression of the label codes (soft targets) on the standardised logit,
    by Newton steps; a small ridge keeps a separable sample finite."""
    z = _logit(x)
    centre, scale = float(z.mean()), float(z.std()) or 1.0
    design = np.column_stack([(z - centre) / scale, np.ones_like(z)])
    theta = np.zeros(2)
    for _ in range(50):
        q = 1.0 / (1.0 + np.exp(-(design @ theta)))
        gradient = design.T @ (q - y) + ridge * theta
        hessian = (design * (q * (1 - q))[:, None]).T @ design + ridge * np.eye(2)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.abs(step).max() < 1e-9:
            break
    slope = float(max(theta[0], 0.0)) / scale  # never reverse the judge's ordering
    return PairMap("platt", slope=slope, intercept=float(theta[1]) - slope * centre)


def fit_pair_map(kind: PairCalibrationKind, raw: FloatArray, labels: FloatArray) -> PairMap:
    """Fit `kind` on the pairs with both an estimate and a label (none: the identity).

    Each pair is fitted in both orders, (x, y) and (1 - x, 1 - y), so the map is symmetric
    (q(1 - x) = 1 - q(x)): which response a data file lists first says nothing about the
    judge, and a map free to shift towards A would learn the file's label balance (on a
    balanced sample, the opposite of each held-out fold's)."""
    x, y = np.asarray(raw, dtype=np.float64), np.asarray(labels, dtype=np.float64)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = np.concatenate([x[keep], 1.0 - x[keep]]), np.concatenate([y[keep], 1.0 - y[keep]])
    if kind == "none" or x.size == 0:
        return PairMap()
    if kind == "platt":
        return _fit_platt(x, y)
    fitted = fit_calibration("isotonic", x, y)
    return PairMap("isotonic", fitted.knots_x, fitted.knots_y)


def pair_sample(
    raw: Mapping[str, Mapping[str, FloatArray]],
    labels: FloatArray,
    groups: Sequence[str] | None,
    costs: Mapping[str, Cost] | None = None,
) -> Sample:
    """The cross-validation `Sample` of a pairwise run: `raw[reading][estimator]` per pair,
    labels as verdict codes, under the one pseudo-criterion `verdict`."""
    return Sample(
        {r: {KEY: {e: np.asarray(v, dtype=np.float64) for e, v in by.items()}}
         for r, by in raw.items()},
        {KEY: np.asarray(labels, dtype=np.float64)},
        None if groups is None else np.asarray(groups, dtype=object),
        {KEY: (0.0, 1.0)},
        dict(costs or {}),
    )  # fmt: skip


def pairwise_source(
    data: str | Path | None,
    preset: str | None,
    limit: int | None,
    label_fields: Sequence[str],
    group_field: str | None,
) -> tuple[ItemSource, str]:
    """The pairs `jurist tune` reads, and the one field holding their A / B / tie labels
    (`FIELD` or `NAME=FIELD`; default `preference`, the pairwise presets' field)."""
    if len(label_fields) > 1:
        raise ConfigError("pairwise judging takes one --label-field (A, B or tie)")
    field = label_fields[0].rpartition("=")[2] if label_fields else "preference"
    source = ItemSource.for_mode(
        "pairwise", data=Path(data) if data else None, preset=preset, limit=limit,
        labels=(field,), keep=tuple(f for f in (group_field,) if f),
    )  # fmt: skip
    return source, field


def judged_sample(
    items: Sequence[Item],
    judged: Mapping[str, Sequence[Judgment]],
    label_field: str,
    group_field: str | None,
    costs: Mapping[str, Cost],
) -> Sample:
    """The `Sample` of pairs judged under each reading, labelled from `label_field`."""
    labels = np.array(
        [label_code(item.labels.get(label_field, item.metadata.get(label_field)))
         for item in items]
    )  # fmt: skip
    if not np.any(~np.isnan(labels)):
        raise ConfigError(f"no pair has a verdict label (A, B or tie) in {label_field!r}")
    groups = item_groups(items, group_field)
    raw = {
        reading: {e: np.array([raw_pair(j, e) for j in found]) for e in PAIR_ESTIMATORS}
        for reading, found in judged.items()
    }
    return pair_sample(raw, labels, groups, costs)


@dataclass(frozen=True)
class PairChoice:
    """One way to read a pairwise judge: reading, estimator, calibration and tie band."""

    reading: str
    estimator: PairEstimator
    calibration: PairCalibrationKind
    band: float = 0.0


# (reading, estimator, calibration): what a candidate reads; its band is chosen with it.
Candidate = tuple[str, PairEstimator, PairCalibrationKind]


def _complement(n: int, test: IntArray) -> IntArray:
    mask = np.ones(n, dtype=bool)
    mask[test] = False
    return np.flatnonzero(mask)


def _folds(sample: Sample, index: IntArray, k: int, seed: int) -> list[IntArray]:
    return [index[f] for f in group_folds(sample.group_codes()[index], k, seed)]


def _cross_fit(
    raw: FloatArray, labels: FloatArray, kind: PairCalibrationKind, folds: Sequence[IntArray]
) -> FloatArray:
    """Held-out calibrated estimates of `folds`' pairs, each fold fitted on the others."""
    out = np.full(raw.shape, np.nan)
    everyone = np.concatenate(folds) if folds else np.empty(0, dtype=np.intp)
    for test in folds:
        train = np.setdiff1d(everyone, test)
        out[test] = fit_pair_map(kind, raw[train], labels[train]).apply(raw[test])
    return out


def inner_table(
    sample: Sample, index: IntArray, k: int, seed: int
) -> dict[Candidate, tuple[float, float, float]]:
    """(reading, estimator, calibration) -> (best band, its inner held-out accuracy, the
    Brier score of the calibrated estimate), from `index`'s pairs alone."""
    folds = _folds(sample, index, k, seed)
    labels = sample.labels[KEY]
    table: dict[Candidate, tuple[float, float, float]] = {}
    for reading, raw in sample.raw.items():
        for estimator in PAIR_ESTIMATORS:
            for kind in PAIR_CALIBRATIONS:
                held = _cross_fit(raw[KEY][estimator], labels, kind, folds)[index]
                scores = [_accuracy(decide(held, b), labels[index]) for b in BANDS]
                best = int(np.argmax(scores))  # the narrowest band among equals
                errors = (held - labels[index]) ** 2
                brier = float(np.nanmean(errors)) if np.any(~np.isnan(errors)) else np.inf
                table[(reading, estimator, kind)] = (BANDS[best], scores[best], brier)
    return table


def choose_pair(sample: Sample, index: IntArray, *, k: int = 4, seed: int = 0) -> PairChoice:
    """The choice made from `index`'s pairs alone: the best inner accuracy; among equals
    (a calibration rarely changes a verdict) the lowest Brier score, then the first
    (cheapest reading, parsed, uncalibrated)."""
    return _best(inner_table(sample, index, k, seed))


def _best(table: Mapping[Candidate, tuple[float, float, float]]) -> PairChoice:
    key = max(table, key=lambda c: (table[c][1], -table[c][2]))  # the first of equals
    reading, estimator, kind = key
    return PairChoice(reading, estimator, kind, table[key][0])


def _radius(
    sample: Sample, choice: PairChoice, index: IntArray, coverage: float, k: int, seed: int
) -> float:
    """The conformal radius from the choice's inner held-out scores on `index`."""
    folds = _folds(sample, index, k, seed)
    raw = sample.raw[choice.reading][KEY][choice.estimator]
    held = _cross_fit(raw, sample.labels[KEY], choice.calibration, folds)[index]
    return conformal_quantile(sample.labels[KEY][index] - held, coverage)


def verdict_sets(q: FloatArray, radius: float, classes: Sequence[float]) -> list[list[float]]:
    """Per pair, the verdict codes within `radius` of its calibrated estimate."""
    return [[c for c in classes if abs(c - v) <= radius + 1e-9] if not math.isnan(v) else []
            for v in np.asarray(q, dtype=np.float64)]  # fmt: skip


@dataclass
class PairNested:
    """Outer-fold held-out verdicts of the tuned procedure and of every candidate, and the
    tuned procedure's conformal sets."""

    folds: list[tuple[IntArray, PairChoice, PairMap, float]]
    tuned: FloatArray
    probability: FloatArray
    covered: FloatArray  # 1 / 0 per pair with a label and an estimate, else NaN
    set_size: FloatArray
    candidates: dict[Candidate, FloatArray] = field(default_factory=dict)


def nested_pairwise(
    sample: Sample, *, outer: int = 5, inner: int = 4, coverage: float = 0.9, seed: int = 0
) -> PairNested:
    """Choose and fit on each outer fold's training pairs, predict its test pairs."""
    n, labels = sample.n, sample.labels[KEY]
    classes = classes_of(labels)
    nan = np.full(n, np.nan)
    result = PairNested([], nan.copy(), nan.copy(), nan.copy(), nan.copy())
    for test in group_folds(sample.group_codes(), outer, seed):
        train = _complement(n, test)
        table = inner_table(sample, train, inner, seed)
        choice = _best(table)
        for (reading, estimator, kind), (band, *_) in table.items():
            raw = sample.raw[reading][KEY][estimator]
            fitted = fit_pair_map(kind, raw[train], labels[train])
            held = result.candidates.setdefault((reading, estimator, kind), nan.copy())
            held[test] = decide(fitted.apply(raw[test]), band)
        raw = sample.raw[choice.reading][KEY][choice.estimator]
        fitted = fit_pair_map(choice.calibration, raw[train], labels[train])
        radius = _radius(sample, choice, train, coverage, inner, seed)
        q = fitted.apply(raw[test])
        result.probability[test], result.tuned[test] = q, decide(q, choice.band)
        sets = verdict_sets(q, radius, classes)
        for i, members, y, v in zip(test, sets, labels[test], q, strict=True):
            if not (math.isnan(y) or math.isnan(v)):
                result.covered[i], result.set_size[i] = float(y in members), len(members)
        result.folds.append((test, choice, fitted, radius))
    return result


def classes_of(labels: FloatArray) -> list[float]:
    """The verdict codes the labels use (A and B always)."""
    found = {float(v) for v in labels[~np.isnan(labels)]}
    return sorted(found | {0.0, 1.0}, reverse=True)


class PairFigures(BaseModel):
    """Held-out accuracy (the labels' convention) and tie-aware accuracy, or a paired
    difference of two procedures'."""

    model_config = ConfigDict(extra="forbid")

    accuracy: Figure
    tie_aware: Figure


class PairRow(BaseModel):
    """One candidate's outer-fold figures (its band chosen by each fold's inner folds)."""

    model_config = ConfigDict(extra="forbid")

    reading: str
    estimator: str
    calibration: str
    heldout: PairFigures
    calls: float
    tokens: float | None
    seconds: float | None


class PairwiseReport(BaseModel):
    """What `tune` measured on a pairwise sample."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["pairwise"] = "pairwise"
    n: int
    groups: int
    group_field: str | None
    label_field: str
    ties_in_labels: bool
    folds: int
    candidates: list[PairRow]
    default_name: str
    default: PairFigures
    tuned: PairFigures
    difference: PairFigures
    coverage_target: float
    coverage: Figure
    set_size: float | None
    chosen: str = ""
    profile_path: str | None = None

    def render(self) -> list[RenderableType]:
        grouping = (
            f"{self.groups} groups of {self.group_field}" if self.group_field else "no groups"
        )
        convention = (
            "labels include ties: accuracy is the exact verdict (A / B / tie)"
            if self.ties_in_labels
            else "labels have no ties: a tie verdict counts as wrong"
        )
        parts: list[RenderableType] = [
            f"{self.n} labelled pairs ({self.label_field}), {grouping}; {self.folds} outer "
            f"folds (held-out, 95% group CI); {convention}; tie-aware: a tie on one side "
            "counts half"
        ]
        table = Table(title="candidates (outer-fold held-out)", title_justify="left")
        for column in ("reading", "estimator", "calibration", "accuracy", "tie-aware"):
            table.add_column(column, justify="left" if column == "reading" else "right")
        table.add_column("calls/item  tokens/item  s/item", justify="right")
        for row in self.candidates:
            cost = (
                f"{row.calls:.1f}  (cached)"
                if row.tokens is None or row.seconds is None
                else f"{row.calls:.1f}  {row.tokens:.0f}  {row.seconds:.2f}"
            )
            h = row.heldout
            table.add_row(row.reading, row.estimator, row.calibration, h.accuracy.cell(),
                          h.tie_aware.cell(), cost)  # fmt: skip
        parts.append(table)
        summary = Table(
            title=f"default ({self.default_name} parsed verdict) vs tuned (nested CV)",
            title_justify="left",
        )
        for column in ("", "accuracy", "tie-aware"):
            summary.add_column(column, justify="left" if not column else "right")
        for name, figures, signed in (("default", self.default, False),
                                      ("tuned", self.tuned, False),
                                      ("tuned - default", self.difference, True)):  # fmt: skip
            summary.add_row(name, figures.accuracy.cell(signed), figures.tie_aware.cell(signed))
        parts.append(summary)
        size = "-" if self.set_size is None else f"{self.set_size:.2f}"
        parts.append(
            f"conformal {self.coverage_target:.0%} verdict sets: held-out coverage "
            f"{self.coverage.cell()}, mean set size {size}"
        )
        parts.append(f"profile: {self.chosen}")
        if self.profile_path:
            parts.append(f"saved {self.profile_path}")
        return parts


def _reps(credit: FloatArray, rs: Resamples) -> FloatArray:
    """Mean credit on the sample (row 0) and on every group resample."""
    keep = ~np.isnan(credit)
    n_groups = rs.counts.shape[1]
    sums = np.bincount(rs.codes[keep], weights=credit[keep], minlength=n_groups)
    counts = np.bincount(rs.codes[keep], minlength=n_groups).astype(np.float64)
    top, bottom = rs.counts @ sums, rs.counts @ counts
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)


def _figure(values: FloatArray, n: int) -> Figure:
    point, rest = float(values[0]), values[1:]
    rest = rest[~np.isnan(rest)]
    if math.isnan(point) or rest.size == 0:
        return Figure(value=None if math.isnan(point) else point, n=n)
    low, high = percentile_interval(rest)
    return Figure(value=point, low=float(low), high=float(high), n=n)


def _figures(
    verdicts: FloatArray, labels: FloatArray, rs: Resamples, base: FloatArray | None = None
) -> PairFigures:
    out = {}
    for name, aware in (("accuracy", False), ("tie_aware", True)):
        credit = _credit(verdicts, labels, aware)
        reps = _reps(credit, rs)
        n = int((~np.isnan(credit)).sum())
        if base is not None:
            other = _credit(base, labels, aware)
            reps = reps - _reps(other, rs)
            n = min(n, int((~np.isnan(other)).sum()))
        out[name] = _figure(reps, n)
    return PairFigures(**out)


def pairwise_report(
    sample: Sample,
    nested: PairNested,
    *,
    group_field: str | None,
    label_field: str,
    default: str,
    coverage: float,
    resamples: int = 1000,
    seed: int = 0,
) -> PairwiseReport:
    """Every held-out figure on one set of group resamples (differences are paired)."""
    rs = Resamples.of(sample.groups, sample.n, resamples, seed)
    labels = sample.labels[KEY]
    base = decide(sample.raw[default][KEY]["parsed"], 0.0)
    rows = []
    for (reading, estimator, kind), verdicts in nested.candidates.items():
        cost = sample.costs.get(reading, Cost())
        rows.append(PairRow(
            reading=reading, estimator=estimator, calibration=kind,
            heldout=_figures(verdicts, labels, rs), calls=cost.calls,
            tokens=cost.tokens if cost.measured else None,
            seconds=cost.seconds if cost.measured else None,
        ))  # fmt: skip
    covered = nested.covered[~np.isnan(nested.covered)]
    sizes = nested.set_size[~np.isnan(nested.set_size)]
    return PairwiseReport(
        n=sample.n,
        groups=int(rs.counts.shape[1]) if sample.groups is not None else 0,
        group_field=group_field,
        label_field=label_field,
        ties_in_labels=bool(np.any(labels == 0.5)),
        folds=len(nested.folds),
        candidates=rows,
        default_name=default,
        default=_figures(base, labels, rs),
        tuned=_figures(nested.tuned, labels, rs),
        difference=_figures(nested.tuned, labels, rs, base),
        coverage_target=coverage,
        coverage=Figure.share(int(covered.sum()), int(covered.size)),
        set_size=float(sizes.mean()) if sizes.size else None,
    )


class PairwiseChoice(BaseModel):
    """What a pairwise profile holds beside its reading: the estimator, the calibration
    map, the tie band, and the conformal radius over the label's verdicts."""

    model_config = ConfigDict(extra="forbid")

    estimator: PairEstimator
    calibration: dict[str, Any]
    band: float
    conformal: dict[str, Any]  # coverage, radius (None: infinite), n
    classes: list[Verdict] = Field(default_factory=lambda: ["A", "B"])
    heldout: PairFigures | None = None  # the tuned procedure's outer-fold figures
    default_heldout: PairFigures | None = None

    def pair_map(self) -> PairMap:
        return PairMap.from_dict(self.calibration)

    def radius(self) -> float:
        found = self.conformal.get("radius")
        return math.inf if found is None else float(found)

    def apply(self, judgment: Judgment) -> Judgment:
        """The judgment with the calibrated P(A better), the verdict the band gives and the
        set of verdicts beside the raw verdict."""
        if not isinstance(judgment, PairwiseJudgment) or judgment.pair is None:
            return judgment
        x = raw_pair(judgment, self.estimator)
        if math.isnan(x):
            return judgment
        q = float(self.pair_map().apply(np.array([x]))[0])
        codes = [CODES[c] for c in self.classes]
        members = verdict_sets(np.array([q]), self.radius(), codes)[0]
        update = {
            "calibrated": round(q, 4),
            "calibrated_verdict": VERDICT_OF[float(decide(np.array([q]), self.band)[0])],
            "prediction_set": [VERDICT_OF[c] for c in members],
        }
        return judgment.model_copy(update={"pair": judgment.pair.model_copy(update=update)})


def tune_pairwise(
    sample: Sample,
    *,
    group_field: str | None,
    label_field: str,
    default: str,
    outer: int = 5,
    inner: int = 4,
    coverage: float = 0.9,
    seed: int = 0,
    resamples: int = 1000,
) -> tuple[PairChoice, PairwiseChoice, PairwiseReport]:
    """Nested CV for the report, then the choice and fits on every pair for the profile."""
    nested = nested_pairwise(sample, outer=outer, inner=inner, coverage=coverage, seed=seed)
    report = pairwise_report(
        sample, nested, group_field=group_field, label_field=label_field,
        default=default, coverage=coverage, resamples=resamples, seed=seed,
    )  # fmt: skip
    everyone = np.arange(sample.n)
    choice = choose_pair(sample, everyone, k=outer, seed=seed)
    labels = sample.labels[KEY]
    raw = sample.raw[choice.reading][KEY][choice.estimator]
    fitted = fit_pair_map(choice.calibration, raw, labels)
    radius = _radius(sample, choice, everyone, coverage, outer, seed)
    classes = [VERDICT_OF[c] for c in classes_of(labels)]
    profile = PairwiseChoice(
        estimator=choice.estimator,
        calibration=fitted.to_dict(),
        band=choice.band,
        conformal={"coverage": coverage, "radius": None if math.isinf(radius) else
                   round(radius, 6), "n": int((~np.isnan(labels)).sum())},
        classes=classes,
        heldout=report.tuned,
        default_heldout=report.default,
    )  # fmt: skip
    report.chosen = (
        f"{choice.reading} {choice.estimator} {choice.calibration} tie band ±{choice.band:.2f}, "
        f"{coverage:.0%} set radius {radius:.3f}"
    )
    return choice, profile, report
