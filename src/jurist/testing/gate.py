"""The regression gate: did the candidate run get worse than its baseline?

Two means compared unpaired hide the item-to-item agreement that makes a small difference
visible, and a threshold on one mean passes or fails by chance. The gate pairs the two
runs' items by id, takes the difference candidate - baseline per item and row (each
criterion, the overall score; a pairwise run's win rate of response A; a checklist run's
score), and bootstraps the mean difference with the same resampled items for every row.
`jurist.testing.decide` turns the intervals into `pass`, `regressed`, `improved` or
`inconclusive`. Items only one run graded are counted and named, never dropped silently,
and runs graded by different judges or rubrics are refused unless explicitly allowed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from jurist.core.errors import ConfigError
from jurist.core.judgment import (
    ChecklistJudgment,
    Judgment,
    PairwiseJudgment,
    PointwiseJudgment,
)
from jurist.core.rubric import Rubric
from jurist.meta.load import load_results
from jurist.stats.arrays import FloatArray
from jurist.stats.bootstrap import batch_sizes, percentile_interval, tally
from jurist.stats.intervals import BOOTSTRAP_RESAMPLES
from jurist.stats.results import Estimate, Figure
from jurist.testing.decide import (
    DEFAULT_MAX_DROP,
    DEFAULT_MAX_DROP_SHARE,
    RowTest,
    decide_rows,
    items_to_decide,
    overall_decision,
    row_limit,
)
from jurist.testing.gate_report import GateReport, GateRow

Score = Literal["parsed", "expected"]
# Fewer paired items than this decide nothing: a bootstrap of a handful of values is all
# but certain of whatever they happen to say.
MIN_ITEMS = 10
_VERDICT_VALUE = {"A": 1.0, "tie": 0.5, "B": 0.0}


@dataclass(frozen=True)
class GateSettings:
    """What `gate` tolerates, as one documented value (`gate(..., **asdict(settings))`)."""

    max_drop: float = field(
        default=DEFAULT_MAX_DROP, metadata={"help": "Tolerated drop, scale points."}
    )
    max_drop_share: float = field(
        default=DEFAULT_MAX_DROP_SHARE,
        metadata={"help": "Tolerated drop of overall score / win rate (0-1)."},
    )
    allow_different_judge: bool = field(default=False, metadata={"help": "Compare across judges."})
    score: Score = field(
        default="parsed",
        metadata={"help": "parsed | expected (from token probabilities, where given)."},
    )


class JudgeMismatch(ConfigError):
    """The two runs were graded by different judges or rubrics: their scores are not on
    one footing, so a difference would measure the judge, not the candidate."""


@dataclass(frozen=True)
class Run:
    """A graded run's judgments and where they came from."""

    source: str
    judgments: list[Judgment]

    @property
    def modes(self) -> list[str]:
        return sorted({j.mode for j in self.judgments})

    @property
    def judges(self) -> list[str]:
        return sorted({j.judge for j in self.judgments})

    @property
    def rubric_hashes(self) -> list[str]:
        return sorted({j.rubric_hash for j in self.judgments})


RunRef = str | Path | Run | Sequence[Judgment]


def load_run(ref: RunRef, store: str | Path | None = None) -> Run:
    """A run from a run folder, a results.jsonl, a run id in the store, or judgments."""
    if isinstance(ref, Run):
        return ref
    if isinstance(ref, str | Path):
        loaded = load_results(ref, store)
        return Run(loaded.source, loaded.judgments)
    judgments = list(ref)
    return Run(f"{len(judgments)} judgments", judgments)


def row_values(judgment: Judgment, score: Score = "parsed") -> dict[str, float | None]:
    """What one judgment contributes to each row (None: no usable score)."""
    if isinstance(judgment, PointwiseJudgment):
        out: dict[str, float | None] = {}
        for cid, crit in judgment.criteria.items():
            value = crit.score if score == "parsed" else crit.expected
            out[cid] = value if crit.status == "ok" else None
        if len(judgment.criteria) > 1 and "overall" not in out:
            out["overall"] = judgment.overall
        return out
    if isinstance(judgment, ChecklistJudgment):
        return {"checklist_score": judgment.checklist_score}
    if isinstance(judgment, PairwiseJudgment):
        verdict = None if judgment.pair is None else judgment.pair.verdict
        return {"win_rate": None if verdict is None else _VERDICT_VALUE[verdict]}
    raise ConfigError(
        f"the gate compares pointwise, checklist or pairwise runs, not {judgment.mode}"
    )


