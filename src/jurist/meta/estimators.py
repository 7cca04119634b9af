"""Every estimator of one criterion side by side: parsed score, expected score, LAGER, a
learned head. Each gets pooled and within-group (e.g. per source document, SummEval's
summary-level) Spearman with a group-bootstrap CI, and its paired difference from a
baseline estimator on the same resamples, so a user sees which one to trust.

Groups are resampled, not items: summaries of one document share its difficulty, so an item
bootstrap would make the intervals too narrow. `criterion_estimators` is the one path from
judged results to this table: `jurist meta` (per criterion, when a white-box judge wrote
LAGER or probe scores) and `jurist calibrate compare` both call it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray
from rich.console import Group
from rich.table import Table

from jurist.core.lazy import lazy
from jurist.meta.figures import Figure, Section
from jurist.meta.join import CriterionData, Results, criterion_data
from jurist.meta.options import Settings
from jurist.stats.bootstrap import percentile_interval
from jurist.stats.compare import fmt_interval
from jurist.stats.results import Estimate

stats = lazy("scipy.stats")


@dataclass(frozen=True)
class EstimatorFigure:
    """One estimator's agreement with people, and its difference from the baseline."""

    name: str
    pooled: Estimate
    within: Estimate
    pooled_diff: Estimate | None = None
    within_diff: Estimate | None = None


@dataclass
class EstimatorComparison:
    """All estimators of one criterion on the items every estimator scored."""

    criterion: str
    baseline: str
    n_items: int
    n_groups: int
    figures: list[EstimatorFigure] = field(default_factory=list)

    def render(self) -> Table:
        return EstimatorsBlock.of(self).render(self.criterion)

    def to_dict(self) -> dict[str, object]:
        return {
            "criterion": self.criterion,
            "baseline": self.baseline,
            "n_items": self.n_items,
            "n_groups": self.n_groups,
            "figures": [
                {
                    "name": f.name,
                    **{
                        key: (getattr(f, key).to_dict() if getattr(f, key) else None)
                        for key in ("pooled", "within", "pooled_diff", "within_diff")
                    },
                }
                for f in self.figures
            ],
        }


class EstimatorRow(Section):
    """One estimator as a report carries it; differences are from the baseline."""

    _OPTIONAL = frozenset({"pooled_diff", "within_diff"})

    name: str
    pooled: Figure
    within: Figure
    pooled_diff: Figure | None = None
    within_diff: Figure | None = None


class EstimatorsBlock(Section):
    """An `EstimatorComparison` as a typed report section (what `jurist meta` shows and
    exports per criterion when the results carry white-box estimators)."""

    _OPTIONAL = frozenset({"group_field"})

    group_field: str | None = None
    baseline: str
    n_items: int
    n_groups: int
    estimators: list[EstimatorRow]

    @classmethod
    def of(cls, comparison: EstimatorComparison, group_field: str | None = None) -> EstimatorsBlock:
        def figure(value: Estimate | None) -> Figure | None:
            return None if value is None else Figure.of(value)

        return cls(
            group_field=group_field,
            baseline=comparison.baseline,
            n_items=comparison.n_items,
            n_groups=comparison.n_groups,
            estimators=[
                EstimatorRow(
                    name=f.name,
                    pooled=Figure.of(f.pooled),
                    within=Figure.of(f.within),
                    pooled_diff=figure(f.pooled_diff),
                    within_diff=figure(f.within_diff),
                )
                for f in comparison.figures
            ],
        )

    def render(self, criterion: str) -> Table:
        if self.group_field:
            groups = f"{self.n_groups} groups of {self.group_field}"
        elif self.n_groups < self.n_items:
            groups = f"{self.n_groups} groups"
        else:
            groups = "groups of one (name a group field, e.g. doc_id, for within-group figures)"
        table = Table(
            title=f"{criterion}: estimators' Spearman with people, {self.n_items} items in "
            f"{groups} (95% group-bootstrap CI; Δ vs {self.baseline}, paired)",
            title_justify="left",
        )
        for column in ("estimator", "pooled", "within-group", "Δ pooled", "Δ within"):
            table.add_column(column, justify="left" if column == "estimator" else "right")
        for row in self.estimators:
            table.add_row(
                row.name,
                *(_fmt(f) for f in (row.pooled, row.within, row.pooled_diff, row.within_diff)),
            )
        return table


