"""Checklist judging: a yes/no decision per item, weighted and normalised."""

from __future__ import annotations

from jurist.core.answers import YES_NO, AnswerSpec
from jurist.core.data import Item
from jurist.core.estimate import checklist_score
from jurist.core.judgment import ChecklistDecision, ChecklistJudgment, combined_status
from jurist.core.rubric import ChecklistItem
from jurist.judges.base import (
    Answer,
    Call,
    SingleResponseJudge,
    first_problem,
    joint_raw,
    judgment_fields,
    part_of,
)

ANSWER_SLOT = YES_NO.slot()


class ChecklistJudge(SingleResponseJudge):
    mode = "checklist"
    needs = "checklist"

    def calls(self, item: Item) -> list[Call]:
        self.check(item)
        checks = self.rubric.checklist
        if self.options.joint:
            specs: dict[str, AnswerSpec] = {c.id: YES_NO for c in checks}
            return [self.joint_call(item, specs, "checklist_joint.j2", 100, checks=checks)]
        return [self.part_call(item, c.id, YES_NO, "checklist.j2", check=c) for c in checks]

    def judgment(
        self, item: Item, index: int, answers: dict[str, list[Answer]], judge_name: str
    ) -> ChecklistJudgment:
        decisions: dict[str, ChecklistDecision] = {}
        for slot, check in enumerate(self.rubric.checklist):
            if self.options.joint:
                samples = [part_of(a, check.id) for a in answers["*"]]
                slot_index = slot
            else:
                samples = answers[check.id]
                slot_index = 0
            decisions[check.id] = _decision(check, samples, slot_index)
        weights = [c.weight for c in self.rubric.checklist]
        score = expected = None
        if all(d.answer is not None for d in decisions.values()):
            score = checklist_score(weights, [d.answer == "yes" for d in decisions.values()])
            if all(d.p_yes is not None for d in decisions.values()):
                expected = checklist_score(weights, [d.p_yes or 0.0 for d in decisions.values()])
        required_failed = [
            check.id
            for check in self.rubric.checklist
            if check.kind == "required"
            and decisions[check.id].answer is not None
            and (decisions[check.id].answer == "yes") != (check.weight > 0)
        ]
        return ChecklistJudgment(
            status=combined_status([d.status for d in decisions.values()]),
            checklist=decisions,
            checklist_score=None if score is None else round(score, 6),
            checklist_expected=None if expected is None else round(expected, 6),
            required_failed=required_failed,
            raw=joint_raw(answers),
            **judgment_fields(self.rubric, item, index, judge_name, answers),
        )


def _decision(check: ChecklistItem, samples: list[Answer], slot: int) -> ChecklistDecision:
    ok = [a for a in samples if a.status == "ok"]
    required = check.kind == "required"
    if not ok:
        problem = first_problem(samples)
        return ChecklistDecision(
            status=problem.status,
            weight=check.weight,
            required=required,
            raw=problem.raw,
            error=problem.error,
        )
    yes_votes = [a.parsed.value == "yes" for a in ok]
    answer = "yes" if sum(yes_votes) * 2 > len(yes_votes) else "no"
    p_values = []
    for sample in ok:
        slots = sample.completion.slot_logprobs if sample.completion else []
        if len(slots) > slot and {"yes", "no"} <= slots[slot].keys():
            import math

            yes, no = math.exp(slots[slot]["yes"]), math.exp(slots[slot]["no"])
            p_values.append(yes / (yes + no))
    p_yes = round(sum(p_values) / len(p_values), 6) if p_values else None
    return ChecklistDecision(
        status="ok",
        answer=answer,
        p_yes=p_yes,
        weight=check.weight,
        contribution=check.weight * (answer == "yes"),
        required=required,
        justification=ok[0].parsed.rationale,
        raw=ok[0].raw,
    )
