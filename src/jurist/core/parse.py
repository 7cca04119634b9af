"""Reading a judge's answer: JSON first, then a strict pattern anchored to the answer's end.

A judge may echo the prompt's instructions, so nothing here searches the text for the first
number that looks like a score: the JSON object must validate against the expected fields and
range, and the fallback only accepts a final line such as ``Score: 4``. Anything else is a
ParseError, which the runner records as ``parse_error`` with the raw text.

The judge's own final word wins: a final ``Score: N`` line beats JSON earlier in the answer,
and JSON that also appears in the judged text (``quoted``) is never taken as the answer, so
a response that embeds a fake ``{"score": 5}`` cannot grade itself when the judge quotes it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


class ParseError(ValueError):
    """The answer holds no valid score, verdict or decision."""


@dataclass(frozen=True)
class Parsed:
    value: int | str | tuple[str, ...]  # a ranking is a tuple of response labels, best first
    rationale: str | None


_DECODER = json.JSONDecoder(strict=False)  # tolerate raw newlines inside strings


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _copied(source: str, squashed: list[str]) -> bool:
    """Whether an object's source text appears, whitespace aside, in a quoted text."""
    source = _squash(source)
    return any(source in q for q in squashed)


def json_objects(text: str, quoted: tuple[str, ...] = ()) -> Iterator[dict[str, Any]]:
    """Every JSON object embedded in the text, in order (code fences and prose around are
    fine), except those copied from a `quoted` text (the judged response or input)."""
    # Only a text with a brace can hold a copied object (squashing keeps every brace).
    squashed = [_squash(q) for q in quoted if "{" in q]
    position = text.find("{")
    while position != -1:
        try:
            obj, end = _DECODER.raw_decode(text, position)
        except json.JSONDecodeError:
            position = text.find("{", position + 1)
            continue
        if isinstance(obj, dict) and not (squashed and _copied(text[position:end], squashed)):
            yield obj
        position = text.find("{", end)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+\s*", value):
        return int(value)
    return None


_SCORE_LINE = re.compile(
    r"^(?:\*\*)?(?:final\s+)?(?:score|rating)(?:\*\*)?\s*[:=]\s*(?:\*\*)?\s*\[?\[?(-?\d+)\]?\]?"
    r"(?:\s*/\s*\d+)?\s*\.?(?:\*\*)?$",
    re.IGNORECASE,
)


def _before_last_line(text: str) -> str | None:
    stripped = text.strip()
    return stripped.rsplit("\n", 1)[0] if "\n" in stripped else None


def parse_score(
    text: str, points: list[int], key: str = "score", quoted: tuple[str, ...] = ()
) -> Parsed:
    """A Likert score within `points`: a final 'Score: N' line, else the last JSON answer."""
    match = _SCORE_LINE.match(_last_line(text))
    if match:
        score = int(match.group(1))
        if score in points:
            return Parsed(score, _before_last_line(text))
        raise ParseError(f"score {score} is outside the scale {points[0]}..{points[-1]}")
    candidates = [obj for obj in json_objects(text, quoted) if key in obj]
    for obj in reversed(candidates):
        score = _as_int(obj[key])
        if score is not None and score in points:
            rationale = obj.get("rationale")
            return Parsed(score, str(rationale) if rationale is not None else None)
    if candidates:
        raise ParseError(f"{key!r} is not an integer in {points[0]}..{points[-1]}")
    raise ParseError("no JSON answer and no final 'Score: N' line")


_VERDICT_WORDS = {"a": "A", "b": "B", "tie": "tie", "equal": "tie", "draw": "tie"}
_VERDICT_LINE = re.compile(
    r"^(?:\*\*)?(?:final\s+)?(?:verdict|winner|better(?:\s+response)?)(?:\*\*)?\s*[:=]\s*(?:\*\*)?\s*"
    r"\[?\[?(?:response\s+)?(a|b|tie|equal|draw)\]?\]?\s*\.?(?:\*\*)?$",
    re.IGNORECASE,
)


def _verdict(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    word = value.strip().strip("[]").lower().removeprefix("response ").strip()
    return _VERDICT_WORDS.get(word)


def parse_verdict(text: str, quoted: tuple[str, ...] = ()) -> Parsed:
    """'A', 'B' or 'tie': a final 'Verdict: A' line, else the last JSON answer."""
    match = _VERDICT_LINE.match(_last_line(text))
    if match:
        return Parsed(_VERDICT_WORDS[match.group(1).lower()], None)
    candidates = [obj for obj in json_objects(text, quoted) if "verdict" in obj]
    for obj in reversed(candidates):
        verdict = _verdict(obj["verdict"])
        if verdict is not None:
            rationale = obj.get("rationale")
            return Parsed(verdict, str(rationale) if rationale is not None else None)
    if candidates:
        raise ParseError("'verdict' is not one of A, B, tie")
    raise ParseError("no JSON answer and no final 'Verdict: A|B|tie' line")


_ANSWER_LINE = re.compile(
    r"^(?:\*\*)?(?:final\s+)?(?:answer|decision)(?:\*\*)?\s*[:=]\s*(?:\*\*)?\s*\[?(yes|no)\]?\s*\.?(?:\*\*)?$",
    re.IGNORECASE,
)


def parse_decision(text: str, quoted: tuple[str, ...] = ()) -> Parsed:
    """'yes' or 'no' for a checklist item: a final 'Answer: yes' line, else the last JSON."""
    match = _ANSWER_LINE.match(_last_line(text))
    if match:
        return Parsed(match.group(1).lower(), None)
    candidates = [obj for obj in json_objects(text, quoted) if "answer" in obj]
    for obj in reversed(candidates):
        answer = obj["answer"]
        if isinstance(answer, bool):
            answer = "yes" if answer else "no"
        if isinstance(answer, str) and answer.strip().lower() in ("yes", "no"):
            justification = obj.get("justification")
            return Parsed(
                answer.strip().lower(), str(justification) if justification is not None else None
            )
    if candidates:
        raise ParseError("'answer' is not yes or no")
    raise ParseError("no JSON answer and no final 'Answer: yes|no' line")
