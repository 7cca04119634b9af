"""Model answers that become rubrics: the JSON schemas a model writes to, and the gate
every answer passes.

A model's rubric is untrusted input. Every answer goes through the same gate as a rubric
file (the pydantic models) plus the linter; simple slips are repaired and recorded (an
unusable id, a duplicated id, descriptors for scores outside the scale, an exact duplicate
criterion), anything else rejects the answer with its reason. A rejected or failed answer
is reported as such, never replaced by a default rubric.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, Field, ValidationError

from jurist.backends.base import Backend, BackendError
from jurist.core.completion import Request
from jurist.core.parse import json_objects
from jurist.core.rubric import ChecklistItem, Criterion, Rubric, RubricError, rubric_from_dict
from jurist.rubrics.lint import Finding, lint_rubric

Style = Literal["likert", "checklist"]
Status = Literal["ok", "repaired", "rejected", "failed"]
Part = TypeVar("Part", Criterion, ChecklistItem)


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


def string_schema(max_length: int, prefix: str = "") -> dict[str, Any]:
    """A bounded free-text field; `prefix` (plain words only) is what it must start with."""
    pattern = f"^{prefix}{TEXT_CHAR}{{1,{max_length - len(prefix)}}}$"
    return {"type": "string", "minLength": 1, "maxLength": max_length, "pattern": pattern}


def id_schema() -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": ID_MAX, "pattern": ID_PATTERN}


def object_schema(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def array_schema(items: dict[str, Any], low: int, high: int) -> dict[str, Any]:
    return {"type": "array", "items": items, "minItems": low, "maxItems": high}


def scale_points(bounds: tuple[int, int]) -> dict[str, Any]:
    """What the prompt templates show of a scale: its ends and every point between."""
    low, high = bounds
    return {"low": low, "high": high, "points": list(range(low, high + 1))}


def scale_schema(bounds: tuple[int, int]) -> dict[str, Any]:
    """Exactly one descriptor per score point, keyed by the score as text (JSON keys)."""
    low, high = bounds
    return object_schema(
        {str(point): string_schema(DESCRIPTOR_MAX) for point in range(low, high + 1)}
    )


def criterion_schema(bounds: tuple[int, int], *, weight: bool = False) -> dict[str, Any]:
    properties: dict[str, Any] = {"id": id_schema(), "question": string_schema(QUESTION_MAX)}
    if weight:
        properties["weight"] = {"type": "integer", "enum": list(LIKERT_WEIGHTS)}
    properties["scale"] = scale_schema(bounds)
    return object_schema(properties)


def check_schema(*, kind: bool = False, weight: bool = False) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "id": id_schema(),
        "text": string_schema(QUESTION_MAX, CHECK_PREFIX),
    }
    if kind:
        properties["kind"] = {"type": "string", "enum": ["required", "optional"]}
    if weight:
        properties["weight"] = {"type": "integer", "enum": list(CHECK_WEIGHTS)}
    return object_schema(properties)


def instance_schema(style: Style, bounds: tuple[int, int], max_parts: int) -> dict[str, Any]:
    if style == "likert":
        return object_schema(
            {"criteria": array_schema(criterion_schema(bounds, weight=True), 1, max_parts)}
        )
    return object_schema(
        {"checklist": array_schema(check_schema(kind=True, weight=True), 1, max_parts)}
    )


def contrastive_schema(
    principles: Style, bounds: tuple[int, int], max_rules: int, max_principles: int
) -> dict[str, Any]:
    principle = criterion_schema(bounds) if principles == "likert" else check_schema()
    return object_schema(
        {
            "hard_rules": array_schema(check_schema(), 0, max_rules),
            "principles": array_schema(principle, 0, max_principles),
        }
    )


# --- reading answers --------------------------------------------------------------------


def parse_json_answer(text: str) -> Any:
    """The JSON object in a model's answer, tolerating code fences or prose around it: the
    largest one, so a nested example never stands in for the whole answer."""
    text = text.strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    found = list(json_objects(text))
    if not found:
        start, end = text.find("{"), text.rfind("}")
        if start == -1 or end <= start:
            raise AnswerError("the answer contains no JSON object")
        raise AnswerError("the answer is not valid JSON")
    return max(found, key=lambda obj: len(json.dumps(obj)))


_ID_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")
_SCORE_KEY = re.compile(r"\s*(?:score\s*)?(-?\d+)(?:\.0+)?\s*", re.IGNORECASE)


def assign_id(raw: Any, fallback: str, taken: set[str], repairs: list[str]) -> str:
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


def text_field(raw: Mapping[str, Any], key: str, where: str) -> str:
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


def _entry(raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise AnswerError(f"{where}: expected an object, got {type(raw).__name__}")
    return raw


def _part(
    model: type[Part],
    raw: dict[str, Any],
    fields: dict[str, Any],
    weights: Sequence[int],
    where: str,
    fallback_id: str,
    taken: set[str],
    repairs: list[str],
) -> Part:
    """The validated part; a weight of None in `fields` is read from the answer, and the
    answer's id is made usable and unique."""
    if fields["weight"] is None:
        fields = {**fields, "weight": _weight(raw.get("weight"), weights, where, repairs)}
    part_id = assign_id(raw.get("id"), fallback_id, taken, repairs)
    try:
        return model(**fields, id=part_id)
    except ValidationError as error:
        raise AnswerError(f"{where}: {error.errors()[0]['msg']}") from None


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
    question = text_field(_entry(raw, where), "question", where)
    scale, repairs = scale_from_answer(raw.get("scale"), bounds, where)
    fields = {"question": question, "scale": scale, "weight": weight}
    criterion = _part(Criterion, raw, fields, LIKERT_WEIGHTS, where, fallback_id, taken, repairs)
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
    text = text_field(_entry(raw, where), "text", where)
    repairs: list[str] = []
    if kind is None:
        given = raw.get("kind", "optional")
        kind = given if given in ("required", "optional") else "optional"
        if given != kind:
            repairs.append(f"{where}: kind {given!r} is not required/optional, used 'optional'")
    fields = {"text": text, "kind": kind, "weight": weight}
    check = _part(ChecklistItem, raw, fields, CHECK_WEIGHTS, where, fallback_id, taken, repairs)
    return check, repairs


