"""Pairwise judging: which of two responses is better, judged in both orders and merged."""

from __future__ import annotations

from collections import Counter
from typing import Any

from jurist.core.answers import VERDICT
from jurist.core.data import Item
from jurist.core.estimate import (
    mean_distribution,
    merge_orders,
    preference_probability,
    slot_distribution,
    unswap,
)
from jurist.core.judgment import VERDICTS, PairVerdict, PairwiseJudgment
from jurist.core.rubric import Rubric
from jurist.judges.base import (
    Answer,
    Call,
    JudgeOptions,
    first_problem,
    judgment_fields,
    make_request,
    quoted_texts,
)
from jurist.prompts import render

VERDICT_SLOT = VERDICT.slot()
ORDERS = ("ab", "ba")


class PairwiseJudge:
    mode = "pairwise"

    def __init__(self, rubric: Rubric, options: JudgeOptions | None = None) -> None:
        self.rubric = rubric
        self.options = options or JudgeOptions()

    def calls(self, item: Item) -> list[Call]:
        if item.response is None or item.response_b is None:
            raise ValueError(f"item {item.id!r} needs two responses for pairwise judging")
        orders = ORDERS if self.options.both_orders else ORDERS[:1]
        quoted = quoted_texts(item)
        calls = []
        for order in orders:
            first, second = (
                (item.response, item.response_b)
                if order == "ab"
                else (item.response_b, item.response)
            )
            prompt = render(
                "pairwise.j2",
                rationale=self.options.rationale,
                rubric=self.rubric,
                item=item,
                first=first,
                second=second,
            )
            request = make_request(
                self.options,
                prompt,
                VERDICT.schema(self.options.rationale_chars, self.options.rationale),
                [VERDICT_SLOT],
                f"pairwise:{order}",
            )
            calls.append(Call(order, request, lambda text: VERDICT.parse(text, quoted)))
        return calls

    def judgment(
        self, item: Item, index: int, answers: dict[str, list[Answer]], judge_name: str
    ) -> PairwiseJudgment:
        return PairwiseJudgment(
            status=(pair := self._pair(answers)).status,
            pair=pair,
            response_b_chars=len(item.response_b or ""),
            **judgment_fields(self.rubric, item, index, judge_name, answers),
        )

    def _pair(self, answers: dict[str, list[Answer]]) -> PairVerdict:
        per_order: dict[str, tuple[str | None, float | None, Answer]] = {}
        ab_distribution: dict[str, float] | None = None
        for order, samples in answers.items():
            ok = [a for a in samples if a.status == "ok"]
            if not ok:
                per_order[order] = (None, None, first_problem(samples))
                continue
            votes = Counter(a.parsed.value for a in ok)
            verdict = max(votes, key=lambda v: (votes[v], v == "tie"))
            known = [d for a in ok if (d := _verdict_distribution(a)) is not None]
            distribution = mean_distribution(known) if known else None
            p_first = preference_probability(distribution) if distribution else None
            if order == "ba":
                verdict = unswap(verdict)
                p_first = None if p_first is None else 1.0 - p_first
            else:
                ab_distribution = distribution
            per_order[order] = (verdict, p_first, ok[0])
        ab_verdict, ab_p, ab_answer = per_order["ab"]
        fields: dict[str, Any] = {
            "verdict_ab": ab_verdict,
            "rationale_ab": ab_answer.parsed.rationale if ab_verdict else None,
            "raw_ab": ab_answer.raw,
            "distribution_ab": (
                {k: round(v, 6) for k, v in ab_distribution.items()}
                if ab_verdict and ab_distribution
                else None
            ),
        }
        if "ba" not in per_order:
            if ab_verdict is None:
                return PairVerdict(status=ab_answer.status, error=ab_answer.error, **fields)
            return PairVerdict(status="ok", verdict=ab_verdict, p_a=_round(ab_p), **fields)
        ba_verdict, ba_p, ba_answer = per_order["ba"]
        fields.update(
            verdict_ba=ba_verdict,
            rationale_ba=ba_answer.parsed.rationale if ba_verdict else None,
            raw_ba=ba_answer.raw,
        )
        if ab_verdict is None or ba_verdict is None:
            # Never fall back to the one order that worked: that order's bias would go unseen.
            problem = first_problem([a for v, _, a in per_order.values() if v is None])
            return PairVerdict(status=problem.status, error=problem.error, **fields)
        merged, consistent = merge_orders(ab_verdict, ba_verdict)
        p_a = (ab_p + ba_p) / 2 if ab_p is not None and ba_p is not None else None
        return PairVerdict(
            status="ok", verdict=merged, consistent=consistent, p_a=_round(p_a), **fields
        )


def _verdict_distribution(answer: Answer) -> dict[str, float] | None:
    """The verdict slot's probabilities, renormalised among the verdicts the answer may
    take (it can only be one of them); None when the slot was not read."""
    slots = answer.completion.slot_logprobs if answer.completion else []
    if not slots or not {"A", "B"} <= slots[0].keys():
        return None
    return slot_distribution(slots[0], VERDICTS)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)
