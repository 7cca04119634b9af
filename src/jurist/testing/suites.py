"""Suite files: `jurist.yaml` names suites, and `jurist run` grades each one through the
cache, checks its thresholds and gates it against its baseline run.

A suite is an ordinary grading job (rubric, data, field mapping, judge or jury, mode and
any `jurist grade` option) plus what it must meet: thresholds per criterion, decided on
intervals (never on a mean alone), and a baseline it must not regress from. Each suite
writes a run folder, so its results open in `jurist view` and serve as the next baseline.

    store: .jurist/store.sqlite   # optional; default $JURIST_STORE, else the user's store
    output: jurist-runs           # run folders go to OUTPUT/SUITE
    suites:
      qa:
        rubric: rubric.yaml       # or preset: summeval
        data: answers.jsonl
        fields: {input: question, response: answer, reference: expected, id: id}
        judge: local              # or jurors: [SPEC, SPEC], or jury: jury.yaml
        options: {rationale: none, limit: 50}
        thresholds:
          accuracy: 3.5                      # mean score; its 95% interval decides
          helpfulness: {score: 4, rate: 0.8} # share of items scoring >= 4 (Wilson)
        baseline: runs/main/qa    # run folder, results.jsonl or run id
        max_drop: 0.5
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jurist.core.errors import ConfigError
from jurist.core.judgment import ChecklistJudgment, Judgment, PairwiseJudgment, PointwiseJudgment
from jurist.core.rubric import Rubric, load_rubric
from jurist.datasets import get_preset
from jurist.grading import GradeResult, grade_job
from jurist.stats.intervals import mean_interval
from jurist.stats.results import Figure
from jurist.store import Store
from jurist.testing.gate import (
    DEFAULT_MAX_DROP,
    Run,
    _check_same_judge,
    gate,
    load_run,
    paired_differences,
    spreads_for,
)
from jurist.testing.gate_report import GateReport
from jurist.testing.outcomes import SuiteOutcome, SuitesReport, ThresholdCheck
from jurist.testing.rates import decide_rate
from jurist.testing.sequential import gate_sequential

__all__ = ["RateBar", "SuiteFile", "SuiteSpec", "load_suite_file", "run_suites"]

_DEFAULT_FILE = "jurist.yaml"


class RateBar(BaseModel):
    """A share of items that must reach a score: `rate` of them at least `score`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    score: float
    rate: float = Field(ge=0, le=1)


class SuiteSpec(BaseModel):
    """One suite: a grading job and what its results must meet."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rubric: str | None = None
    preset: str | None = None
    data: str | None = None
    fields: dict[str, Any] = Field(default_factory=dict)
    judge: str | None = None
    jurors: list[str] = Field(default_factory=list)
    jury: str | None = None
    mode: Literal["pointwise", "checklist", "pairwise"] | None = None
    options: dict[str, Any] = Field(default_factory=dict)
    thresholds: dict[str, float | RateBar] = Field(default_factory=dict)
    baseline: str | None = None
    max_drop: float | None = Field(default=None, gt=0)
    allow_different_judge: bool = False
    # An inconclusive threshold or gate fails the run (by default it is reported, exit 0).
    strict: bool = False
    # A baseline that is not there is an error (by default the suite is run, not gated).
    require_baseline: bool = False

    def grade_options(self, root: Path, output: Path) -> dict[str, Any]:
        """The suite as `jurist grade` options (flat names), paths relative to `root`."""
        fields = {"input": "input", "response": "response", "response_b": "response_b"}
        fields |= {"reference": None, "id": None, "labels": [], "keep": [], "responses": []}
        unknown = set(self.fields) - set(fields)
        if unknown:
            raise ConfigError(f"fields: unknown roles {sorted(unknown)}; use {sorted(fields)}")
        given = {
            **self.options,
            "rubric_path": _path(root, self.rubric),
            "data_path": _path(root, self.data),
            "preset": self.preset,
            "fields": fields | self.fields,
            "judge": self.judge,
            "jurors": self.jurors or None,
            "jury": _path(root, self.jury),
            "mode": self.mode,
            "output_dir": str(output),
        }
        return {key: value for key, value in given.items() if value is not None}


class SuiteFile(BaseModel):
    """A `jurist.yaml`: where the cache and the run folders are, and the suites."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    store: str | None = None
    output: str = "jurist-runs"
    suites: dict[str, SuiteSpec]


