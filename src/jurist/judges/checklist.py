"""Checklist judging: a yes/no decision per item, weighted and normalised."""

from __future__ import annotations

from jurist.answers import YES_NO, joint_schema, parse_joint
from jurist.data import Item
from jurist.estimate import checklist_score
from jurist.judges.base import (
    Answer,
    Call,
    SingleResponseJudge,
    any_parsed,
    first_problem,
    joint_raw,
    make_request,
    part_of,
    quoted_texts,
    usage,
)
from jurist.judgment import ChecklistDecision, ChecklistJudgment, combined_status
from jurist.prompts import render
from jurist.rubric import ChecklistItem

ANSWER_SLOT = YES_NO.slot()


class ChecklistJudge(SingleResponseJudge):
    mode = "checklist"
    needs = "checklist"

    def calls(self, item: Item) -> list[Call]:
        self.check(item)
        opts = self.options
        checks = self.rubric.checklist
        quoted = quoted_texts(item)
        if opts.joint:
            specs = {c.id: YES_NO for c in checks}
            schema = joint_schema(specs, max(100, opts.rationale_chars // 2), opts.rationale)
            prompt = render(
                "checklist_joint.j2",
                rationale=opts.rationale,
                rubric=self.rubric,
                item=item,
                checks=checks,
            )
            request = make_request(opts, prompt, schema, [ANSWER_SLOT] * len(checks), "checklist:*")
            request = request.model_copy(update={"max_tokens": opts.max_tokens * len(checks)})
            return [Call("*", request, lambda text: any_parsed(parse_joint(text, specs, quoted)))]
        calls = []
        schema = YES_NO.schema(opts.rationale_chars, opts.rationale)
        for check in checks:
            prompt = render(
                "checklist.j2", rationale=opts.rationale, rubric=self.rubric, item=item, check=check
            )
            request = make_request(opts, prompt, schema, [ANSWER_SLOT], f"checklist:{check.id}")
            calls.append(Call(check.id, request, lambda text: YES_NO.parse(text, quoted)))
        return calls

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
            item_id=item.id,
            index=index,
            status=combined_status([d.status for d in decisions.values()]),
            judge=judge_name,
            rubric=self.rubric.name,
            rubric_hash=self.rubric.content_hash,
            checklist=decisions,
            checklist_score=None if score is None else round(score, 6),
            checklist_expected=None if expected is None else round(expected, 6),
            required_failed=required_failed,
            labels=item.labels,
            metadata=item.metadata,
            response_chars=len(item.response or ""),
            raw=joint_raw(answers),
            **usage(answers),
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