def spreads_for(rubric: Rubric, mode: str = "pointwise") -> dict[str, float]:
    """The rows a run of `rubric` in `mode` has, with each one's largest possible
    |difference| (a criterion's highest minus lowest score; 1 for shares): what
    `gate_sequential` needs to know to bet on bounded differences."""
    if mode == "checklist":
        return {"checklist_score": 1.0}
    if mode == "pairwise":
        return {"win_rate": 1.0}
    spreads = {c.id: float(c.bounds[1] - c.bounds[0]) for c in rubric.criteria}
    if len(spreads) > 1 and "overall" not in spreads:
        spreads["overall"] = 1.0
    return spreads


def paired_differences(
    baseline: Sequence[Judgment], candidate: Sequence[Judgment], score: Score = "parsed"
) -> dict[str, list[float | None]]:
    """Candidate - baseline per row for the items both graded (baseline order): a batch
    for `gate_sequential`; None where either side has no score."""
    theirs = {j.item_id: row_values(j, score) for j in candidate}
    out: dict[str, list[float | None]] = {}
    for judgment in baseline:
        if judgment.item_id not in theirs:
            continue
        ours, other = row_values(judgment, score), theirs[judgment.item_id]
        for name in dict.fromkeys([*ours, *other]):
            a, b = ours.get(name), other.get(name)
            out.setdefault(name, []).append(None if a is None or b is None else b - a)
    return out


def paired_replicates(values: FloatArray, *, resamples: int, seed: int) -> FloatArray:
    """Bootstrap replicates (B, K) of each column's mean over its non-NaN items.

    Every column is resampled with the same item indices (rows of `rng.integers(0, n,
    (B, n))`, drawn in batches), so the rows' intervals keep their dependence and match a
    direct paired bootstrap drawn with the same seed."""
    n = values.shape[0]
    valid = ~np.isnan(values)
    filled = np.where(valid, values, 0.0)
    rng = np.random.default_rng(seed)
    parts = []
    for b in batch_sizes(resamples, n):
        counts = tally(rng.integers(0, n, size=(b, n)), n)
        with np.errstate(invalid="ignore", divide="ignore"):
            parts.append((counts @ filled) / (counts @ valid))
    return np.concatenate(parts)


def _figure(values: FloatArray, reps: FloatArray, confidence: float, excluded: int) -> Figure:
    kept = values[~np.isnan(values)]
    if kept.size == 0:
        return Figure(value=None, n=0, n_excluded=excluded, confidence=confidence)
    low, high = percentile_interval(reps, confidence) if kept.size >= 2 else (math.nan,) * 2
    mean = float(kept.mean())
    return Figure.of(Estimate(mean, low, high, int(kept.size), excluded, None, confidence))


def _row_test(reps: FloatArray, n: int, max_drop: float) -> RowTest:
    """One-sided bootstrap p-values: the share of resampled means on the null's side."""
    finite = reps[~np.isnan(reps)]
    if n < MIN_ITEMS or finite.size * 2 < reps.size:
        return RowTest(None, None, None)
    return RowTest(
        float(np.mean(finite >= -max_drop)),
        float(np.mean(finite <= -max_drop)),
        float(np.mean(finite <= 0.0)),
    )


