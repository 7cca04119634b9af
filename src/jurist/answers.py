"""Answer specs: one object per answer type owns everything about reading that answer.

A Likert score, a yes/no decision and a pairwise verdict each know their JSON schema (which
also becomes the embedded model's grammar), the score-token slot where a backend reads the
probability of every allowed value, how to parse the judge's text, and how to turn slot
log-probabilities into a distribution. Judges compose specs; nothing else spells out the
allowed values of an answer.
"""

from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jurist.completion import ScoreSlot
from jurist.judgment import VERDICTS
from jurist.parse import (
    Parsed,
    ParseError,
    json_objects,
    parse_decision,
    parse_score,
    parse_verdict,
)


def string_schema(max_chars: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_chars}


class AnswerSpec(ABC):
    """One answer type: `{rationale_key: text, value_key: one of choices}`."""

    value_key: str
    rationale_key: str = "rationale"

    @property
    @abstractmethod
    def choices(self) -> tuple[str, ...]:
        """The allowed values as the tokens a model writes."""

    @abstractmethod
    def value_schema(self) -> dict[str, Any]:
        """The JSON schema of the value alone."""

    @abstractmethod
    def parse(self, text: str, quoted: tuple[str, ...] = ()) -> Parsed:
        """The judge's answer from its whole text; ParseError when there is none."""

    def schema(self, rationale_chars: int, rationale: str = "before") -> dict[str, Any]:
        """The answer object with its keys in the order they are written: the rationale
        `before` the value (the model reasons before it commits), `after` it, or `none`."""
        value = (self.value_key, self.value_schema())
        reason = (self.rationale_key, string_schema(rationale_chars))
        order = {"before": [reason, value], "after": [value, reason], "none": [value]}
        if rationale not in order:
            raise ValueError(f"rationale must be before, after or none, not {rationale!r}")
        keys = order[rationale]
        return {
            "type": "object",
            "properties": dict(keys),
            "required": [key for key, _ in keys],
            "additionalProperties": False,
        }

    def slot(self) -> ScoreSlot:
        """Where the value's token is written, for reading its probabilities."""
        quote = "" if self.value_schema().get("type") == "integer" else '"?'
        return ScoreSlot(marker=rf'"{self.value_key}"\s*:\s*{quote}$', choices=self.choices)

    def parse_entry(self, entry: Mapping[str, Any]) -> Parsed:
        """One part of a joint answer: the object keyed by this part's id."""
        return self.parse(json.dumps(dict(entry)))

    def distribution(self, logprobs: Mapping[str, float]) -> dict[str, float] | None:
        """Normalised probabilities over the choices read at the slot; None if none known."""
        known = {c: logprobs[c] for c in self.choices if c in logprobs}
        if not known:
            return None
        top = max(known.values())
        weights = {c: math.exp(v - top) for c, v in known.items()}
        total = sum(weights.values())
        return {c: weights.get(c, 0.0) / total for c in self.choices}


@dataclass(frozen=True, eq=False)
class LikertAnswer(AnswerSpec):
    """An integer score on a criterion's scale."""

    points: tuple[int, ...]
    value_key: str = "score"

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(str(p) for p in self.points)

    def value_schema(self) -> dict[str, Any]:
        return {"type": "integer", "enum": list(self.points)}

    def parse(self, text: str, quoted: tuple[str, ...] = ()) -> Parsed:
        return parse_score(text, list(self.points), self.value_key, quoted)


@dataclass(frozen=True, eq=False)
class YesNoAnswer(AnswerSpec):
    """A checklist decision."""

    value_key: str = "answer"
    rationale_key: str = "justification"

    @property
    def choices(self) -> tuple[str, ...]:
        return ("yes", "no")

    def value_schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.choices)}

    def parse(self, text: str, quoted: tuple[str, ...] = ()) -> Parsed:
        return parse_decision(text, quoted)


@dataclass(frozen=True, eq=False)
class VerdictAnswer(AnswerSpec):
    """Which of two responses is better, or a tie."""

    value_key: str = "verdict"

    @property
    def choices(self) -> tuple[str, ...]:
        return VERDICTS

    def value_schema(self) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.choices)}

    def parse(self, text: str, quoted: tuple[str, ...] = ()) -> Parsed:
        return parse_verdict(text, quoted)


YES_NO = YesNoAnswer()
VERDICT = VerdictAnswer()


def joint_schema(
    parts: Mapping[str, AnswerSpec], rationale_chars: int, rationale: str = "before"
) -> dict[str, Any]:
    """One object keyed by part id, each holding that part's own answer."""
    return {
        "type": "object",
        "properties": {key: spec.schema(rationale_chars, rationale) for key, spec in parts.items()},
        "required": list(parts),
        "additionalProperties": False,
    }


def parse_joint(
    text: str, parts: Mapping[str, AnswerSpec], quoted: tuple[str, ...] = ()
) -> dict[str, Parsed | ParseError]:
    """Each part's answer from one joint object (the last one that holds any part)."""
    best: dict[str, Any] | None = None
    for obj in json_objects(text, quoted):
        if any(key in obj for key in parts):
            best = obj
    if best is None:
        missing = ParseError("no JSON object with the parts' answers")
        return dict.fromkeys(parts, missing)
    results: dict[str, Parsed | ParseError] = {}
    for key, spec in parts.items():
        entry = best.get(key)
        if not isinstance(entry, dict):
            results[key] = ParseError(f"{key!r} missing from the answer")
            continue
        try:
            results[key] = spec.parse_entry(entry)
        except ParseError as error:
            results[key] = ParseError(f"{key}: {error}")
    return results
