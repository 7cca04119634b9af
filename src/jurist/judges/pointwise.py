"""Pointwise judging: a Likert score per criterion, one call per criterion or all in one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jurist.core.answers import AnswerSpec, LikertAnswer
from jurist.core.data import Item
from jurist.core.estimate import (
    expected_value,
    mean_distribution,
    slot_distribution,
    summarise_samples,
)
from jurist.core.judgment import CriterionScore, PointwiseJudgment, combined_status
from jurist.core.rubric import Criterion, Rubric
from jurist.judges.base import (
    Answer,
    Call,
    JudgeOptions,
    SingleResponseJudge,
    first_problem,
    joint_raw,
    judgment_fields,
    part_of,
)
from jurist.whitebox.fields import criterion_fields


def likert(criterion: Criterion) -> LikertAnswer:
    return LikertAnswer(tuple(criterion.points))


class PointwiseJudge(SingleResponseJudge):
    """Scores each Likert criterion of the rubric; checklist items are left to ChecklistJudge."""

    mode = "pointwise"
    needs = "criteria"

    def __init__(self, rubric: Rubric, options: JudgeOptions | None = None) -> None:
        super().__init__(rubric, options)
        # One spec per criterion for the judge's lifetime: its schema and slot are kept.
        self._specs = {c.id: likert(c) for c in rubric.criteria}

    def calls(self, item: Item) -> list[Call]:
        self.check(item)
        criteria = self.rubric.criteria
        if self.options.joint:
            specs: dict[str, AnswerSpec] = {c.id: likert(c) for c in criteria}
            return [self.joint_call(item, specs, "pointwise_joint.j2", 120, criteria=criteria)]
        return [
            self.part_call(item, c.id, self._specs[c.id], "pointwise.j2", criterion=c)
            for c in criteria
        ]

    def judgment(
        self, item: Item, index: int, answers: dict[str, list[Answer]], judge_name: str
    ) -> PointwiseJudgment:
        criteria: dict[str, CriterionScore] = {}
        for slot, criterion in enumerate(self.rubric.criteria):
            if self.options.joint:
                samples = [part_of(a, criterion.id) for a in answers["*"]]
            else:
                samples = answers[criterion.id]
            slot_index = slot if self.options.joint else 0
            criteria[criterion.id] = _criterion_score(criterion, samples, slot_index)
        statuses = [score.status for score in criteria.values()]
        return PointwiseJudgment(
            status=combined_status(statuses),
            criteria=criteria,
            overall=overall_score(self.rubric, criteria),
            raw=joint_raw(answers),
            **judgment_fields(self.rubric, item, index, judge_name, answers),
        )


def _criterion_score(criterion: Criterion, samples: list[Answer], slot: int) -> CriterionScore:
    ok = [a for a in samples if a.status == "ok"]
    if not ok:
        problem = first_problem(samples)
        return CriterionScore(status=problem.status, raw=problem.raw, error=problem.error)
    scores = [float(a.parsed.value) for a in ok]
    distributions = []
    for answer in ok:
        slots = answer.completion.slot_logprobs if answer.completion else []
        if len(slots) > slot:
            dist = slot_distribution(slots[slot], criterion.points)
            if dist is not None:
                distributions.append(dist)
    merged = mean_distribution(distributions) if distributions else None
    result: dict[str, Any] = {
        "status": "ok",
        "score": scores[0],
        "rationale": ok[0].parsed.rationale,
        "raw": ok[0].raw,
        "samples": scores,
    }
    if merged is not None:
        result["expected"] = round(expected_value(merged), 6)
        result["distribution"] = {str(p): round(v, 6) for p, v in merged.items()}
    if extras := criterion_fields(ok[0].completion, slot, criterion.points):
        result["extras"] = extras
    if len(scores) > 1:
        summary = summarise_samples(scores)
        result.update(
            score=summary.majority,
            mean=summary.mean,
            median=summary.median,
            majority=summary.majority,
            std=summary.std,
            agreement=summary.agreement,
        )
    return CriterionScore(**result)


def overall_score(rubric: Rubric, criteria: Mapping[str, CriterionScore]) -> float | None:
    """The judgment's `overall`: the rubric's combined score of its criteria, to 6 digits."""
    return rubric.combine({cid: score.score for cid, score in criteria.items()}, digits=6)
