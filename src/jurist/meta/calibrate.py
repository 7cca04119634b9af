"""Fitting a model's white-box estimators from a graded run: LAGER layer weights or a probe
per criterion, from the hidden states the `hf` backend kept on disk (no forward pass), with
the fit's cross-validated agreement (grouped by source document) reported beside the
final-layer expected score's, then saved beside the model for grading to apply.

The fitting is `whitebox.learned`'s, the same `jurist tune` runs inside its nested folds
(where these estimators compete with the others); this is the fit on every item of a run.

It lives with the reports, not in `whitebox/`, because it reads a graded run and compares
estimators against human labels; `whitebox/` is the model runtime the `hf` backend runs on."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from rich.console import Group

from jurist.core.errors import ConfigError, InputError
from jurist.meta.estimators import EstimatorComparison, compare_estimators
from jurist.meta.load import load_results
from jurist.whitebox.cache import HiddenCache
from jurist.whitebox.calibration import LAGER_FILE, PROBE_FILE, calibration_dir
from jurist.whitebox.lager import LagerFile
from jurist.whitebox.layers import choice_token_ids, layer_logits, log_softmax
from jurist.whitebox.learned import ALPHAS, LagerEstimator, Learned, ProbeEstimator, out_of_fold
from jurist.whitebox.loading import load_causal_lm
from jurist.whitebox.probe import ProbeFile, grouped_folds

Kind = Literal["lager", "probe"]


@dataclass
class _Rows:
    labels: list[float] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    hidden: list[np.ndarray] = field(default_factory=list)
    expected: list[float] = field(default_factory=list)
    points: tuple[int, ...] = ()


@dataclass
class CalibrationReport:
    """What was fitted, where it was saved, and how well it did out of fold."""

    kind: Kind
    path: Path
    comparisons: list[EstimatorComparison]

    def render(self) -> Group:
        parts: list[Any] = [c.render() for c in self.comparisons]
        parts.append(f"saved {self.kind} for {len(self.comparisons)} criteria to {self.path}")
        return Group(*parts)


def _collect(source: str | Path, group_field: str, cache: HiddenCache) -> dict[str, _Rows]:
    loaded = load_results(source)
    rows: dict[str, _Rows] = {}
    for judgment, line in zip(loaded.judgments, loaded.lines, strict=True):
        criteria = getattr(judgment, "criteria", None) or {}
        for name, score in criteria.items():
            label = judgment.labels.get(name)
            if score.status != "ok" or label is None or score.extras.get("hidden_key") is None:
                continue
            states = cache.get(score.extras["hidden_key"])
            if states is None:
                raise InputError(
                    loaded.source,
                    line,
                    f"criteria.{name}.hidden_key",
                    "hidden states not in the cache; grade again with the hf judge",
                )
            group = judgment.metadata.get(group_field, judgment.item_id)
            entry = rows.setdefault(name, _Rows())
            entry.labels.append(float(label))
            entry.groups.append(str(group))
            entry.hidden.append(states["last"])
            entry.expected.append(np.nan if score.expected is None else float(score.expected))
            if score.distribution and not entry.points:
                entry.points = tuple(int(float(p)) for p in score.distribution)
    if not rows:
        raise InputError(
            loaded.source,
            None,
            "criteria",
            "no labelled criterion with a hidden_key: "
            "grade labelled items with --judge hf:... first",
        )
    return rows


def calibrate(
    kind: Kind,
    results: str | Path,
    *,
    judge: str | None = None,
    group_field: str = "doc_id",
    folds: int = 5,
    alphas: tuple[float, ...] = ALPHAS,
    cache: HiddenCache | None = None,
    out: Path | None = None,
    model: tuple[Any, Any] | None = None,
) -> CalibrationReport:
    """Fit `kind` per criterion on a graded run's labelled items and save it beside `judge`
    (or in `out`); `model` is the (model, tokenizer) pair when the caller has it loaded.
    The fits are `jurist tune`'s learned estimators, fitted on every item."""
    rows = _collect(results, group_field, cache or HiddenCache())
    folder = out or calibration_dir(judge)
    comparisons: list[EstimatorComparison] = []
    if kind == "lager":
        lm, tok = model or load_causal_lm(judge)
        lager = LagerFile(str(judge or "embedded"))
        for name, entry in rows.items():
            ids = choice_token_ids(tok, [str(p) for p in entry.points])
            if ids is None:
                continue
            logits = np.stack([layer_logits(lm, h, ids, "norm") for h in entry.hidden])
            estimator = LagerEstimator(logits, np.asarray(entry.labels), entry.points)
            oof, weights = _fit(estimator, entry.groups, folds)
            lager.criteria[name] = weights
            final = np.exp(log_softmax(logits[:, -1])) @ np.asarray(entry.points, float)
            comparisons.append(_compare(name, final, "LAGER fitted (out of fold)", oof, entry))
        path = lager.save(folder / LAGER_FILE)
    else:
        probes = ProbeFile(str(judge or "embedded"))
        for name, entry in rows.items():
            codes = np.unique(entry.groups, return_inverse=True)[1]
            estimator = ProbeEstimator(
                np.stack(entry.hidden), np.asarray(entry.labels), codes, alphas, folds
            )
            oof, probe = _fit(estimator, entry.groups, folds)
            probes.criteria[name] = probe
            label = f"probe L{probe.layer} α={probe.alpha:g} (out of fold, layer chosen in-fold)"
            comparison = _compare(name, np.asarray(entry.expected), label, oof, entry)
            probes.report[name] = {"pooled": comparison.figures[1].pooled.value}
            comparisons.append(comparison)
        path = probes.save(folder / PROBE_FILE)
    return CalibrationReport(kind, path, comparisons)


def _fit(estimator: Learned, groups: list[str], folds: int) -> tuple[np.ndarray, Any]:
    """Out-of-fold predictions (grouped folds) and the fit on every item."""
    split = [test for _, test in grouped_folds(groups, _folds(folds, groups))]
    oof = out_of_fold(estimator, split)
    return oof, estimator.fit(np.arange(len(groups)))


def _folds(folds: int, groups: list[str]) -> int:
    n_groups = len(set(groups))
    if n_groups < 2:
        raise ConfigError("grouped cross-validation needs labelled items from at least 2 groups")
    return max(2, min(folds, n_groups))


def _compare(
    name: str, final: np.ndarray, label: str, oof: np.ndarray, entry: _Rows
) -> EstimatorComparison:
    return compare_estimators(
        {"final-layer expected": final, label: oof},
        entry.labels,
        entry.groups,
        criterion=name,
    )