def compare_arrays(
    baseline: FloatArray,
    candidate: FloatArray,
    names: Sequence[str],
    max_drops: Sequence[float],
    *,
    confidence: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> list[GateRow]:
    """The gate's rows from paired (n, K) arrays of scores (NaN: no score on that side).

    A row uses the items scored on both sides; the others are its `n_excluded`. A row
    with fewer than MIN_ITEMS of them stays inconclusive."""
    base = np.asarray(baseline, dtype=np.float64).reshape(len(baseline), len(names))
    cand = np.asarray(candidate, dtype=np.float64).reshape(base.shape)
    both = ~np.isnan(base) & ~np.isnan(cand)
    base = np.where(both, base, np.nan)
    cand = np.where(both, cand, np.nan)
    diff = cand - base
    k = len(names)
    reps = paired_replicates(np.hstack([diff, base, cand]), resamples=resamples, seed=seed)
    excluded = (~both).sum(axis=0)
    scored = both.sum(axis=0)
    tests = [_row_test(reps[:, j], int(scored[j]), max_drops[j]) for j in range(k)]
    rows = []
    for j, decided in enumerate(decide_rows(tests, confidence)):
        d = _figure(diff[:, j], reps[:, j], confidence, int(excluded[j]))
        needed = None
        if decided.decision == "inconclusive":
            needed = items_to_decide(
                d.n, d.value, d.low, d.high, max_drops[j], rows=k, confidence=confidence
            )
        rows.append(
            GateRow(
                name=names[j],
                baseline=_figure(base[:, j], reps[:, k + j], confidence, int(excluded[j])),
                candidate=_figure(cand[:, j], reps[:, 2 * k + j], confidence, int(excluded[j])),
                difference=d,
                max_drop=max_drops[j],
                p_regressed=decided.p_regressed,
                p_pass=decided.p_pass,
                p_improved=decided.p_improved,
                decision=decided.decision,
                items_to_decide=needed,
            )
        )
    return rows


def _check_same_judge(base: Run, cand: Run, allow: bool) -> list[str]:
    """Refuse runs graded by different judges or rubrics unless `allow`; then say so."""
    if base.modes != cand.modes or len(base.modes) != 1:
        raise ConfigError(
            f"the runs must be graded in one and the same mode: {base.source} is "
            f"{'/'.join(base.modes) or 'empty'}, {cand.source} is {'/'.join(cand.modes) or 'empty'}"
        )
    problems = [
        f"{what} {', '.join(theirs) or '-'} (candidate) vs {', '.join(ours) or '-'} (baseline)"
        for what, ours, theirs in (
            ("judge", base.judges, cand.judges),
            ("rubric", base.rubric_hashes, cand.rubric_hashes),
        )
        if ours != theirs
    ]
    if problems and not allow:
        raise JudgeMismatch(
            f"{cand.source} was graded by another {'; '.join(problems)}: its scores are not "
            "comparable; pass --allow-different-judge to compare them anyway"
        )
    return [f"compared although graded by another {p}" for p in problems]


def _pair(base: Run, cand: Run) -> tuple[list[str], list[str], list[str]]:
    """Shared ids in baseline order, and the ids only one run has."""
    cand_ids = {j.item_id for j in cand.judgments}
    base_ids = {j.item_id for j in base.judgments}
    shared = [j.item_id for j in base.judgments if j.item_id in cand_ids]
    only_base = [j.item_id for j in base.judgments if j.item_id not in cand_ids]
    only_cand = [j.item_id for j in cand.judgments if j.item_id not in base_ids]
    return shared, only_base, only_cand


def _row_names(
    values: Sequence[dict[str, float | None]], wanted: Sequence[str] | None
) -> list[str]:
    names = list(dict.fromkeys(name for row in values for name in row))
    if not wanted:
        return names
    unknown = [w for w in wanted if w not in names]
    if unknown:
        raise ConfigError(
            f"no such criterion in the runs: {', '.join(unknown)} (have: {', '.join(names)})"
        )
    return list(dict.fromkeys(wanted))


def _matrix(values: Sequence[dict[str, float | None]], names: Sequence[str]) -> FloatArray:
    out = np.full((len(values), len(names)), np.nan)
    for i, row in enumerate(values):
        for j, name in enumerate(names):
            value = row.get(name)
            if value is not None:
                out[i, j] = value
    return out


def gate(
    baseline: RunRef,
    candidate: RunRef,
    *,
    max_drop: float = DEFAULT_MAX_DROP,
    max_drop_share: float = DEFAULT_MAX_DROP_SHARE,
    confidence: float = 0.95,
    allow_different_judge: bool = False,
    criteria: Sequence[str] | None = None,
    score: Score = "parsed",
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
    store: str | Path | None = None,
) -> GateReport:
    """Candidate against baseline, paired by item id, one row per criterion (and overall;
    a pairwise run's win rate; a checklist run's score).

    `max_drop` is the largest tolerated drop in scale points, `max_drop_share` the same
    for rows on [0, 1] (overall score, win rate, checklist score). Raises JudgeMismatch
    (exit 2) when the runs had different judges or rubrics, unless allowed.
    """
    base, cand = load_run(baseline, store), load_run(candidate, store)
    notes = _check_same_judge(base, cand, allow_different_judge)
    shared, only_base, only_cand = _pair(base, cand)
    base_by_id = {j.item_id: j for j in base.judgments}
    cand_by_id = {j.item_id: j for j in cand.judgments}
    base_values = [row_values(base_by_id[i], score) for i in shared]
    cand_values = [row_values(cand_by_id[i], score) for i in shared]
    names = _row_names([*base_values, *cand_values], criteria)
    drops = [row_limit(name, max_drop, max_drop_share) for name in names]
    rows: list[GateRow] = []
    if shared:
        rows = compare_arrays(
            _matrix(base_values, names),
            _matrix(cand_values, names),
            names,
            drops,
            confidence=confidence,
            resamples=resamples,
            seed=seed,
        )
    different = bool(notes)
    if not shared:
        notes.append("the runs share no item ids: nothing to compare")
    return GateReport(
        baseline=base.source,
        candidate=cand.source,
        method="bootstrap",
        confidence=confidence,
        resamples=resamples,
        seed=seed,
        mode=base.modes[0],
        judges={"baseline": base.judges, "candidate": cand.judges},
        rubric_hashes={"baseline": base.rubric_hashes, "candidate": cand.rubric_hashes},
        different_judge=different,
        n_paired=len(shared),
        only_in_baseline=only_base,
        only_in_candidate=only_cand,
        rows=rows,
        decision=overall_decision([r.decision for r in rows]),
        notes=notes,
    )
