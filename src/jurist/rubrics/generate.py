"""Write rubrics with a model: per item, from a preference pair, and summarised over a data set.

A model's rubric is untrusted input. Every answer goes through the same gate as a rubric
file (the pydantic models) plus the linter; simple slips are repaired and recorded (an
unusable id, a duplicated id, descriptors for scores outside the scale, an exact duplicate
criterion), anything else rejects the answer with its reason. A rejected or failed answer
is reported as such, never replaced by a default rubric.
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from jurist.backends.base import Backend, BackendError
from jurist.completion import Request
from jurist.data import Item
from jurist.prompts import render
from jurist.rubric import ChecklistItem, Criterion, Rubric, RubricError, rubric_from_dict
from jurist.rubrics.lint import Finding, lint_rubric

logger = logging.getLogger(__name__)

Style = Literal["likert", "checklist"]
Status = Literal["ok", "repaired", "rejected", "failed"]
Embed = Callable[[list[str]], np.ndarray]

# Bounds on what a model may write; constrained-decoding backends enforce them, and they
# keep a runaway answer from filling max_tokens with one descriptor.
ID_MAX = 40
QUESTION_MAX = 300
DESCRIPTOR_MAX = 200
# Text a model writes may not hold '<': the answer forms show placeholders in angle brackets
# and small models copy them. Nor quotes, backslashes or control characters, so the pattern
# needs no JSON escapes. The length is in the pattern too, because grammar converters that
# honour `pattern` ignore minLength / maxLength.
TEXT_CHAR = r'[^<"\\\x00-\x1f]'
ID_PATTERN = f"^[A-Za-z][A-Za-z0-9_]{{0,{ID_MAX - 1}}}$"
# Checklist items are statements about the response (never open questions); starting them
# so makes a constrained model write one.
CHECK_PREFIX = "The response "
# Weights a model may give, as enums: grammar converters honour an enum more reliably than
# minimum/maximum, and answers from backends without constrained decoding are clipped.
LIKERT_WEIGHTS = (1, 2, 3)
CHECK_WEIGHTS = (-3, -2, -1, 1, 2, 3)


class AnswerError(ValueError):
    """A model answer that cannot become a rubric; the message is the reason."""

    def __init__(self, reason: str, findings: Sequence[Finding] = ()) -> None:
        super().__init__(reason)
        self.findings = list(findings)


class GenerationResult(BaseModel):
    """One model answer and what became of it: a rubric (possibly repaired) or the reason
    there is none."""

    status: Status
    rubric: Rubric | None = None
    reason: str | None = None
    repairs: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    raw: str | None = None
    seed: int | None = None
    attempt: int = 0

    @property
    def ok(self) -> bool:
        return self.status in ("ok", "repaired")


# --- JSON schemas -----------------------------------------------------------------------


def _string(max_length: int, prefix: str = "") -> dict[str, Any]:
    """A bounded free-text field; `prefix` (plain words only) is what it must start with."""
    pattern = f"^{prefix}{TEXT_CHAR}{{1,{max_length - len(prefix)}}}$"
    return {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": pattern}


def _id() -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": ID_MAX, "pattern": ID_PATTERN}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _array(items: dict[str, Any], low: int, high: int) -> dict[str, Any]:
    return {"type": "array", "items": items, "minItems": low, "maxItems": high}


def scale_schema(bounds: tuple[int, int]) -> dict[str, Any]:
    """Exactly one descriptor per score point, keyed by the score as text (JSON keys)."""
    low, high = bounds
    return _object({str(point): _string(DESCRIPTOR_MAX) for point in range(low, high + 1)})


def criterion_schema(bounds: tuple[int, int], *, weight: bool = False) -> dict[str, Any]:
    properties: dict[str, Any] = {"id": _id(), "question": _string(QUESTION_MAX)}
    if weight:
        properties["weight"] = {"type": "integer", "enum": list(LIKERT_WEIGHTS)}
    properties["scale"] = scale_schema(bounds)
    return _object(properties)


def check_schema(*, kind: bool = False, weight: bool = False) -> dict[str, Any]:
    properties: dict[str, Any] = {"id": _id(), "text": _string(QUESTION_MAX, CHECK_PREFIX)}
    if kind:
        properties["kind"] = {"type": "string", "enum": ["required", "optional"]}
    if weight:
        properties["weight"] = {"type": "integer", "enum": list(CHECK_WEIGHTS)}
    return _object(properties)


def instance_schema(style: Style, bounds: tuple[int, int], max_parts: int) -> dict[str, Any]:
    if style == "likert":
        return _object({"criteria": _array(criterion_schema(bounds, weight=True), 1, max_parts)})
    return _object({"checklist": _array(check_schema(kind=True, weight=True), 1, max_parts)})


def contrastive_schema(
    principles: Style, bounds: tuple[int, int], max_rules: int, max_principles: int
) -> dict[str, Any]:
    principle = criterion_schema(bounds) if principles == "likert" else check_schema()
    return _object(
        {
            "hard_rules": _array(check_schema(), 0, max_rules),
            "principles": _array(principle, 0, max_principles),
        }
    )


# --- reading answers --------------------------------------------------------------------


def parse_json_answer(text: str) -> Any:
    """The JSON object in a model's answer, tolerating code fences or prose around it."""
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    start, end = text.find("{"), text.rfind("}")
    if start == -1 or end <= start:
        raise AnswerError("the answer contains no JSON object")
    try:
        return json.loads(text[start : end + 1])
    except json.JSONDecodeError as error:
        raise AnswerError(f"the answer is not valid JSON ({error.msg})") from None


