"""`tune`: grade a labelled sample under every candidate reading (through the cache), then
choose by nested grouped cross-validation and fit the profile on the whole sample.

The figures reported are the outer folds' held-out ones: the tuned procedure's (the
choice re-made on each outer fold's training items), the default reading's and every
candidate's, each with a 95% interval from resampling groups, and the tuned procedure's
paired difference from the default. The profile itself is the choice made, and the maps
fitted, on all the items; its conformal radii come from cross-validated residuals.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from rich.console import RenderableType
from rich.table import Table

from jurist.backends import Backend
from jurist.core.data import FieldMap, Item
from jurist.core.errors import ConfigError
from jurist.core.judgment import Judgment, PointwiseJudgment
from jurist.core.rubric import Rubric, load_rubric
from jurist.datasets import ItemSource, get_preset
from jurist.jury import jury_from_judges
from jurist.session import ItemLike, JudgeSession, JudgeSetup, as_item
from jurist.stats.results import Figure
from jurist.store import Store
from jurist.tune.agreement import MEAN, Agreement, Resamples, agreement_reps, summarise
from jurist.tune.builtin import read_profile
from jurist.tune.candidates import (
    DEFAULT_READING,
    ESTIMATORS,
    Cost,
    Estimator,
    Reading,
    measured_cost,
    raw_score,
    readings,
)
from jurist.tune.combine import (
    Juror,
    JuryReport,
    OverallReport,
    jury_profile,
    overall_target,
    tune_jury,
    tune_overall,
)
from jurist.tune.conformal import coverage_of
from jurist.tune.cv import (
    NestedResult,
    Sample,
    choose,
    fit_choice,
    fit_learned,
    fit_radii,
    item_groups,
    nested_cv,
)
from jurist.tune.learned import learned_record, with_learned
from jurist.tune.pairwise import PairwiseReport, judged_sample, pairwise_source, tune_pairwise
from jurist.tune.profile import CriterionProfile, Profile, Provenance
from jurist.tune.settings import TuneSettings

__all__ = [
    "CandidateRow",
    "TuneReport",
    "Tuned",
    "atune",
    "atune_juries",
    "fit_profile",
    "profile_for_grading",
    "tune",
    "tune_job",
    "tune_report",
]


class CandidateRow(BaseModel):
    """One candidate's held-out figures (averaged over criteria) and its cost per item."""

    model_config = ConfigDict(extra="forbid")

    reading: str
    estimator: str
    calibration: str
    heldout: Agreement
    calls: float
    tokens: float | None  # None: answered from the cache, not measured
    seconds: float | None


class TuneReport(BaseModel):
    """What `tune` measured: every candidate, the default, the tuned procedure and the
    paired difference, conformal coverage, and the choice the profile holds."""

    model_config = ConfigDict(extra="forbid")

    n: int
    groups: int
    group_field: str | None
    criteria: list[str]
    folds: int
    candidates: list[CandidateRow]
    default_name: str  # the reading a plain `jurist grade` uses, read as its parsed score
    default: Agreement
    tuned: Agreement
    difference: Agreement
    per_criterion: dict[str, dict[str, Agreement]]
    coverage: dict[str, Figure]
    chosen: dict[str, str]
    profile_path: str | None = None
    overall: OverallReport | None = None  # criterion weights, with --overall-field
    jury: JuryReport | None = None  # each judge alone and juries, with several --judge

    def render(self) -> list[RenderableType]:
        grouping = (
            f"{self.groups} groups of {self.group_field}"
            if self.group_field
            else ("no groups (pass --group-field for within-group figures)")
        )
        parts: list[RenderableType] = [
            f"{self.n} labelled items, {grouping}, criteria {', '.join(self.criteria)}; "
            f"{self.folds} outer folds (held-out figures, mean over criteria, 95% group CI)"
        ]
        table = Table(title="candidates (outer-fold held-out)", title_justify="left")
        for column in ("reading", "estimator", "calibration", "within", "pooled", "MAE"):
            table.add_column(column, justify="left" if column in ("reading",) else "right")
        table.add_column("pairwise", justify="right")
        table.add_column("calls/item  tokens/item  s/item", justify="right")
        for row in self.candidates:
            h = row.heldout
            table.add_row(
                row.reading,
                row.estimator,
                row.calibration,
                h.within.cell(),
                h.pooled.cell(),
                h.mae.cell(),
                h.pairwise.cell(),
                _cost_cell(row),
            )
        parts.append(table)
        summary = Table(
            title=f"default ({self.default_name} parsed) vs tuned (nested CV)", title_justify="left"
        )
        for column in ("", "within", "pooled", "MAE", "pairwise"):
            summary.add_column(column, justify="left" if not column else "right")
        for name, figures, signed in (
            ("default", self.default, False),
            ("tuned", self.tuned, False),
            ("tuned - default", self.difference, True),
        ):
            summary.add_row(
                name,
                *(
                    getattr(figures, m).cell(signed)
                    for m in ("within", "pooled", "mae", "pairwise")
                ),
            )
        parts.append(summary)
        cover = "; ".join(f"{c} {f.cell()}" for c, f in self.coverage.items())
        parts.append(f"conformal coverage of held-out labels: {cover}")
        for extra in (self.overall, self.jury):
            parts += extra.render() if extra is not None else []
        parts.append("profile: " + "; ".join(f"{c}: {v}" for c, v in self.chosen.items()))
        if self.profile_path:
            parts.append(f"saved {self.profile_path}")
        return parts


