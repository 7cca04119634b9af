"""Write a rubric for one item with a model, from its input and reference alone."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from jurist.backends.base import Backend
from jurist.core.data import Item
from jurist.core.rubric import Rubric
from jurist.prompts import render
from jurist.rubrics.answers import (
    GenerationResult,
    RubricRequest,
    Style,
    answer_entries,
    finish_rubric,
    instance_schema,
    parts_from_answer,
    scale_points,
)
from jurist.rubrics.contrastive import preference_label
from jurist.rubrics.lint import Finding

# `preference_label` stays importable from here for the scoring pipeline.
__all__ = ["generate_instance_rubric", "preference_label"]


def _example_json(rubric: Rubric, style: Style) -> str | None:
    if style == "likert" and rubric.criteria:
        parts = [
            {"id": c.id, "question": c.question, "weight": c.weight, "scale": c.scale}
            for c in rubric.criteria
        ]
        return json.dumps({"criteria": parts}, ensure_ascii=False)
    if style == "checklist" and rubric.checklist:
        parts = [item.model_dump() for item in rubric.checklist]
        return json.dumps({"checklist": parts}, ensure_ascii=False)
    return None


async def generate_instance_rubric(
    item: Item,
    backend: Backend,
    *,
    style: Style = "likert",
    examples: Sequence[Rubric] = (),
    bounds: tuple[int, int] = (1, 5),
    max_parts: int = 5,
    temperature: float = 0.7,
    seed: int = 0,
    tries: int = 1,
    max_tokens: int = 1536,
) -> GenerationResult:
    """A rubric written for one item (from its input and reference, never its response, so
    the rubric is not tailored to the answer it will grade).

    Up to `tries` answers are asked for (seed + attempt) until one is usable; the result of
    the last try is returned. Retrying only helps with temperature > 0.
    """
    example_texts = [text for rubric in examples if (text := _example_json(rubric, style))]
    prompt = render(
        "rubric_generate.j2",
        item=item,
        style=style,
        examples=example_texts,
        max_parts=max_parts,
        **scale_points(bounds),
    )

    def build(data: Any) -> tuple[Rubric, list[str], list[Finding]]:
        repairs: list[str] = []
        likert = style == "likert"
        key, fallback = ("criteria", "criterion") if likert else ("checklist", "check")
        criteria, checklist = parts_from_answer(
            answer_entries(data, key),
            key,
            fallback,
            likert=likert,
            bounds=bounds,
            taken=set(),
            repairs=repairs,
        )
        rubric, findings = finish_rubric(
            f"instance-{item.id}",
            f"Written for item {item.id}.",
            criteria,
            checklist,
            repairs=repairs,
            has_reference=item.reference is not None,
            has_history=item.is_multi_turn,
        )
        return rubric, repairs, findings

    request = RubricRequest(
        prompt,
        instance_schema(style, bounds, max_parts),
        build,
        f"rubric-generate:{item.id}",
        temperature,
        seed,
        max_tokens,
    )
    result = GenerationResult(status="failed", reason="no tries were made")
    for attempt in range(max(1, tries)):
        result = await request.ask(backend, attempt)
        if result.ok:
            break
    return result