def _fmt(value: Figure | None) -> str:
    if value is None:
        return ""
    if value.value is None:
        return "n/a"
    if value.low is None or value.high is None:
        return f"{value.value:.3f}"
    return fmt_interval(value.value, value.low, value.high)


def _rank(values: np.ndarray) -> np.ndarray:
    return np.asarray(stats.rankdata(values, axis=-1), dtype=np.float64)


def _pearson_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson r of each row of x with each row of y (same shapes), NaN when constant."""
    xc = x - x.mean(axis=-1, keepdims=True)
    yc = y - y.mean(axis=-1, keepdims=True)
    denominator = np.sqrt((xc**2).sum(axis=-1) * (yc**2).sum(axis=-1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, (xc * yc).sum(axis=-1) / denominator, np.nan)


def within_group_spearman(scores: ArrayLike, human: ArrayLike, groups: ArrayLike) -> np.ndarray:
    """Spearman inside each group (NaN where either side is constant), in sorted group order."""
    s, h, g = np.asarray(scores, float), np.asarray(human, float), np.asarray(groups)
    out = []
    for key in sorted(set(g.tolist()), key=str):
        mask = g == key
        if mask.sum() < 2:
            out.append(np.nan)
            continue
        out.append(float(_pearson_rows(_rank(s[mask]), _rank(h[mask]))))
    return np.asarray(out)


def _resampled(
    matrix: np.ndarray,
    y: np.ndarray,
    within: np.ndarray,
    members: list[np.ndarray],
    n_resamples: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Pooled and within-group Spearman per estimator on each group resample."""
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, len(members), size=(n_resamples, len(members)))
    pooled_reps = np.empty((n_resamples, len(matrix)))
    within_reps = np.empty((n_resamples, len(matrix)))
    for r, draw in enumerate(draws):
        index = np.concatenate([members[k] for k in draw])
        ranks = np.tile(_rank(y[index]), (len(matrix), 1))
        pooled_reps[r] = _pearson_rows(_rank(matrix[:, index]), ranks)
        within_reps[r] = np.nanmean(within[:, draw], axis=1)
    return pooled_reps, within_reps