def _path(root: Path, value: str | None) -> str | None:
    return None if value is None else str(root / value)


def load_suite_file(path: str | Path = _DEFAULT_FILE) -> SuiteFile:
    """Read and check a suite file; every problem is one ConfigError naming the key."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({error})") from None
    try:
        return SuiteFile.model_validate(data)
    except ValidationError as error:
        problems = [
            f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors()
        ]
        raise ConfigError(f"{path}: " + "; ".join(problems)) from None


def run_suites(
    path: str | Path = _DEFAULT_FILE,
    names: Sequence[str] | None = None,
    *,
    store: str | Path | None = None,
    budget: int | None = None,
    batch_size: int = 20,
) -> SuitesReport:
    """Run the named suites (default: all) of the suite file at `path`, each through the
    cache into its own run folder, and check each against its thresholds and baseline.

    With a `budget`, a suite with a baseline is graded in batches of `batch_size` items
    and gated after each by the sequential gate (valid under that optional stopping),
    until its decision is settled or `budget` items are graded."""
    path = Path(path)
    suite_file = load_suite_file(path)
    root = path.resolve().parent
    chosen = list(names or suite_file.suites)
    missing = [name for name in chosen if name not in suite_file.suites]
    if missing:
        raise ConfigError(f"{path}: no suite {missing}; it has {sorted(suite_file.suites)}")
    store_path = store or _path(root, suite_file.store)
    outcomes = []
    with Store(store_path) as db:
        for name in chosen:
            spec = suite_file.suites[name]
            output = root / suite_file.output / name
            options = spec.grade_options(root, output)
            baseline = None if spec.baseline is None else _baseline(spec.baseline, root, db)
            if budget is not None and baseline is not None:
                outcomes.append(
                    _until_decided(name, spec, options, baseline, db, budget, batch_size)
                )
                continue
            result = grade_job(options, db, overwrite=True)
            outcomes.append(_check(name, spec, result, db, root))
    return SuitesReport(suites=outcomes)


def _check(name: str, spec: SuiteSpec, result: GradeResult, db: Store, root: Path) -> SuiteOutcome:
    """A finished suite's thresholds and, with a baseline, its gate."""
    report, notes = None, []
    baseline = None if spec.baseline is None else _baseline(spec.baseline, root, db)
    if spec.baseline is not None and baseline is None:
        if spec.require_baseline:
            raise ConfigError(f"suite {name}: baseline {spec.baseline} not found")
        notes.append(f"baseline {spec.baseline} not found (a first run?): not gated")
    if baseline is not None:
        options: dict[str, Any] = {"allow_different_judge": spec.allow_different_judge}
        if spec.max_drop is not None:
            options["max_drop"] = spec.max_drop
        report = gate(baseline, result.output_dir, store=db.path, **options)
    return _outcome(name, spec, result, db, report, notes)


def _outcome(
    name: str,
    spec: SuiteSpec,
    result: GradeResult,
    db: Store,
    report: GateReport | None,
    notes: list[str],
) -> SuiteOutcome:
    """The suite's thresholds, decided on the run's judgments, beside its gate."""
    judgments = list(db.iter_results(result.run_id))
    checks = [_threshold(key, bar, judgments) for key, bar in spec.thresholds.items()]
    return SuiteOutcome(
        name=name,
        run_id=result.run_id,
        output_dir=result.output_dir,
        summary=result.summary,
        thresholds=checks,
        gate=report,
        strict=spec.strict,
        notes=notes,
    )