_ID_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")
_SCORE_KEY = re.compile(r"\s*(?:score\s*)?(-?\d+)(?:\.0+)?\s*", re.IGNORECASE)


def _assign_id(raw: Any, fallback: str, taken: set[str], repairs: list[str]) -> str:
    candidate = _ID_CHARS.sub("_", str(raw).strip() if raw is not None else "").strip("_.-")
    candidate = candidate[:ID_MAX] or fallback
    if raw is not None and candidate != str(raw):
        repairs.append(f"id {raw!r} became {candidate!r}")
    unique, number = candidate, 2
    while unique in taken:
        unique, number = f"{candidate}_{number}", number + 1
    if unique != candidate:
        repairs.append(f"duplicate id {candidate!r} renamed {unique!r}")
    taken.add(unique)
    return unique


# The answer form in the prompt shows "<...>" where content goes; small models copy it.
_PLACEHOLDER = re.compile(r"\s*<[^<>]{0,200}>\s*")


def _text_field(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise AnswerError(f"{where}: {key} is missing or empty")
    if _PLACEHOLDER.fullmatch(value):
        raise AnswerError(f"{where}: {key} copies the answer form's placeholder {value.strip()!r}")
    return " ".join(value.split())


def scale_from_answer(
    raw: Any, bounds: tuple[int, int], where: str
) -> tuple[dict[int, str], list[str]]:
    """Descriptors keyed by int score. Points outside the scale are dropped (a repair);
    a missing or empty descriptor rejects the answer, since no one can say what it meant."""
    low, high = bounds
    repairs: list[str] = []
    if isinstance(raw, list):
        if len(raw) != high - low + 1:
            raise AnswerError(
                f"{where}: scale lists {len(raw)} descriptors for {high - low + 1} scores"
            )
        raw = {str(low + offset): text for offset, text in enumerate(raw)}
        repairs.append(f"{where}: scale given as a list, read as scores {low}..{high}")
    if not isinstance(raw, dict):
        raise AnswerError(f"{where}: scale is missing or not an object of score -> descriptor")
    scale: dict[int, str] = {}
    outside: list[int] = []
    for key, text in raw.items():
        match = _SCORE_KEY.fullmatch(str(key))
        if match is None:
            raise AnswerError(f"{where}: scale key {key!r} is not a score")
        point = int(match.group(1))
        if not low <= point <= high:
            outside.append(point)
            continue
        if not isinstance(text, str) or not text.strip():
            raise AnswerError(f"{where}: descriptor for score {point} is empty")
        if _PLACEHOLDER.fullmatch(text):
            raise AnswerError(f"{where}: descriptor for score {point} copies the placeholder")
        scale[point] = " ".join(text.split())
    if outside:
        repairs.append(
            f"{where}: dropped descriptors for scores {sorted(outside)} outside [{low}, {high}]"
        )
    missing = [point for point in range(low, high + 1) if point not in scale]
    if missing:
        raise AnswerError(f"{where}: descriptor missing for score {', '.join(map(str, missing))}")
    return dict(sorted(scale.items())), repairs


def _weight(raw: Any, allowed: Sequence[int], where: str, repairs: list[str]) -> float:
    """The answer's weight, clipped into the allowed range; 0 (no say at all) becomes 1."""
    if raw is None:
        return 1.0
    if isinstance(raw, bool) or not isinstance(raw, int | float) or math.isnan(raw):
        repairs.append(f"{where}: weight {raw!r} is not a number, used 1")
        return 1.0
    weight = float(min(max(raw, min(allowed)), max(allowed)))
    if weight == 0:
        weight = 1.0
    if weight != raw:
        repairs.append(f"{where}: weight {raw!r} is outside {list(allowed)}, used {weight:g}")
    return weight


def criterion_from_answer(
    raw: Any,
    *,
    bounds: tuple[int, int],
    taken: set[str],
    where: str,
    fallback_id: str,
    weight: float | None = None,
) -> tuple[Criterion, list[str]]:
    """A validated Likert criterion from one answer entry, and the repairs it needed.

    `taken` holds ids already used in the rubric; the new id is added to it.
    """
    if not isinstance(raw, dict):
        raise AnswerError(f"{where}: expected an object, got {type(raw).__name__}")
    question = _text_field(raw, "question", where)
    scale, repairs = scale_from_answer(raw.get("scale"), bounds, where)
    if weight is None:
        weight = _weight(raw.get("weight"), LIKERT_WEIGHTS, where, repairs)
    criterion_id = _assign_id(raw.get("id"), fallback_id, taken, repairs)
    try:
        criterion = Criterion(id=criterion_id, question=question, scale=scale, weight=weight)
    except ValidationError as error:
        raise AnswerError(f"{where}: {error.errors()[0]['msg']}") from None
    return criterion, repairs


def check_from_answer(
    raw: Any,
    *,
    taken: set[str],
    where: str,
    fallback_id: str,
    kind: Literal["required", "optional"] | None = None,
    weight: float | None = None,
) -> tuple[ChecklistItem, list[str]]:
    """A validated checklist item from one answer entry, and the repairs it needed."""
    if not isinstance(raw, dict):
        raise AnswerError(f"{where}: expected an object, got {type(raw).__name__}")
    text = _text_field(raw, "text", where)
    repairs: list[str] = []
    if kind is None:
        given = raw.get("kind", "optional")
        kind = given if given in ("required", "optional") else "optional"
        if given != kind:
            repairs.append(f"{where}: kind {given!r} is not required/optional, used 'optional'")
    if weight is None:
        weight = _weight(raw.get("weight"), CHECK_WEIGHTS, where, repairs)
    item_id = _assign_id(raw.get("id"), fallback_id, taken, repairs)
    try:
        check = ChecklistItem(id=item_id, text=text, kind=kind, weight=weight)
    except ValidationError as error:
        raise AnswerError(f"{where}: {error.errors()[0]['msg']}") from None
    return check, repairs


def _entries(data: Any, key: str, *, allow_empty: bool = False) -> list[Any]:
    if not isinstance(data, dict):
        raise AnswerError(f"the answer is a JSON {type(data).__name__}, expected an object")
    entries = data.get(key, [] if allow_empty else None)
    if not isinstance(entries, list) or (not entries and not allow_empty):
        raise AnswerError(f"the answer has no {key!r} list")
    return entries


def finish_rubric(
    name: str,
    description: str,
    criteria: Sequence[Criterion],
    checklist: Sequence[ChecklistItem],
    *,
    repairs: list[str],
    has_reference: bool | None = None,
    has_history: bool | None = None,
    only: Collection[str] | None = None,
) -> tuple[Rubric, list[Finding]]:
    """Validate the assembled rubric and lint it: an exact duplicate is dropped (a repair),
    any other lint error rejects it. Returns the rubric and its remaining warnings.

    `only` limits the lint to those ids (the new parts), so a problem the caller's rubric
    already had does not reject the model's answer.
    """

    def ours(finding: Finding) -> bool:
        return only is None or finding.target in only

    for _ in range(2):
        try:
            rubric = rubric_from_dict(
                {
                    "name": name,
                    "description": description,
                    "criteria": [part.model_dump() for part in criteria],
                    "checklist": [part.model_dump() for part in checklist],
                },
                source="answer",
            )
        except RubricError as error:
            raise AnswerError(str(error)) from None
        findings = [
            finding
            for finding in lint_rubric(rubric, has_reference=has_reference, has_history=has_history)
            if ours(finding)
        ]
        duplicates = {f.target: f.message for f in findings if f.rule == "duplicate"}
        if not duplicates:
            break
        repairs.extend(f"dropped {target!r}: {message}" for target, message in duplicates.items())
        criteria = [part for part in criteria if part.id not in duplicates]
        checklist = [part for part in checklist if part.id not in duplicates]
    errors = [finding for finding in findings if finding.severity == "error"]
    if errors:
        raise AnswerError("; ".join(f"{f.target}: {f.message}" for f in errors), findings)
    return rubric, findings


# --- calling the model ------------------------------------------------------------------

Build = Callable[[Any], tuple[Rubric, list[str], list[Finding]]]


async def request_rubric(
    backend: Backend,
    prompt: str,
    schema: dict[str, Any],
    build: Build,
    *,
    temperature: float,
    seed: int,
    attempt: int,
    max_tokens: int,
    tag: str,
) -> GenerationResult:
    request = Request(
        messages=({"role": "user", "content": prompt},),
        json_schema=schema,
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed + attempt,
        want_logprobs=False,
        attempt=attempt,
        tag=tag,
    )
    try:
        completion = await backend.complete(request)
    except BackendError as error:
        return GenerationResult(
            status="failed", reason=f"backend error: {error}", seed=request.seed, attempt=attempt
        )
    try:
        rubric, repairs, findings = build(parse_json_answer(completion.text))
    except AnswerError as error:
        reason = str(error)
        if completion.finish_reason == "length":
            reason += f" (the answer was cut off at max_tokens={max_tokens})"
        return GenerationResult(
            status="rejected",
            reason=reason,
            findings=error.findings,
            raw=completion.text,
            seed=request.seed,
            attempt=attempt,
        )
    return GenerationResult(
        status="repaired" if repairs else "ok",
        rubric=rubric,
        repairs=repairs,
        findings=findings,
        raw=completion.text,
        seed=request.seed,
        attempt=attempt,
    )


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
    low, high = bounds
    example_texts = [text for rubric in examples if (text := _example_json(rubric, style))]
    prompt = render(
        "rubric_generate.j2",
        item=item,
        style=style,
        examples=example_texts,
        max_parts=max_parts,
        low=low,
        high=high,
        points=list(range(low, high + 1)),
    )

    def build(data: Any) -> tuple[Rubric, list[str], list[Finding]]:
        repairs: list[str] = []
        taken: set[str] = set()
        criteria: list[Criterion] = []
        checklist: list[ChecklistItem] = []
        key = "criteria" if style == "likert" else "checklist"
        for index, entry in enumerate(_entries(data, key), start=1):
            where = f"{key}[{index - 1}]"
            if style == "likert":
                part, notes = criterion_from_answer(
                    entry, bounds=bounds, taken=taken, where=where, fallback_id=f"criterion_{index}"
                )
                criteria.append(part)
            else:
                check, notes = check_from_answer(
                    entry, taken=taken, where=where, fallback_id=f"check_{index}"
                )
                checklist.append(check)
            repairs += notes
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

    schema = instance_schema(style, bounds, max_parts)
    result = GenerationResult(status="failed", reason="no tries were made")
    for attempt in range(max(1, tries)):
        result = await request_rubric(
            backend,
            prompt,
            schema,
            build,
            temperature=temperature,
            seed=seed,
            attempt=attempt,
            max_tokens=max_tokens,
            tag=f"rubric-generate:{item.id}",
        )
        if result.ok:
            break
    return result


# --- contrastive ------------------------------------------------------------------------

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
        raise ValueError(
            f"item {item.id!r}: contrastive generation needs response, response_b and which one "
            f"was preferred ('A' or 'B', from preferred= or labels['preferred'] / "
            f"labels['preference']); got {value!r}"
        )
    return "A" if side == "A" else "B"


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
    low, high = bounds
    prompt = render(
        "rubric_contrastive.j2",
        item=item,
        preferred=chosen,
        rejected=other,
        principles=principles,
        max_rules=max_rules,
        max_principles=max_principles,
        low=low,
        high=high,
        points=list(range(low, high + 1)),
    )

    def build(data: Any) -> tuple[Rubric, list[str], list[Finding]]:
        repairs: list[str] = []
        taken: set[str] = set()
        checklist: list[ChecklistItem] = []
        criteria: list[Criterion] = []
        for index, entry in enumerate(_entries(data, "hard_rules", allow_empty=True)):
            check, notes = check_from_answer(
                entry,
                taken=taken,
                where=f"hard_rules[{index}]",
                fallback_id=f"rule_{index + 1}",
                kind="required",
                weight=1.0,
            )
            checklist.append(check)
            repairs += notes
        for index, entry in enumerate(_entries(data, "principles", allow_empty=True)):
            where, fallback = f"principles[{index}]", f"principle_{index + 1}"
            if principles == "likert":
                part, notes = criterion_from_answer(
                    entry, bounds=bounds, taken=taken, where=where, fallback_id=fallback, weight=1.0
                )
                criteria.append(part)
            else:
                check, notes = check_from_answer(
                    entry,
                    taken=taken,
                    where=where,
                    fallback_id=fallback,
                    kind="optional",
                    weight=1.0,
                )
                checklist.append(check)
            repairs += notes
        if not checklist and not criteria:
            raise AnswerError("the answer has neither hard rules nor principles")
        rubric, findings = finish_rubric(
            f"contrastive-{item.id}",
            f"Derived from the preference pair of item {item.id}.",
            criteria,
            checklist,
            repairs=repairs,
            has_reference=item.reference is not None,
            has_history=item.is_multi_turn,
        )
        return rubric, repairs, findings

    schema = contrastive_schema(principles, bounds, max_rules, max_principles)
    result = ContrastiveResult()
    for attempt in range(tries):
        answer = await request_rubric(
            backend,
            prompt,
            schema,
            build,
            temperature=temperature,
            seed=seed,
            attempt=attempt,
            max_tokens=max_tokens,
            tag=f"rubric-contrastive:{item.id}",
        )
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


# --- dataset-level summary --------------------------------------------------------------


def _clusters(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """Average-linkage clusters whose members are, on average, at least `threshold` cosine
    similar; listed in order of their first member, so the result is deterministic."""
    if len(vectors) == 1:
        return [[0]]
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    distances = np.clip(pdist(vectors, "cosine"), 0.0, 2.0)
    labels = fcluster(linkage(distances, "average"), t=1.0 - threshold, criterion="distance")
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(int(label), []).append(index)
    return sorted(groups.values(), key=lambda members: members[0])


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=float)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


@dataclass(frozen=True)
class _Part:
    source: int
    part: Criterion | ChecklistItem

    @property
    def text(self) -> str:
        return self.part.question if isinstance(self.part, Criterion) else self.part.text


async def _merge_wording(
    backend: Backend,
    members: list[_Part],
    representative: Criterion | ChecklistItem,
    *,
    temperature: float,
    seed: int,
) -> Criterion | ChecklistItem:
    """Ask the model for one wording of a cluster; keep the representative if that fails."""
    texts = list(dict.fromkeys(member.text for member in members))
    if len(texts) < 2:
        return representative
    likert = isinstance(representative, Criterion)
    low, high = representative.bounds if isinstance(representative, Criterion) else (1, 2)
    prompt = render(
        "rubric_summarise.j2",
        members=texts,
        kind="likert" if likert else "checklist",
        negative=representative.weight < 0,
        low=low,
        high=high,
        points=list(range(low, high + 1)),
    )
    if likert:
        schema = _object({"question": _string(QUESTION_MAX), "scale": scale_schema((low, high))})
    else:
        schema = _object({"text": _string(QUESTION_MAX)})
    request = Request(
        messages=({"role": "user", "content": prompt},),
        json_schema=schema,
        max_tokens=768,
        temperature=temperature,
        seed=seed,
        want_logprobs=False,
        tag=f"rubric-summarise:{representative.id}",
    )
    try:
        data = parse_json_answer((await backend.complete(request)).text)
        if not isinstance(data, dict):
            raise AnswerError("the answer is not a JSON object")
        if isinstance(representative, Criterion):
            merged, _ = criterion_from_answer(
                {**data, "id": representative.id},
                bounds=(low, high),
                taken=set(),
                where=representative.id,
                fallback_id=representative.id,
                weight=representative.weight,
            )
            return merged
        return representative.model_copy(update={"text": _text_field(data, "text", "answer")})
    except (BackendError, AnswerError) as error:
        logger.warning(
            "kept %r as written: merging its cluster failed (%s)", representative.id, error
        )
        return representative


async def summarise_rubrics(
    rubrics: Sequence[Rubric],
    backend: Backend | None = None,
    *,
    embed: Embed,
    threshold: float = 0.8,
    min_support: int = 1,
    max_parts: int | None = None,
    name: str = "summary",
    description: str | None = None,
    temperature: float = 0.0,
    seed: int = 0,
) -> Rubric:
    """One data-set rubric from many instance rubrics.

    Criteria (and, separately, rewarding and penalising checklist items) are clustered by
    embedding similarity; each cluster keeps its most central member (optionally reworded
    by `backend` to cover the whole cluster) and is weighted by the fraction of rubrics
    that contain it, so a quality most items ask for outweighs one that a single item
    needed. Clusters found in fewer than `min_support` rubrics are left out, and only the
    `max_parts` most frequent are kept.
    """
    if not rubrics:
        raise ValueError("no rubrics to summarise")
    groups: dict[str, list[_Part]] = {"likert": [], "reward": [], "penalty": []}
    for source, rubric in enumerate(rubrics):
        for criterion in rubric.criteria:
            groups["likert"].append(_Part(source=source, part=criterion))
        for check in rubric.checklist:
            groups["penalty" if check.weight < 0 else "reward"].append(
                _Part(source=source, part=check)
            )

    chosen: list[tuple[int, Criterion | ChecklistItem, list[_Part]]] = []
    for parts in groups.values():
        if not parts:
            continue
        vectors = _unit(embed([part.text for part in parts]))
        for members in _clusters(vectors, threshold):
            support = len({parts[i].source for i in members})
            if support < min_support:
                continue
            similarity = vectors[members] @ vectors[members].T
            central = members[int(np.argmax(similarity.mean(axis=1)))]
            chosen.append((support, parts[central].part, [parts[i] for i in members]))
    chosen.sort(key=lambda entry: -entry[0])  # stable: ties keep their first-seen order
    if max_parts is not None:
        chosen = chosen[:max_parts]
    if not chosen:
        raise RubricError(f"no criterion appears in at least {min_support} of the rubrics")

    taken: set[str] = set()
    criteria: list[Criterion] = []
    checklist: list[ChecklistItem] = []
    for support, representative, cluster in chosen:
        frequency = support / len(rubrics)
        part: Criterion | ChecklistItem = representative.model_copy(
            update={
                "id": _assign_id(representative.id, representative.id, taken, []),
                "weight": -frequency if representative.weight < 0 else frequency,
            }
        )
        if isinstance(part, ChecklistItem):
            required = sum(
                isinstance(m.part, ChecklistItem) and m.part.kind == "required" for m in cluster
            )
            part = part.model_copy(
                update={"kind": "required" if 2 * required > len(cluster) else "optional"}
            )
        if backend is not None:
            part = await _merge_wording(backend, cluster, part, temperature=temperature, seed=seed)
        if isinstance(part, Criterion):
            criteria.append(part)
        else:
            checklist.append(part)
    summary = description or (
        f"Summarised from {len(rubrics)} rubrics; weights are how often each part appears."
    )
    return rubric_from_dict(
        {
            "name": name,
            "description": summary,
            "criteria": [c.model_dump() for c in criteria],
            "checklist": [c.model_dump() for c in checklist],
        },
        source="summary",
    )
