"""Rubrics from a preference pair: why one response beat the other, kept only when the
judge, grading with them, agrees with the people who chose."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

from pydantic import BaseModel, Field

from jurist.backends.base import Backend, BackendError
from jurist.core.data import Item
from jurist.core.errors import InputError
from jurist.core.rubric import Rubric
from jurist.prompts import render
from jurist.rubrics.answers import (
    AnswerError,
    GenerationResult,
    RubricRequest,
    Style,
    answer_entries,
    contrastive_schema,
    finish_rubric,
    parts_from_answer,
    scale_points,
)
from jurist.rubrics.lint import Finding

JudgePrefers = Callable[[Rubric, Item], Awaitable[bool | None]]


class ContrastiveResult(BaseModel):
    """The rubrics under which the judge agreed with the human preference, and every try."""

    accepted: list[Rubric] = Field(default_factory=list)
    attempts: list[GenerationResult] = Field(default_factory=list)

    @property
    def rubric(self) -> Rubric | None:
        return self.accepted[0] if self.accepted else None


_SIDES: dict[str, Literal["A", "B", "tie"]] = {
    "a": "A",
    "response": "A",
    "a>b": "A",
    "b": "B",
    "response_b": "B",
    "b>a": "B",
    "tie": "tie",
}
# Where a preference is looked for: `preferred` (our own files) and `preference` (the
# benchmark loaders in jurist.datasets).
LABEL_KEYS = ("preferred", "preference")


def preference_label(item: Item, key: str | None = None) -> Literal["A", "B", "tie"] | None:
    """Which response people preferred ('A' = `response`), 'tie', or None when unlabelled.

    `key` names the label; by default `preferred`, then `preference`, is used.
    """
    keys = (key,) if key is not None else LABEL_KEYS
    value = next((item.labels[k] for k in keys if item.labels.get(k) is not None), None)
    return None if value is None else _SIDES.get(str(value).strip().lower())


def _preferred_side(item: Item, preferred: Literal["A", "B"] | None) -> Literal["A", "B"]:
    side = _SIDES.get(preferred.strip().lower()) if preferred is not None else None
    side = side or preference_label(item)
    if side not in ("A", "B") or item.response is None or item.response_b is None:
        value = preferred if preferred is not None else {k: item.labels.get(k) for k in LABEL_KEYS}
        raise InputError(
            f"item {item.id!r}",
            field="preferred",
            problem="contrastive generation needs response, response_b and which one was "
            "preferred ('A' or 'B', from preferred= or labels['preferred'] / "
            f"labels['preference']); got {value!r}",
        )
    return "A" if side == "A" else "B"


def _contrastive_builder(
    item: Item, principles: Style, bounds: tuple[int, int]
) -> Callable[[Any], tuple[Rubric, list[str], list[Finding]]]:
    """How a contrastive answer becomes a rubric: hard rules as required checklist items,
    principles as optional items or Likert criteria."""

    def build(data: Any) -> tuple[Rubric, list[str], list[Finding]]:
        repairs: list[str] = []
        taken: set[str] = set()
        _, rules = parts_from_answer(
            answer_entries(data, "hard_rules", allow_empty=True),
            "hard_rules",
            "rule",
            likert=False,
            bounds=bounds,
            taken=taken,
            repairs=repairs,
            kind="required",
            weight=1.0,
        )
        criteria, checks = parts_from_answer(
            answer_entries(data, "principles", allow_empty=True),
            "principles",
            "principle",
            likert=principles == "likert",
            bounds=bounds,
            taken=taken,
            repairs=repairs,
            kind="optional",
            weight=1.0,
        )
        if not rules and not checks and not criteria:
            raise AnswerError("the answer has neither hard rules nor principles")
        rubric, findings = finish_rubric(
            f"contrastive-{item.id}",
            f"Derived from the preference pair of item {item.id}.",
            criteria,
            [*rules, *checks],
            repairs=repairs,
            has_reference=item.reference is not None,
            has_history=item.is_multi_turn,
        )
        return rubric, repairs, findings

    return build


async def generate_contrastive(
    item: Item,
    backend: Backend,
    judge_prefers: JudgePrefers,
    *,
    tries: int = 3,
    keep: int = 1,
    preferred: Literal["A", "B"] | None = None,
    principles: Style = "checklist",
    bounds: tuple[int, int] = (1, 5),
    max_rules: int = 4,
    max_principles: int = 4,
    temperature: float = 0.7,
    seed: int = 0,
    max_tokens: int = 1536,
) -> ContrastiveResult:
    """Rubrics derived from why one response was preferred over another, kept only if the
    judge, grading with them, prefers the preferred response too (rejection sampling).

    Hard rules (constraints the rejected response breaks) become required checklist items;
    principles become optional items or Likert criteria. `judge_prefers(rubric, item)` is
    the caller's judge: True when it prefers the human-preferred response under the
    rubric, False when it prefers the other, None when it cannot tell. Stops after `keep`
    accepted rubrics or `tries` answers.
    """
    side = _preferred_side(item, preferred)
    chosen, other = (
        (item.response, item.response_b) if side == "A" else (item.response_b, item.response)
    )
    prompt = render(
        "rubric_contrastive.j2",
        item=item,
        preferred=chosen,
        rejected=other,
        principles=principles,
        max_rules=max_rules,
        max_principles=max_principles,
        **scale_points(bounds),
    )

    build = _contrastive_builder(item, principles, bounds)
    schema = contrastive_schema(principles, bounds, max_rules, max_principles)
    request = RubricRequest(
        prompt, schema, build, f"rubric-contrastive:{item.id}", temperature, seed, max_tokens
    )
    result = ContrastiveResult()
    for attempt in range(tries):
        answer = await request.ask(backend, attempt)
        if answer.ok and answer.rubric is not None:
            answer = await _judge(answer, answer.rubric, item, judge_prefers)
        result.attempts.append(answer)
        if answer.ok and answer.rubric is not None:
            result.accepted.append(answer.rubric)
            if len(result.accepted) >= keep:
                break
    return result


async def _judge(
    answer: GenerationResult, rubric: Rubric, item: Item, judge_prefers: JudgePrefers
) -> GenerationResult:
    try:
        verdict = await judge_prefers(rubric, item)
    except BackendError as error:
        return answer.model_copy(update={"status": "rejected", "reason": f"judge failed: {error}"})
    if verdict is True:
        return answer
    reason = (
        "under this rubric the judge preferred the rejected response"
        if verdict is False
        else "under this rubric the judge could not tell the responses apart"
    )
    return answer.model_copy(update={"status": "rejected", "reason": reason})