def _until_decided(
    name: str,
    spec: SuiteSpec,
    options: dict[str, Any],
    baseline: str,
    db: Store,
    budget: int,
    batch_size: int,
) -> SuiteOutcome:
    """Grade the suite `batch_size` items more at a time (the items graded before come
    from the cache) and feed each batch's paired differences to the sequential gate."""
    base = load_run(baseline, db.path)
    ceiling = min(budget, options.get("limit") or budget)
    state: dict[str, Any] = {"graded": 0, "result": None}

    def next_batch(size: int) -> dict[str, list[float | None]]:
        graded = state["graded"]
        if graded >= ceiling:
            return {}
        result = grade_job({**options, "limit": min(graded + size, ceiling)}, db, overwrite=True)
        fresh = [j for j in db.iter_results(result.run_id) if j.index >= graded]
        state["graded"], state["result"] = graded + len(fresh), result
        if graded == 0:
            _check_same_judge(base, Run(result.output_dir, fresh), spec.allow_different_judge)
        return paired_differences(base.judgments, fresh) if fresh else {}

    report = gate_sequential(
        next_batch,
        spreads=spreads_for(_suite_rubric(spec, options), options.get("mode") or "pointwise"),
        budget=ceiling,
        batch_size=batch_size,
        max_drop=spec.max_drop if spec.max_drop is not None else DEFAULT_MAX_DROP,
        baseline=base.source,
        candidate=str(options["output_dir"]),
    )
    notes = [f"graded {state['graded']} items in batches of {batch_size} until decided"]
    return _outcome(name, spec, state["result"], db, report, notes)


def _suite_rubric(spec: SuiteSpec, options: dict[str, Any]) -> Rubric:
    if options.get("rubric_path"):
        return load_rubric(options["rubric_path"])
    if spec.preset is None:
        raise ConfigError("a suite needs a rubric or a preset")
    return load_rubric(get_preset(spec.preset).rubric_path)


def _baseline(ref: str, root: Path, db: Store) -> str | None:
    """The baseline as a path (relative to the suite file) or a run id in the store; None
    when it is neither."""
    path = root / ref
    if path.exists():
        return str(path)
    return ref if db.has_run(ref) else None


def _threshold(key: str, bar: float | RateBar, judgments: list[Judgment]) -> ThresholdCheck:
    """One threshold decided on its interval: pass when the interval clears the bar, fail
    when it lies below, else inconclusive."""
    values = [v for v in (_value(key, j) for j in judgments) if v is not None]
    excluded = len(judgments) - len(values)
    if isinstance(bar, RateBar):
        if not values:
            return ThresholdCheck.unmeasured(key, "rate", bar.rate, excluded)
        passed = sum(value >= bar.score for value in values)
        rate = decide_rate(key, passed, len(values), bar.rate)
        figure = Figure(value=rate.rate, low=rate.low, high=rate.high, n=rate.n)
        return ThresholdCheck(
            name=key, kind="rate", bar=bar.rate, score=bar.score, figure=figure,
            decision=rate.decision, cases_needed=rate.cases_needed, excluded=excluded,
        )  # fmt: skip
    if not values:
        return ThresholdCheck.unmeasured(key, "mean", bar, excluded)
    interval = mean_interval(values)
    figure = Figure.spanning(sum(values) / len(values), interval, len(values))
    decision: Literal["pass", "fail", "inconclusive"] = "inconclusive"  # one value: no interval
    if interval is not None:
        low, high = interval
        decision = "pass" if low >= bar else "fail" if high < bar else "inconclusive"
    return ThresholdCheck(
        name=key, kind="mean", bar=bar, figure=figure, decision=decision, excluded=excluded
    )


def _value(key: str, judgment: Judgment) -> float | None:
    """The figure a threshold reads from one judgment (None: not measured on it)."""
    if isinstance(judgment, PointwiseJudgment):
        if key == "overall":
            return judgment.overall
        score = judgment.criteria.get(key)
        return None if score is None else score.score
    if isinstance(judgment, ChecklistJudgment) and key == "checklist":
        return judgment.checklist_score
    if isinstance(judgment, PairwiseJudgment) and key == "win_rate" and judgment.pair:
        verdict = judgment.pair.verdict
        return None if verdict is None else {"A": 1.0, "tie": 0.5, "B": 0.0}[verdict]
    return None
