"""Listwise judging: rank several responses at once, in shuffled orders, pooled.

One call per presentation order; each answer is mapped back from slot labels to response
indices before anything is pooled, so a judge that always picks slot A shows up as low
top-pick consistency instead of as a preference for whichever response was listed first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from jurist.core.answers import RANK_LABELS, RankingAnswer
from jurist.core.data import Item
from jurist.core.judgment import ListwiseJudgment, OrderRanking
from jurist.core.parse import Parsed
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
from jurist.judges.orders import AGGREGATES, Aggregate, aggregate_rankings, presentation_orders
from jurist.prompts import render


@dataclass(frozen=True)
class ListwiseOptions(JudgeOptions):
    """JudgeOptions plus how many shuffled orders to ask for and how to pool them."""

    orders: int = field(
        default=4, metadata={"help": "Listwise: shuffled presentation orders per item.", "min": 1}
    )
    aggregate: Aggregate = field(
        default="borda",
        metadata={"help": "Listwise: pool the orders by borda (count) or bt (Bradley-Terry)."},
    )


class ListwiseJudge:
    mode = "listwise"

    def __init__(self, rubric: Rubric, options: JudgeOptions | None = None) -> None:
        options = options or ListwiseOptions()
        if not isinstance(options, ListwiseOptions):
            options = ListwiseOptions(**{k: getattr(options, k) for k in vars(options)})
        if options.orders < 1:
            raise ValueError(f"orders must be at least 1, got {options.orders}")
        if options.aggregate not in AGGREGATES:
            raise ValueError(f"aggregate must be one of {', '.join(AGGREGATES)}")
        self.rubric = rubric
        self.options: ListwiseOptions = options

    def calls(self, item: Item) -> list[Call]:
        texts = item.candidates
        if len(texts) < 2:
            raise ValueError(f"item {item.id!r} needs at least 2 responses for listwise judging")
        if len(texts) > len(RANK_LABELS):
            raise ValueError(
                f"item {item.id!r} has {len(texts)} responses; listwise ranks at most "
                f"{len(RANK_LABELS)} (use a Swiss tournament for more)"
            )
        spec = RankingAnswer(len(texts))
        opts = self.options
        schema = spec.schema(opts.rationale_chars, opts.rationale)
        quoted = quoted_texts(item) + texts
        calls = []
        orders = presentation_orders(len(texts), opts.orders, key=item.id, seed=opts.seed)
        for j, shown in enumerate(orders):
            prompt = render(
                "listwise.j2",
                rationale=opts.rationale,
                rubric=self.rubric,
                item=item,
                shown=[(RANK_LABELS[slot], texts[index]) for slot, index in enumerate(shown)],
            )
            request = make_request(opts, prompt, schema, [spec.slot()], f"listwise:{j}")
            request = request.model_copy(update={"max_tokens": opts.max_tokens + 8 * len(texts)})
            calls.append(Call(_order_key(j, shown), request, _parser(spec, shown, quoted)))
        return calls

    def judgment(
        self, item: Item, index: int, answers: dict[str, list[Answer]], judge_name: str
    ) -> ListwiseJudgment:
        n = len(item.candidates)
        orders: list[OrderRanking] = []
        rankings: list[list[int]] = []
        problems: list[Answer] = []
        for key, samples in answers.items():
            shown = _shown_of(key)
            ok = [a for a in samples if a.status == "ok"]
            if not ok:
                problem = first_problem(samples)
                problems.append(problem)
                orders.append(
                    OrderRanking(
                        status=problem.status, shown=shown, raw=problem.raw, error=problem.error
                    )
                )
                continue
            rankings.extend(list(a.parsed.value) for a in ok)
            first = ok[0]
            orders.append(
                OrderRanking(
                    status="ok",
                    shown=shown,
                    ranking=list(first.parsed.value),
                    p_top=_p_top(first, shown),
                    rationale=first.parsed.rationale,
                    raw=first.raw,
                )
            )
        fields: dict[str, Any] = {
            **judgment_fields(self.rubric, item, index, judge_name, answers),
            "aggregate": self.options.aggregate,
            "n_responses": n,
            "orders": orders,
            "responses_chars": [len(t) for t in item.candidates],
            "response_chars": None,
        }
        if problems:
            # Never pool a subset of orders: the missing ones would bring back the slot bias
            # the shuffling is there to cancel.
            problem = first_problem(problems)
            return ListwiseJudgment(status=problem.status, **fields)
        pooled = aggregate_rankings(rankings, n, self.options.aggregate)
        p_tops = [o.p_top for o in orders]
        p_top = None
        if all(p is not None for p in p_tops):
            p_top = [round(sum(p[i] for p in p_tops if p) / len(p_tops), 6) for i in range(n)]
        return ListwiseJudgment(
            status="ok",
            ranking=pooled.ranking,
            scores=pooled.scores,
            top=pooled.top,
            top_tied=pooled.top_tied,
            top_consistency=pooled.top_consistency,
            p_top=p_top,
            **fields,
        )


def _order_key(j: int, shown: list[int]) -> str:
    return f"order{j}:" + ",".join(str(i) for i in shown)


def _shown_of(key: str) -> list[int]:
    return [int(i) for i in key.split(":", 1)[1].split(",")]


def _parser(spec: RankingAnswer, shown: list[int], quoted: tuple[str, ...]) -> Any:
    """The order's parse: slot labels in the answer become response indices."""

    def parse(text: str) -> Parsed:
        parsed = spec.parse(text, quoted)
        assert isinstance(parsed.value, tuple)
        ranking = tuple(shown[RANK_LABELS.index(label)] for label in parsed.value)
        return Parsed(ranking, parsed.rationale)  # type: ignore[arg-type]

    return parse


def _p_top(answer: Answer, shown: list[int]) -> list[float] | None:
    """P(each response is ranked first), by response index, from the first slot's tokens."""
    slots = answer.completion.slot_logprobs if answer.completion else []
    if not slots:
        return None
    spec = RankingAnswer(len(shown))
    distribution = spec.distribution({k: v for k, v in slots[0].items() if math.isfinite(v)})
    if distribution is None:
        return None
    by_index = [0.0] * len(shown)
    for slot, index in enumerate(shown):
        by_index[index] = round(distribution[RANK_LABELS[slot]], 6)
    return by_index
