"""The run summary: per criterion the mean with a 95% CI and n, and honest failure counts.

Accumulated one judgment at a time (a compact array of values per figure, no tables), with
the project's one interval method: a percentile bootstrap for means, which never leaves
the scale, and Wilson intervals for proportions. `SummaryBuilder.build` gives the plain
dict (the keys of summary.json); `GradeSummary` is the same figures as a typed report that
renders itself, like the `jurist meta` reports.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, SerializerFunctionWrapHandler, model_serializer
from rich.console import RenderableType
from rich.table import Table

from jurist.core.errors import EXIT_BACKEND, EXIT_FAILURES, EXIT_OK
from jurist.core.judgment import (
    ChecklistJudgment,
    Judgment,
    ListwiseJudgment,
    PairwiseJudgment,
    PointwiseJudgment,
)
from jurist.stats.intervals import mean_interval, wilson_interval


@dataclass
class Running:
    """The values of one figure, kept as a compact float array for its interval."""

    values: array[float] = field(default_factory=lambda: array("d"))
    proportion: bool = False

    @property
    def n(self) -> int:
        return len(self.values)

    def add(self, value: float) -> None:
        self.values.append(value)

    def summary(self) -> dict[str, Any]:
        n = self.n
        if n == 0:
            return {"n": 0, "mean": None, "ci95": None}
        data = np.frombuffer(self.values, dtype=np.float64)
        mean = float(data.mean())
        if n == 1:
            return {"n": 1, "mean": round(mean, 6), "ci95": None}
        interval = wilson_interval(float(data.sum()), n) if self.proportion else mean_interval(data)
        result: dict[str, Any] = {"n": n, "mean": round(mean, 6)}
        result["sd"] = round(float(data.std(ddof=1)), 6)
        result["ci95"] = None if interval is None else [round(v, 6) for v in interval]
        return result


def _proportion() -> Running:
    return Running(proportion=True)


class Tally(Protocol):
    """A feature's own part of the summary (a jury's inter-juror figures), fed every
    judgment and built under its name."""

    def add(self, judgment: Judgment) -> None: ...

    def build(self) -> dict[str, Any]: ...


@dataclass
class SummaryBuilder:
    statuses: Counter[str] = field(default_factory=Counter)
    scores: dict[str, Running] = field(default_factory=dict)
    expected: dict[str, Running] = field(default_factory=dict)
    # With a judge profile: calibrated scores and their conformal intervals' widths.
    calibrated: dict[str, Running] = field(default_factory=dict)
    widths: dict[str, Running] = field(default_factory=dict)
    part_status: dict[str, Counter[str]] = field(default_factory=dict)
    overall: Running = field(default_factory=Running)
    checklist: Running = field(default_factory=Running)
    yes_rate: dict[str, Running] = field(default_factory=dict)
    verdicts: Counter[str] = field(default_factory=Counter)
    consistency: Running = field(default_factory=_proportion)
    # With a pairwise profile: its verdicts and the size of its conformal verdict sets.
    calibrated_verdicts: Counter[str] = field(default_factory=Counter)
    set_sizes: Running = field(default_factory=Running)
    top_consistency: Running = field(default_factory=Running)
    top_tied: Running = field(default_factory=_proportion)
    # Listwise: per list length, how often each presentation slot held an order's top pick.
    top_slots: dict[int, Counter[int]] = field(default_factory=dict)
    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    # Parts a feature adds by name (a jury run passes {"jury": JuryTally()}).
    tallies: dict[str, Tally] = field(default_factory=dict)

    def add(self, judgment: Judgment) -> None:
        self.statuses[judgment.status] += 1
        for tally in self.tallies.values():
            tally.add(judgment)
        self.calls += judgment.calls
        self.cache_hits += judgment.cache_hits
        self.prompt_tokens += judgment.prompt_tokens
        self.completion_tokens += judgment.completion_tokens
        if isinstance(judgment, PointwiseJudgment):
            self._add_pointwise(judgment)
        elif isinstance(judgment, ChecklistJudgment):
            self._add_checklist(judgment)
        elif isinstance(judgment, PairwiseJudgment):
            self._add_pairwise(judgment)
        elif isinstance(judgment, ListwiseJudgment):
            self._add_listwise(judgment)

    def _add_pointwise(self, judgment: PointwiseJudgment) -> None:
        for cid, score in judgment.criteria.items():
            self.part_status.setdefault(cid, Counter())[score.status] += 1
            if score.score is not None:
                self.scores.setdefault(cid, Running()).add(score.score)
            if score.expected is not None:
                self.expected.setdefault(cid, Running()).add(score.expected)
            if score.extras.get("calibrated") is not None:
                self.calibrated.setdefault(cid, Running()).add(score.extras["calibrated"])
            if score.extras.get("interval"):
                low, high = score.extras["interval"]
                self.widths.setdefault(cid, Running()).add(high - low)
        if judgment.overall is not None:
            self.overall.add(judgment.overall)

    def _add_checklist(self, judgment: ChecklistJudgment) -> None:
        for iid, decision in judgment.checklist.items():
            self.part_status.setdefault(iid, Counter())[decision.status] += 1
            if decision.answer is not None:
                self.yes_rate.setdefault(iid, _proportion()).add(float(decision.answer == "yes"))
        if judgment.checklist_score is not None:
            self.checklist.add(judgment.checklist_score)

    def _add_pairwise(self, judgment: PairwiseJudgment) -> None:
        if judgment.pair is not None and judgment.pair.verdict is not None:
            self.verdicts[judgment.pair.verdict] += 1
            if judgment.pair.consistent is not None:
                self.consistency.add(float(judgment.pair.consistent))
        if judgment.pair is not None and judgment.pair.calibrated_verdict is not None:
            self.calibrated_verdicts[judgment.pair.calibrated_verdict] += 1
            if judgment.pair.prediction_set is not None:
                self.set_sizes.add(float(len(judgment.pair.prediction_set)))

    def _add_listwise(self, judgment: ListwiseJudgment) -> None:
        if judgment.top_consistency is not None:
            self.top_consistency.add(judgment.top_consistency)
        if judgment.top_tied is not None:
            self.top_tied.add(float(judgment.top_tied))
        slots = self.top_slots.setdefault(judgment.n_responses, Counter())
        for order in judgment.orders:
            if order.ranking:
                slots[order.shown.index(order.ranking[0])] += 1

    def counted(self, judgments: Iterable[Judgment]) -> Iterator[Judgment]:
        """The judgments, each added to the summary as it passes (one read serves both)."""
        for judgment in judgments:
            self.add(judgment)
            yield judgment

    def _profiled(self, cid: str) -> dict[str, Any]:
        """A profiled run's calibrated mean and interval width (no keys otherwise)."""
        if cid not in self.calibrated:
            return {}
        width = self.widths.get(cid)
        return {
            "calibrated": self.calibrated[cid].summary(),
            "interval_width": width.summary() if width is not None else None,
        }

    def build(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "items": sum(self.statuses.values()),
            "ok": self.statuses["ok"],
            "parse_error": self.statuses["parse_error"],
            "failed": self.statuses["failed"],
            "model_calls": self.calls,
            "cache_hits": self.cache_hits,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
        }
        if self.scores or (self.part_status and not self.yes_rate):
            result["criteria"] = {
                cid: {
                    **self.scores.get(cid, Running()).summary(),
                    "expected": self.expected[cid].summary() if cid in self.expected else None,
                    "parse_error": counts["parse_error"],
                    "failed": counts["failed"],
                    **self._profiled(cid),
                }
                for cid, counts in self.part_status.items()
                if cid not in self.yes_rate
            }
            result["overall"] = self.overall.summary()
        if self.yes_rate or self.checklist.n:
            result["checklist"] = {
                "score": self.checklist.summary(),
                "yes_rate": {iid: r.summary() for iid, r in self.yes_rate.items()},
            }
        if self.verdicts or self.consistency.n:
            decided = sum(self.verdicts.values())
            result["pairwise"] = {
                "n": decided,
                "A": self.verdicts["A"],
                "B": self.verdicts["B"],
                "tie": self.verdicts["tie"],
                "order_consistent": self.consistency.summary(),
            }
            if self.calibrated_verdicts:
                result["pairwise"]["calibrated"] = {
                    v: self.calibrated_verdicts[v] for v in ("A", "B", "tie")
                }
                result["pairwise"]["set_size"] = self.set_sizes.summary()
        for name, tally in self.tallies.items():
            result[name] = tally.build()
        if self.top_consistency.n or self.top_slots:
            result["listwise"] = {
                "n": self.top_consistency.n,
                "top_consistency": self.top_consistency.summary(),
                "top_tied": self.top_tied.summary(),
                "top_pick_by_slot": {
                    str(n): [counts[slot] for slot in range(n)]
                    for n, counts in sorted(self.top_slots.items())
                },
            }
        return result