def parts_from_answer(
    entries: Sequence[Any],
    key: str,
    fallback: str,
    *,
    likert: bool,
    bounds: tuple[int, int],
    taken: set[str],
    repairs: list[str],
    kind: Literal["required", "optional"] | None = None,
    weight: float | None = None,
) -> tuple[list[Criterion], list[ChecklistItem]]:
    """Likert criteria (or checklist items) from the entries of the answer's `key` list;
    an entry without a usable id is named `fallback_N`. Repairs are added to `repairs`."""
    criteria: list[Criterion] = []
    checklist: list[ChecklistItem] = []
    for index, entry in enumerate(entries):
        where, fallback_id = f"{key}[{index}]", f"{fallback}_{index + 1}"
        if likert:
            part, notes = criterion_from_answer(
                entry,
                bounds=bounds,
                taken=taken,
                where=where,
                fallback_id=fallback_id,
                weight=weight,
            )
            criteria.append(part)
        else:
            check, notes = check_from_answer(
                entry, taken=taken, where=where, fallback_id=fallback_id, kind=kind, weight=weight
            )
            checklist.append(check)
        repairs += notes
    return criteria, checklist


def answer_entries(data: Any, key: str, *, allow_empty: bool = False) -> list[Any]:
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


@dataclass(frozen=True)
class RubricRequest:
    """A prompt for a rubric, the schema its answer must follow, and how an answer becomes a
    rubric; each `ask` is one try (seed + attempt), its outcome recorded, never raised."""

    prompt: str
    schema: dict[str, Any]
    build: Build
    tag: str
    temperature: float = 0.7
    seed: int = 0
    max_tokens: int = 1536

    async def ask(self, backend: Backend, attempt: int = 0) -> GenerationResult:
        request = Request(
            messages=({"role": "user", "content": self.prompt},),
            json_schema=self.schema,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            seed=self.seed + attempt,
            want_logprobs=False,
            attempt=attempt,
            tag=self.tag,
        )
        tried = {"seed": request.seed, "attempt": attempt}
        try:
            completion = await backend.complete(request)
        except BackendError as error:
            return GenerationResult(status="failed", reason=f"backend error: {error}", **tried)
        try:
            rubric, repairs, findings = self.build(parse_json_answer(completion.text))
        except AnswerError as error:
            reason = str(error)
            if completion.finish_reason == "length":
                reason += f" (the answer was cut off at max_tokens={self.max_tokens})"
            return GenerationResult(
                status="rejected",
                reason=reason,
                findings=error.findings,
                raw=completion.text,
                **tried,
            )
        return GenerationResult(
            status="repaired" if repairs else "ok",
            rubric=rubric,
            repairs=repairs,
            findings=findings,
            raw=completion.text,
            **tried,
        )
