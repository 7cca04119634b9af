"""The run summary: per criterion the mean with a 95% CI and n, and honest failure counts.

Accumulated one judgment at a time (a compact array of values per figure, no tables), with
the project's one interval method: a percentile bootstrap for means, which never leaves
the scale, and Wilson intervals for proportions.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jurist.core.judgment import (
    ChecklistJudgment,
    Judgment,
    ListwiseJudgment,
    PairwiseJudgment,
    PointwiseJudgment,
)
from jurist.jury.agreement import JuryTally, is_jury_judgment
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


@dataclass
class SummaryBuilder:
    statuses: Counter[str] = field(default_factory=Counter)
    scores: dict[str, Running] = field(default_factory=dict)
    expected: dict[str, Running] = field(default_factory=dict)
    part_status: dict[str, Counter[str]] = field(default_factory=dict)
    overall: Running = field(default_factory=Running)
    checklist: Running = field(default_factory=Running)
    yes_rate: dict[str, Running] = field(default_factory=dict)
    verdicts: Counter[str] = field(default_factory=Counter)
    consistency: Running = field(default_factory=_proportion)
    top_consistency: Running = field(default_factory=Running)
    top_tied: Running = field(default_factory=_proportion)
    # Listwise: per list length, how often each presentation slot held an order's top pick.
    top_slots: dict[int, Counter[int]] = field(default_factory=dict)
    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    jury: JuryTally | None = None  # a jury's judgments also feed its inter-juror figures

    def add(self, judgment: Judgment) -> None:
        self.statuses[judgment.status] += 1
        if self.jury is not None or is_jury_judgment(judgment):
            self.jury = self.jury or JuryTally()
            self.jury.add(judgment)
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
        if self.jury is not None:
            result["jury"] = self.jury.build()
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
