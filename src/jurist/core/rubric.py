"""Rubrics: Likert criteria with a descriptor per score point, and weighted yes/no checklists.

A rubric is the contract between the person who wants something graded and the judge,
so it is validated strictly and identified by a hash of its content in every result.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from jurist.core.data import encoding_name, sniff_encoding
from jurist.core.errors import RubricError

__all__ = [
    "ChecklistItem",
    "Criterion",
    "Rubric",
    "RubricError",
    "load_rubric",
    "read_rubric_data",
    "rubric_from_dict",
    "save_rubric",
]


class Criterion(BaseModel):
    """A Likert criterion: one question, an integer scale, a descriptor for every point."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    question: str = Field(min_length=1)
    range: tuple[int, int] | None = None
    scale: dict[int, str]
    weight: float = Field(default=1.0, ge=0)

    @field_validator("range")
    @classmethod
    def _range_has_two_points(cls, bounds: tuple[int, int] | None) -> tuple[int, int] | None:
        if bounds is not None and bounds[0] >= bounds[1]:
            raise ValueError(f"range [{bounds[0]}, {bounds[1]}] must have at least two points")
        return bounds

    @field_validator("scale")
    @classmethod
    def _every_point_described(cls, scale: dict[int, str], info: ValidationInfo) -> dict[int, str]:
        if not scale:
            raise ValueError("scale has no descriptors")
        for point, text in scale.items():
            if not str(text).strip():
                raise ValueError(f"descriptor for score {point} is empty")
        bounds = info.data.get("range")
        low, high = bounds if bounds is not None else (min(scale), max(scale))
        if low == high:
            raise ValueError("a scale needs at least two points")
        for point in range(low, high + 1):
            if point not in scale:
                raise ValueError(f"descriptor missing for score {point}")
        for point in scale:
            if not low <= point <= high:
                raise ValueError(
                    f"descriptor for score {point} is outside the range [{low}, {high}]"
                )
        return dict(sorted(scale.items()))

    @property
    def bounds(self) -> tuple[int, int]:
        """The scale's (lowest, highest) score; given by `range` or by the described points."""
        if self.range is not None:
            return self.range
        return min(self.scale), max(self.scale)

    @property
    def points(self) -> list[int]:
        low, high = self.bounds
        return list(range(low, high + 1))

    def normalise(self, score: float) -> float:
        """Map a score onto [0, 1] so criteria with different scales can be combined."""
        low, high = self.bounds
        return (score - low) / (high - low)