def summarise(judgments: Iterable[Judgment]) -> dict[str, Any]:
    builder = SummaryBuilder()
    for judgment in judgments:
        builder.add(judgment)
    return builder.build()


# --- the typed report --------------------------------------------------------------------


class _Part(BaseModel):
    """A block of the summary; fields in `_OPTIONAL` are left out of the JSON when None,
    so the report writes exactly the keys summary.json always had."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    _OPTIONAL: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _drop_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        return {k: v for k, v in data.items() if not (v is None and k in self._OPTIONAL)}


class Mean(_Part):
    """A mean (or a proportion) with its n, spread and 95% interval."""

    _OPTIONAL = frozenset({"sd"})

    n: int
    mean: float | None = None
    sd: float | None = None
    ci95: list[float] | None = None

    def interval(self) -> str:
        if self.ci95 is None:
            return "-"
        low, high = self.ci95
        return f"[{low:.3f}, {high:.3f}]"


class CriterionSummary(Mean):
    _OPTIONAL = frozenset({"sd", "calibrated", "interval_width"})

    expected: Mean | None = None
    parse_error: int = 0
    failed: int = 0
    calibrated: Mean | None = None  # with a judge profile
    interval_width: Mean | None = None


class ChecklistSummary(_Part):
    score: Mean
    yes_rate: dict[str, Mean]


class PairwiseSummary(_Part):
    _OPTIONAL = frozenset({"calibrated", "set_size"})

    n: int
    A: int
    B: int
    tie: int
    order_consistent: Mean
    calibrated: dict[str, int] | None = None  # a pairwise profile's verdicts
    set_size: Mean | None = None  # its conformal verdict sets' mean size


class ListwiseSummary(_Part):
    n: int
    top_consistency: Mean
    top_tied: Mean
    top_pick_by_slot: dict[str, list[int]]


class GradeSummary(_Part):
    """A grading run's summary: counts, per-criterion means with intervals, and each
    mode's own figures; `model_dump()` is summary.json, `render()` the terminal view."""

    _OPTIONAL = frozenset(
        {"criteria", "overall", "checklist", "pairwise", "jury", "listwise"}
        | {"run_id", "status", "skipped_rows"}
    )

    items: int
    ok: int
    parse_error: int
    failed: int
    model_calls: int
    cache_hits: int
    prompt_tokens: int
    completion_tokens: int
    criteria: dict[str, CriterionSummary] | None = None
    overall: Mean | None = None
    checklist: ChecklistSummary | None = None
    pairwise: PairwiseSummary | None = None
    jury: dict[str, Any] | None = None
    listwise: ListwiseSummary | None = None
    run_id: str | None = None
    status: str | None = None
    skipped_rows: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The summary as plain JSON values, keyed as in summary.json."""
        return self.model_dump(mode="json")

    def exit_code(self, allow_failures: bool = False) -> int:
        """The documented exit code of the run: 0 done (or failures allowed), 1 some items
        failed, 3 every item failed (the judge could not be used)."""
        if not self.failed or allow_failures:
            return EXIT_OK
        return EXIT_BACKEND if self.failed == self.items else EXIT_FAILURES

    def __getitem__(self, key: str) -> Any:
        """Read like the summary.json it writes (`summary["items"]`)."""
        return self.as_dict()[key]

    def __contains__(self, key: object) -> bool:
        return key in self.as_dict()

    def render(self) -> list[RenderableType]:
        """The summary as lines and tables for the terminal."""
        skipped = f"; skipped rows {self.skipped_rows}" if self.skipped_rows else ""
        parts: list[RenderableType] = [
            f"run [bold]{self.run_id}[/]: {self.items} items - ok {self.ok}, "
            f"parse_error {self.parse_error}, failed {self.failed}; model calls "
            f"{self.model_calls}, cache hits {self.cache_hits}{skipped}"
        ]
        if self.criteria is not None:
            parts.append(self._criteria_table(self.criteria))
        if self.checklist is not None:
            parts.append(_checklist_table(self.checklist))
        if self.pairwise is not None:
            pair, consistent = self.pairwise, self.pairwise.order_consistent
            parts.append(
                f"pairwise: n={pair.n}  A better {pair.A}, B better {pair.B}, tie {pair.tie}; "
                f"order-consistent {_fmt(consistent.mean)} {consistent.interval()} "
                f"(n={consistent.n})"
            )
            if pair.calibrated is not None:
                size = _mean(pair.set_size)
                parts.append(
                    "pairwise, profile's reading: "
                    + ", ".join(f"{v} {n}" for v, n in pair.calibrated.items())
                    + f"; verdict sets hold {_fmt(size, 2)} verdicts on average"
                )
        if self.listwise is not None:
            parts.append(_listwise_line(self.listwise))
        return parts

    def _criteria_table(self, criteria: dict[str, CriterionSummary]) -> Table:
        table = Table(title="Likert criteria (mean with 95% CI)")
        profiled = any(row.calibrated is not None for row in criteria.values())
        columns = ["criterion", "n", "mean", "95% CI", "expected", "parse err", "failed"]
        columns += ["calibrated", "interval width"] if profiled else []
        for column in columns:
            table.add_column(column, justify="left" if column == "criterion" else "right")
        for cid, row in criteria.items():
            expected = row.expected.mean if row.expected is not None else None
            extra = [_fmt(_mean(row.calibrated)), _fmt(_mean(row.interval_width))]
            table.add_row(
                cid, str(row.n), _fmt(row.mean), row.interval(), _fmt(expected),
                str(row.parse_error), str(row.failed), *(extra if profiled else []),
            )  # fmt: skip
        overall = self.overall
        if overall is not None and overall.n:
            blank = [""] * (len(columns) - 4)
            table.add_row(
                "overall [0-1]", str(overall.n), _fmt(overall.mean), overall.interval(), *blank
            )
        return table


def _mean(figure: Mean | None) -> float | None:
    return None if figure is None else figure.mean


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _checklist_table(checklist: ChecklistSummary) -> Table:
    table = Table(title="Checklist (score in [0, 1]; yes rate per item)")
    for column in ("item", "n", "mean", "95% CI"):
        table.add_column(column, justify="left" if column == "item" else "right")
    score = checklist.score
    table.add_row("score", str(score.n), _fmt(score.mean), score.interval())
    for iid, row in checklist.yes_rate.items():
        table.add_row(f"  {iid}", str(row.n), _fmt(row.mean), row.interval())
    return table


def _listwise_line(ranked: ListwiseSummary) -> str:
    agree, tied = ranked.top_consistency, ranked.top_tied
    slots = "; ".join(
        f"{n} responses: " + " ".join(f"{chr(65 + s)}={c}" for s, c in enumerate(counts))
        for n, counts in ranked.top_pick_by_slot.items()
    )
    return (
        f"listwise: n={ranked.n}  top pick agreed across orders "
        f"{_fmt(agree.mean)} {agree.interval()}; top tied {_fmt(tied.mean)}; "
        f"top pick by slot: {slots}"
    )
