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
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jurist.core.completion import ScoreSlot
from jurist.core.judgment import VERDICTS
from jurist.core.parse import (
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


_RANKING_LINE = re.compile(r"^(?:\*\*)?(?:final\s+)?ranking(?:\*\*)?\s*[:=]\s*(.+?)\.?$", re.I)
_RANK_SEPARATOR = re.compile(r"\s*(?:>|,|\s)\s*")


@dataclass(frozen=True, eq=False)
class RankingAnswer(AnswerSpec):
    """The labels of `n` responses, best first: a full ranking, each label exactly once.

    The slot sits before the first label, so its probabilities say how likely each response
    was to be put on top. A ranking that repeats or leaves out a label is a parse error,
    never completed by guessing."""

    n: int
    value_key: str = "ranking"

    def __post_init__(self) -> None:
        if not 2 <= self.n <= len(RANK_LABELS):
            raise ValueError(f"a ranking needs 2 to {len(RANK_LABELS)} responses, not {self.n}")

    @property
    def choices(self) -> tuple[str, ...]:
        return RANK_LABELS[: self.n]

    def value_schema(self) -> dict[str, Any]:
        return {
            "type": "array",
            "items": {"type": "string", "enum": list(self.choices)},
            "minItems": self.n,
            "maxItems": self.n,
        }

    def slot(self) -> ScoreSlot:
        return ScoreSlot(marker=rf'"{self.value_key}"\s*:\s*\[\s*"$', choices=self.choices)

    def parse(self, text: str, quoted: tuple[str, ...] = ()) -> Parsed:
        """A final 'Ranking: B > A > C' line, else the last JSON answer with a ranking."""
        lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
        match = _RANKING_LINE.match(lines[-1]) if lines else None
        if match:
            labels = [p for p in _RANK_SEPARATOR.split(match.group(1).strip()) if p]
            return Parsed(self._check(labels), None)
        candidates = [obj for obj in json_objects(text, quoted) if self.value_key in obj]
        problem: ParseError | None = None
        for obj in reversed(candidates):
            value = obj[self.value_key]
            if not isinstance(value, list):
                problem = ParseError(f"{self.value_key!r} is not a list of response labels")
                continue
            try:
                ranking = self._check(value)
            except ParseError as error:
                problem = problem or error
                continue
            rationale = obj.get(self.rationale_key)
            return Parsed(ranking, str(rationale) if rationale is not None else None)
        if problem is not None:
            raise problem
        raise ParseError("no JSON answer and no final 'Ranking: A > B' line")

    def _check(self, labels: list[Any]) -> tuple[str, ...]:
        cleaned = [str(label).strip().strip("[]()").upper() for label in labels]
        unknown = [label for label in cleaned if label not in self.choices]
        if unknown:
            allowed = ", ".join(self.choices)
            raise ParseError(f"unknown response label {unknown[0]!r}; use {allowed}")
        if len(set(cleaned)) != len(cleaned) or len(cleaned) != self.n:
            missing = [c for c in self.choices if c not in cleaned]
            repeated = sorted({c for c in cleaned if cleaned.count(c) > 1})
            detail = "; ".join(
                part
                for part in (
                    f"repeats {', '.join(repeated)}" if repeated else "",
                    f"leaves out {', '.join(missing)}" if missing else "",
                )
                if part
            )
            raise ParseError(f"the ranking must list each of {self.n} responses once ({detail})")
        return tuple(cleaned)


RANK_LABELS: tuple[str, ...] = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
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


def parse_joint_scores(
    text: str, criteria: dict[str, list[int]], quoted: tuple[str, ...] = ()
) -> dict[str, Parsed | ParseError]:
    """Scores for several criteria from one JSON object keyed by criterion id."""
    specs = {cid: LikertAnswer(tuple(points)) for cid, points in criteria.items()}
    return parse_joint(text, specs, quoted)


def parse_joint_decisions(
    text: str, item_ids: list[str], quoted: tuple[str, ...] = ()
) -> dict[str, Parsed | ParseError]:
    """Decisions for several checklist items from one JSON object keyed by item id."""
    return parse_joint(text, dict.fromkeys(item_ids, YES_NO), quoted)