def _cost_cell(row: CandidateRow) -> str:
    if row.tokens is None or row.seconds is None:
        return f"{row.calls:.1f}  (cached)"
    return f"{row.calls:.1f}  {row.tokens:.0f}  {row.seconds:.2f}"


class Tuned(BaseModel):
    """The fitted profile and the report on how it was chosen."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    profile: Profile
    report: TuneReport | PairwiseReport
    # What a jury over several judges is chosen from (not part of the result's data).
    sample: Any = Field(default=None, exclude=True)  # Sample (no schema: holds arrays)
    nested: Any = Field(default=None, exclude=True)  # NestedResult


async def grade_readings(
    session: JudgeSession,
    items: Sequence[Item],
    chosen: Sequence[Reading],
    on_reading: Callable[[Reading], None] | None = None,
) -> tuple[dict[str, list[Judgment]], dict[str, Cost]]:
    """Every reading's judgments of `items` over the session's one stack (one model in
    memory, one cache), and what each cost per item."""
    judged: dict[str, list[Judgment]] = {}
    costs: dict[str, Cost] = {}
    for reading in chosen:
        if on_reading is not None:
            on_reading(reading)
        setup = reading.setup(session.setup)
        child = session.with_options(setup.options, sampling=setup.sampling)
        started = time.perf_counter()
        found = await child.ajudge(items)
        judged[reading.name] = found
        costs[reading.name] = measured_cost(found, time.perf_counter() - started)
    return judged, costs


async def _graded(
    rubric: Rubric,
    setup: JudgeSetup,
    items: Sequence[Item],
    chosen: Sequence[Reading],
    store: Store | str | Path | None,
    backend: Backend | None,
    on_reading: Callable[[Reading], None] | None,
) -> tuple[dict[str, list[Judgment]], dict[str, Cost]]:
    """`grade_readings` over a session opened for it and closed after it."""
    session = JudgeSession(rubric, setup, store=store, backend=backend)
    try:
        return await grade_readings(session, items, chosen, on_reading)
    finally:
        await session.aclose()


def labelled_sample(
    rubric: Rubric,
    items: Sequence[Item],
    judged: Mapping[str, list[Judgment]],
    label_fields: Mapping[str, str],
    group_field: str | None,
    costs: Mapping[str, Cost],
) -> Sample:
    """The arrays cross-validation works on."""
    labels = {
        c: np.array([_label(item, field) for item in items], dtype=np.float64)
        for c, field in label_fields.items()
    }
    raw = {
        reading: {
            c: {est: np.array([_raw(j, c, est) for j in found]) for est in ESTIMATORS}
            for c in label_fields
        }
        for reading, found in judged.items()
    }
    groups = item_groups(items, group_field)
    bounds = {c.id: (float(c.bounds[0]), float(c.bounds[1])) for c in rubric.criteria}
    return Sample(raw, labels, groups, {c: bounds[c] for c in label_fields}, dict(costs))


def _label(item: Item, field: str) -> float:
    value = item.labels.get(field, item.metadata.get(field))
    try:
        return float(value) if value is not None else np.nan
    except (TypeError, ValueError):
        return np.nan


def _raw(judgment: Judgment, criterion: str, estimator: Estimator) -> float:
    if not isinstance(judgment, PointwiseJudgment):
        return np.nan
    return raw_score(judgment.criteria.get(criterion), estimator)


def _label_fields(
    rubric: Rubric, items: Sequence[Item], given: Mapping[str, str] | None
) -> dict[str, str]:
    """Criterion -> label field: as given, else each criterion's own id where items carry
    it; a rubric with one criterion takes a single unnamed field."""
    ids = [c.id for c in rubric.criteria]
    if given:
        unknown = sorted(set(given) - set(ids))
        if unknown:
            raise ConfigError(f"--label-field: no criterion {', '.join(unknown)} in the rubric")
        return dict(given)
    found = {c: c for c in ids if any(c in item.labels for item in items)}
    if not found:
        raise ConfigError(
            "no labels: name them with --label-field CRITERION=FIELD (or FIELD for a "
            "one-criterion rubric)"
        )
    return found


def _data_hash(items: Sequence[Item]) -> str:
    digest = hashlib.sha256()
    for item in items:
        digest.update(item.model_dump_json().encode())
    return digest.hexdigest()


async def atune(
    rubric: Rubric | str | Path,
    items: Sequence[ItemLike],
    setup: JudgeSetup | None = None,
    *,
    label_fields: Mapping[str, str] | None = None,
    group_field: str | None = None,
    candidates: Sequence[Reading] | None = None,
    store: Store | str | Path | None = None,
    backend: Backend | None = None,
    outer: int = 5,
    inner: int = 4,
    coverage: float = 0.9,
    budget: bool = False,
    seed: int = 0,
    resamples: int = 1000,
    on_reading: Callable[[Reading], None] | None = None,
    overall_field: str | None = None,
) -> Tuned:
    """Grade `items` under each reading in `candidates` (default: every rationale x layout
    x samples combination), choose by nested grouped CV, and fit the profile."""
    rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    setup = setup or JudgeSetup()
    listed = [as_item(value, index) for index, value in enumerate(items)]
    if setup.mode == "pairwise":
        return await _atune_pairwise(rubric, listed, setup, label_fields, group_field,
                                     candidates, store=store, backend=backend, budget=budget,
                                     on_reading=on_reading, outer=outer, inner=inner,
                                     coverage=coverage, seed=seed, resamples=resamples)  # fmt: skip
    if setup.mode != "pointwise":
        raise ConfigError(f"tune chooses pointwise or pairwise readings, not {setup.mode}")
    fields = _label_fields(rubric, listed, label_fields)
    chosen = list(candidates or readings())
    judged, costs = await _graded(rubric, setup, listed, chosen, store, backend, on_reading)
    sample = labelled_sample(rubric, listed, judged, fields, group_field, costs)
    sample = with_learned(sample, rubric, judged, setup.judge)
    nested = nested_cv(
        sample, outer=outer, inner=inner, coverage=coverage, budget=budget, seed=seed
    )
    report = tune_report(sample, nested, group_field, resamples=resamples, seed=seed)
    provenance = Provenance(
        rubric=rubric.name,
        rubric_hash=rubric.content_hash,
        data_hash=_data_hash(listed),
        n=sample.n,
        groups=report.groups,
        group_field=group_field,
        label_fields=fields,
        folds=report.folds,
        heldout=report.tuned,
        default_heldout=report.default,
        coverage=report.coverage.get(MEAN),
    )
    profile = fit_profile(
        rubric,
        setup,
        sample,
        {r.name: r for r in chosen},
        provenance,
        report,
        outer=outer,
        coverage=coverage,
        budget=budget,
        seed=seed,
    )
    if overall_field is not None:  # criterion weights of the overall score
        target = overall_target(rubric, listed, overall_field, fields)
        cv = {"outer": outer, "inner": inner, "seed": seed, "resamples": resamples}
        report.overall, profile.overall = tune_overall(sample, nested, target, **cv, budget=budget)
    return Tuned(profile=profile, report=report, sample=sample, nested=nested)


async def atune_juries(
    rubric: Rubric | str | Path,
    items: Sequence[ItemLike],
    setup: JudgeSetup | None,
    judges: Sequence[str],
    **options: Any,
) -> Tuned:
    """Each judge tuned alone by `atune` (same items, same folds), then each judge alone
    against juries of them all, by nested CV (jurist.tune.combine); the report is the
    chosen judge's (the first's when a jury is chosen) with the jury table added."""
    setup = setup or JudgeSetup()
    if setup.mode != "pointwise":
        raise ConfigError(f"juries are tuned for pointwise judging, not {setup.mode}")
    listed = [as_item(value, index) for index, value in enumerate(items)]
    names = jury_from_judges(list(judges)).names
    tuned = {name: await atune(rubric, listed, replace(setup, judge=spec), **options)
             for name, spec in zip(names, judges, strict=True)}  # fmt: skip
    cv = {k: v for k, v in options.items() if k in ("outer", "inner", "seed", "resamples")}
    outcome = tune_jury(
        {n: Juror(t.sample, t.nested) for n, t in tuned.items()},
        **cv, budget=options.get("budget", False),
    )  # fmt: skip
    first = tuned.get(outcome.chosen, next(iter(tuned.values())))
    report = first.report.model_copy(update={"jury": outcome.report})
    profile = jury_profile({n: t.profile for n, t in tuned.items()}, outcome)
    return Tuned(profile=profile, report=report)


async def _atune_pairwise(
    rubric: Rubric,
    listed: list[Item],
    setup: JudgeSetup,
    label_fields: Mapping[str, str] | None,
    group_field: str | None,
    candidates: Sequence[Reading] | None,
    *,
    store: Store | str | Path | None,
    backend: Backend | None,
    budget: bool,
    on_reading: Callable[[Reading], None] | None,
    **options: Any,
) -> Tuned:
    """Pairwise: grade both orders under each reading, then `tune_pairwise` chooses the
    estimator, calibration and tie band (jurist.tune.pairwise) and fits the profile."""
    if budget:
        raise ConfigError("--budget chooses among pointwise readings; drop it for pairwise")
    label_field = next(iter((label_fields or {}).values()), "preference")
    chosen = list(candidates or [Reading("none"), Reading("before")])
    judged, costs = await _graded(rubric, setup, listed, chosen, store, backend, on_reading)
    sample = judged_sample(listed, judged, label_field, group_field, costs)
    default = DEFAULT_READING.name if DEFAULT_READING.name in judged else chosen[0].name
    choice, part, report = tune_pairwise(
        sample, group_field=group_field, label_field=label_field, default=default, **options
    )
    reading = {r.name: r for r in chosen}[choice.reading]
    provenance = Provenance(
        rubric=rubric.name, rubric_hash=rubric.content_hash, data_hash=_data_hash(listed),
        n=sample.n, groups=report.groups, group_field=group_field,
        label_fields={"verdict": label_field}, folds=report.folds, coverage=report.coverage,
    )  # fmt: skip
    profile = Profile(
        judge=setup.label, mode="pairwise", options=asdict(reading.setup(setup).options),
        samples=reading.samples, criteria={}, pairwise=part, provenance=provenance,
    )  # fmt: skip
    return Tuned(profile=profile, report=report)


def tune(
    rubric: Rubric | str | Path,
    items: Sequence[ItemLike],
    setup: JudgeSetup | None = None,
    *,
    judges: Sequence[str] = (),
    **options: Any,
) -> Tuned:
    """`atune` for code that is not async; takes the same arguments (and with several
    `judges`, `atune_juries`)."""
    if len(judges) > 1:
        return asyncio.run(atune_juries(rubric, items, setup, judges, **options))
    return asyncio.run(atune(rubric, items, setup, **options))


def tune_report(
    sample: Sample,
    nested: NestedResult,
    group_field: str | None,
    *,
    resamples: int = 1000,
    seed: int = 0,
) -> TuneReport:
    """Every held-out figure on one set of group resamples (so differences are paired)."""
    rs = Resamples.of(sample.groups, sample.n, resamples, seed)
    labels, n = sample.labels, sample.n
    default = DEFAULT_READING.name if DEFAULT_READING.name in sample.raw else next(iter(sample.raw))
    base = agreement_reps({c: sample.raw[default][c]["parsed"] for c in labels}, labels, rs)
    tuned = agreement_reps(nested.tuned, labels, rs)
    rows = []
    for (reading, estimator, kind), predicted in nested.candidates.items():
        cost = sample.costs.get(reading, Cost())
        rows.append(
            CandidateRow(
                reading=reading,
                estimator=estimator,
                calibration=kind,
                heldout=summarise(agreement_reps(predicted, labels, rs)[MEAN]),
                calls=cost.calls,
                tokens=cost.tokens if cost.measured else None,
                seconds=cost.seconds if cost.measured else None,
            )
        )
    per_criterion = {
        c: {
            "default": summarise(base[c]),
            "tuned": summarise(tuned[c]),
            "difference": summarise(tuned[c], base[c]),
        }
        for c in labels
    }
    coverage = {c: coverage_of(nested.low[c], nested.high[c], labels[c]) for c in labels}
    everything = [
        np.concatenate([getattr(nested, side)[c] for c in labels]) for side in ("low", "high")
    ]
    coverage[MEAN] = coverage_of(*everything, np.concatenate(list(labels.values())))
    return TuneReport(
        n=n,
        default_name=default,
        groups=int(rs.counts.shape[1]) if sample.groups is not None else 0,
        group_field=group_field,
        criteria=list(labels),
        folds=len(nested.folds),
        candidates=rows,
        default=summarise(base[MEAN]),
        tuned=summarise(tuned[MEAN]),
        difference=summarise(tuned[MEAN], base[MEAN]),
        per_criterion=per_criterion,
        coverage=coverage,
        chosen={},
    )


def fit_profile(
    rubric: Rubric,
    setup: JudgeSetup,
    sample: Sample,
    by_name: Mapping[str, Reading],
    provenance: Provenance,
    report: TuneReport,
    *,
    outer: int,
    coverage: float,
    budget: bool,
    seed: int,
) -> Profile:
    """The choice made, and the maps fitted, on every item (the report's `chosen` filled)."""
    everyone = np.arange(sample.n)
    choice = choose(sample, everyone, k=outer, seed=seed, budget=budget)
    maps = fit_choice(sample, choice, everyone)
    fitted = fit_learned(sample, choice, everyone)
    radii = fit_radii(sample, choice, everyone, coverage, k=outer, seed=seed)
    reading = by_name[choice.reading]
    points = {c.id: [float(p) for p in c.points] for c in rubric.criteria}
    criteria = {
        c: CriterionProfile(
            estimator=pick.estimator,
            calibration=maps[c].to_dict(),
            conformal=radii[c].to_dict(),
            bounds=sample.bounds[c],
            points=points[c],
            heldout=report.per_criterion[c]["tuned"],
            learned=learned_record(fitted.get(c), setup.judge, points[c]),
        )
        for c, pick in choice.criteria.items()
    }
    report.chosen = {
        c: f"{reading.name} {pick.estimator} {pick.calibration} ±{radii[c].radius:.2f}"
        for c, pick in choice.criteria.items()
    }
    return Profile(
        judge=setup.label,
        mode=setup.mode,
        options=asdict(reading.setup(setup).options),
        samples=reading.samples,
        criteria=criteria,
        provenance=provenance,
    )


def tune_job(
    rubric_path: str | Path | None,
    data_path: str | Path | None,
    *,
    output: str | Path,
    preset: str | None = None,
    judge: str | Sequence[str] | None = None,
    limit: int | None = None,
    store: Store | str | Path | None = None,
    on_reading: Callable[[Reading], None] | None = None,
    settings: TuneSettings | None = None,
) -> TuneReport | PairwiseReport:
    """`jurist tune` from command-line values: read the items, tune, save the profile.
    A label field is `CRITERION=FIELD`, or `FIELD` alone for a one-criterion rubric (for
    pairwise judging: the field holding A, B or tie). Several judges: juries too."""
    settings = settings or TuneSettings()
    judges = [judge] if judge is None or isinstance(judge, str) else list(judge)
    mode = settings.mode
    if preset is not None:
        chosen = get_preset(preset)
        rubric_path = rubric_path or chosen.rubric_path
        mode = mode or chosen.mode
    if rubric_path is None or (data_path is None and preset is None):
        raise ConfigError("give RUBRIC and DATA (or --preset NAME)")
    rationales = settings.rationales()
    common: dict[str, Any] = {
        "group_field": settings.group_field, "store": store, "coverage": settings.coverage,
        "budget": settings.budget, "on_reading": on_reading,
    }  # fmt: skip
    if mode == "pairwise":
        return _tune_pairwise_job(
            rubric_path, data_path, output=output, preset=preset, limit=limit, judges=judges,
            settings=settings, **common,
        )  # fmt: skip
    rubric = load_rubric(rubric_path)
    fields = _parse_label_fields(rubric, settings.label_field or ())
    overall_field, group_field = settings.overall_field, settings.group_field
    source = ItemSource(
        data=Path(data_path) if data_path else None,
        preset=preset,
        limit=limit,
        fields=FieldMap(
            labels=(*fields.values(), *filter(None, [overall_field])),
            keep=tuple(f for f in (group_field,) if f),
        ),
    )
    tuned = tune(
        rubric,
        source.load(),
        JudgeSetup(judge=judges[0]),
        label_fields=fields or None,
        candidates=readings(rationales, settings.layouts(), settings.sample_counts()),
        judges=[j for j in judges if j is not None],
        overall_field=overall_field,
        **common,
    )
    tuned.profile.save(output)
    return tuned.report.model_copy(update={"profile_path": str(output)})


def _tune_pairwise_job(
    rubric_path: str | Path,
    data_path: str | Path | None,
    *,
    output: str | Path,
    preset: str | None,
    limit: int | None,
    judges: Sequence[str | None],
    settings: TuneSettings,
    **options: Any,
) -> TuneReport | PairwiseReport:
    """`tune_job` for pairwise judging: one reading per rationale placement (a pairwise
    prompt has no layout to vary)."""
    if len(judges) > 1 or settings.overall_field is not None:
        raise ConfigError("pairwise tuning takes one --judge and no --overall-field")
    source, field = pairwise_source(
        data_path, preset, limit, settings.label_field or (), settings.group_field
    )
    tuned = tune(
        load_rubric(rubric_path), source.load(), JudgeSetup(judge=judges[0], mode="pairwise"),
        label_fields={"verdict": field},
        candidates=[Reading(r) for r in settings.rationales()[::-1]],
        **options,
    )  # fmt: skip
    tuned.profile.save(output)
    return tuned.report.model_copy(update={"profile_path": str(output)})


def _parse_label_fields(rubric: Rubric, given: Sequence[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for text in given:
        criterion, _, field = text.rpartition("=")
        if not criterion:
            if len(rubric.criteria) != 1:
                raise ConfigError(
                    f"--label-field {text}: name the criterion (CRITERION={text}); the rubric "
                    f"has {len(rubric.criteria)}"
                )
            criterion = rubric.criteria[0].id
        fields[criterion] = field
    return fields


def profile_for_grading(
    path: str, rubric: Rubric, setup: JudgeSetup
) -> tuple[JudgeSetup, Callable[[Judgment], Judgment]]:
    """What grading does with `--profile PATH` (or `builtin:NAME`): the profile's setup
    (after checking it was made for this rubric and judge) and the step adding calibrated
    scores to judgments."""
    profile = read_profile(path)
    profile.check(rubric, setup)
    fitted = profile.for_rubric(rubric)
    return fitted.setup(setup), fitted.apply