class ChecklistItem(BaseModel):
    """A yes/no requirement; a negative weight penalises a 'yes' (e.g. an unsafe dosage)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    text: str = Field(min_length=1)
    weight: float = 1.0
    kind: Literal["required", "optional"] = "optional"


class Rubric(BaseModel):
    """A named set of Likert criteria and/or checklist items."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    name: str = Field(min_length=1)
    description: str = ""
    criteria: list[Criterion] = Field(default_factory=list)
    checklist: list[ChecklistItem] = Field(default_factory=list)

    @model_validator(mode="after")
    def _has_content_and_unique_ids(self) -> Rubric:
        if not self.criteria and not self.checklist:
            raise ValueError("a rubric needs at least one criterion or checklist item")
        seen: set[str] = set()
        for part in (*self.criteria, *self.checklist):
            if part.id in seen:
                raise ValueError(f"id {part.id!r} is used twice")
            seen.add(part.id)
        if self.checklist and not any(item.weight > 0 for item in self.checklist):
            raise ValueError("checklist needs at least one item with a positive weight")
        return self

    @cached_property
    def content_hash(self) -> str:
        """Identifies the rubric's content in results; key order and formatting do not matter.
        Computed once: every judgment carries it."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def criterion(self, criterion_id: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.id == criterion_id:
                return criterion
        raise KeyError(criterion_id)

    def combine(
        self, scores: Mapping[str, float | None], digits: int | None = None
    ) -> float | None:
        """The rubric's combined score: the weighted mean of each criterion's score mapped to
        [0, 1], by criterion weight. None unless every criterion has a score (a mean over the
        answered ones would reward a judge's silence) and the weights sum above zero. Scores
        are on each criterion's own scale (a parsed or an expected score); `digits` rounds.
        """
        total = sum(c.weight for c in self.criteria)
        values = [scores.get(c.id) for c in self.criteria]
        if total <= 0 or any(value is None for value in values):
            return None
        weighted = sum(
            c.weight * c.normalise(value or 0.0)
            for c, value in zip(self.criteria, values, strict=True)
        )
        combined = weighted / total
        return combined if digits is None else round(combined, digits)

    def to_yaml(self) -> str:
        data = self.model_dump(mode="python", exclude_defaults=False)
        for criterion in data["criteria"]:
            if criterion["range"] is None:
                del criterion["range"]
            else:
                criterion["range"] = list(criterion["range"])
        if not data["checklist"]:
            del data["checklist"]
        if not data["criteria"]:
            del data["criteria"]
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def _key_path(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


_MESSAGES = {"finite_number": "must be a finite number"}


def _format_errors(source: str, error: ValidationError) -> str:
    lines = []
    for detail in error.errors():
        loc = tuple(detail["loc"])
        message = _MESSAGES.get(detail["type"], detail["msg"].removeprefix("Value error, "))
        path = _key_path(loc)
        lines.append(f"{source}: {path}: {message}" if path else f"{source}: {message}")
    return "\n".join(lines)


def _non_finite_paths(data: Any, loc: tuple[int | str, ...] = ()) -> list[str]:
    """Key paths of every infinite or NaN number: a weight of .inf or .nan turns scores into
    NaN, which is not even valid JSON in a summary."""
    if isinstance(data, float) and not math.isfinite(data):
        return [_key_path(loc)]
    paths: list[str] = []
    if isinstance(data, dict):
        for key, value in data.items():
            part = key if isinstance(key, int | str) else str(key)
            if isinstance(key, float) and not math.isfinite(key):
                paths.append(_key_path((*loc, part)))
            paths += _non_finite_paths(value, (*loc, part))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            paths += _non_finite_paths(value, (*loc, index))
    return paths


def rubric_from_dict(data: Any, source: str = "<rubric>") -> Rubric:
    """Validate a parsed rubric; errors name the source and the key path of each problem."""
    if not isinstance(data, dict):
        raise RubricError(f"{source}: a rubric must be a mapping, got {type(data).__name__}")
    non_finite = _non_finite_paths(data)
    if non_finite:
        raise RubricError(
            "\n".join(f"{source}: {path}: must be a finite number" for path in non_finite)
        )
    try:
        return Rubric.model_validate(data)
    except ValidationError as error:
        raise RubricError(_format_errors(source, error)) from None


class _DuplicateKeyError(yaml.MarkedYAMLError):
    pass


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping instead of keeping the last."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_lines: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *defaults` overrides on purpose
            key = self.construct_object(key_node, deep=True)
            try:
                first = first_lines.get(key)
            except TypeError:
                continue  # unhashable; SafeLoader reports it below
            if first is not None:
                raise _DuplicateKeyError(
                    problem=f"duplicate key {key!r} (first given on line {first})",
                    problem_mark=key_node.start_mark,
                )
            first_lines[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _decode(path: Path, raw: bytes) -> str:
    codec, mark_length = sniff_encoding(raw[:4])
    body = raw[mark_length:]
    try:
        return body.decode(codec)
    except UnicodeDecodeError as error:
        line = body[: error.start].decode(codec).count("\n") + 1
        offset = mark_length + error.start
        raise RubricError(
            f"{path}: line {line}, byte offset {offset}: cannot be decoded as "
            f"{encoding_name(codec)} ({error.reason}); save the file as UTF-8"
        ) from None


def read_rubric_data(path: str | Path) -> Any:
    """A rubric file's parsed YAML (or JSON), decoded by its byte order mark; not validated."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise RubricError(f"{path}: cannot read rubric ({error.strerror})") from None
    text = _decode(path, raw)
    try:
        return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader: builds plain data only
    except _DuplicateKeyError as error:
        mark = error.problem_mark
        raise RubricError(
            f"{path}: line {mark.line + 1}, column {mark.column + 1}: {error.problem}"
        ) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise RubricError(f"{path}: {where}invalid YAML ({problem})") from None


def load_rubric(path: str | Path) -> Rubric:
    """Read a rubric from YAML (or JSON, which is YAML)."""
    return rubric_from_dict(read_rubric_data(path), source=str(path))


def save_rubric(rubric: Rubric, path: str | Path) -> None:
    Path(path).write_text(rubric.to_yaml(), encoding="utf-8")