def compare_estimators(
    estimates: Mapping[str, ArrayLike],
    human: ArrayLike,
    groups: ArrayLike,
    *,
    criterion: str = "",
    baseline: str | None = None,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> EstimatorComparison:
    """Compare estimators on the items all of them scored; `baseline` (default: the first)
    is subtracted from each other estimator within every resample (a paired bootstrap)."""
    names = list(estimates)
    baseline = baseline or names[0]
    matrix = np.vstack([np.asarray(estimates[n], dtype=float) for n in names])
    y = np.asarray(human, dtype=float)
    g = np.asarray(groups).astype(str)
    keep = ~np.isnan(matrix).any(axis=0) & ~np.isnan(y)
    matrix, y, g = matrix[:, keep], y[keep], g[keep]
    keys = sorted(set(g.tolist()))
    members = [np.flatnonzero(g == k) for k in keys]
    result = EstimatorComparison(criterion, baseline, int(y.size), len(keys))
    if y.size < 3:
        nan = Estimate(math.nan, math.nan, math.nan, int(y.size))
        result.figures = [EstimatorFigure(n, nan, nan) for n in names]
        return result
    within = np.vstack([within_group_spearman(row, y, g) for row in matrix])  # (est, groups)
    with warnings.catch_warnings():  # all-NaN resamples (constant estimators) stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        pooled_reps, within_reps = _resampled(matrix, y, within, members, n_resamples, seed)
        pooled_point = _pearson_rows(_rank(matrix), np.tile(_rank(y), (len(names), 1)))
        within_point = np.nanmean(within, axis=1)
    base = names.index(baseline)

    def estimate(point: float, reps: np.ndarray) -> Estimate:
        if len(keys) < 2:  # one group: a point estimate, but nothing to resample
            return Estimate(float(point), math.nan, math.nan, int(y.size), confidence=confidence)
        low, high = (
            percentile_interval(reps[np.isfinite(reps)], confidence)
            if np.isfinite(reps).any()
            else (math.nan, math.nan)
        )
        return Estimate(float(point), float(low), float(high), int(y.size), confidence=confidence)

    for i, name in enumerate(names):
        diffs: dict[str, Estimate | None] = {"pooled_diff": None, "within_diff": None}
        if i != base:
            diffs["pooled_diff"] = estimate(
                pooled_point[i] - pooled_point[base], pooled_reps[:, i] - pooled_reps[:, base]
            )
            diffs["within_diff"] = estimate(
                within_point[i] - within_point[base], within_reps[:, i] - within_reps[:, base]
            )
        result.figures.append(
            EstimatorFigure(
                name,
                estimate(pooled_point[i], pooled_reps[:, i]),
                estimate(within_point[i], within_reps[:, i]),
                **diffs,
            )
        )
    return result


WHITEBOX_FIELDS = {"LAGER": "expected_lager", "learned head": "probe"}
"""Shown name -> CriterionScore extra of the estimators only a white-box judge writes."""


def _extra_column(results: Results, data: CriterionData, attribute: str) -> NDArray[np.float64]:
    """One CriterionScore extra per judgment, NaN unless the criterion is ok."""
    out = np.full(len(results), np.nan)
    for i, judgment in enumerate(results.judgments):
        score = (getattr(judgment, "criteria", None) or {}).get(data.criterion)
        value = None if score is None or data.status[i] != "ok" else score.extras.get(attribute)
        if value is not None:
            out[i] = float(value)
    return out


def estimator_groups(results: Results, group_field: str | None) -> NDArray[np.object_]:
    """The group of every judgment: `group_field` (metadata first, as `--by` reads it),
    the item itself where a judgment lacks it or no field is named."""
    items = np.asarray([j.item_id for j in results.judgments], dtype=object)
    if group_field is None:
        return items
    values = results.field(group_field)
    return np.asarray(
        [item if v is None else str(v) for item, v in zip(items, values, strict=True)],
        dtype=object,
    )


def criterion_estimators(
    results: Results,
    data: CriterionData,
    groups: NDArray[np.object_],
    settings: Settings | None = None,
    *,
    baseline: str = "expected",
    whitebox_only: bool = True,
) -> EstimatorComparison | None:
    """Parsed, expected, LAGER and learned-head scores of one criterion against its human
    mean, side by side; estimators the results lack are left out. With `whitebox_only`,
    None unless LAGER or a learned head is there (the agreement table covers the rest)."""
    if data.label_field is None or np.isnan(data.human).all():
        return None
    columns = {"parsed": data.score, "expected": data.expected}
    columns |= {name: _extra_column(results, data, f) for name, f in WHITEBOX_FIELDS.items()}
    present = {name: v for name, v in columns.items() if not np.isnan(v).all()}
    if not present or (whitebox_only and not set(present) & set(WHITEBOX_FIELDS)):
        return None
    return compare_estimators(
        present,
        data.human,
        groups,
        criterion=data.criterion,
        baseline=baseline if baseline in present else next(iter(present)),
        **(settings or Settings()).kw(),
    )


@dataclass
class EstimatorsReport:
    """Every criterion's estimators side by side, from one results file."""

    source: str
    comparisons: list[EstimatorComparison]
    group_field: str | None = None

    def render(self) -> Group:
        return Group(
            *(EstimatorsBlock.of(c, self.group_field).render(c.criterion) for c in self.comparisons)
        )

    def to_dict(self) -> dict[str, object]:
        return {"source": self.source, "criteria": [c.to_dict() for c in self.comparisons]}


def estimators_report(
    source: str | Path,
    *,
    group_field: str | None = "doc_id",
    baseline: str = "expected",
    n_resamples: int = 1000,
    seed: int = 0,
) -> EstimatorsReport:
    """Parsed, expected, LAGER and learned-head scores of a pointwise run against the labels
    its items carry (`jurist calibrate compare`; `jurist meta --within` shows the same)."""
    results = Results.load(source)
    groups = estimator_groups(results, group_field)
    settings = Settings(n_resamples=n_resamples, seed=seed)
    comparisons = [
        comparison
        for data in criterion_data(results)
        if (
            comparison := criterion_estimators(
                results, data, groups, settings, baseline=baseline, whitebox_only=False
            )
        )
        is not None
    ]
    return EstimatorsReport(results.path, comparisons, group_field)
