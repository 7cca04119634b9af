"""What every judging mode shares: planned calls, their answers, and the Judge protocol."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from jurist.completion import Completion, Request, ScoreSlot
from jurist.data import Item
from jurist.judgment import Judgment, Sample, Status
from jurist.parse import ParseError
from jurist.rubric import Rubric


@dataclass(frozen=True)
class Call:
    """One planned model call for an item; `key` names what it judges (a criterion id,
    a checklist item id, a pair order, or '*' for a joint call)."""

    key: str
    request: Request
    parse: Callable[[str], Any]


@dataclass(frozen=True)
class Answer:
    """The outcome of one call (one sample): parsed value, or why there is none."""

    status: Status
    completion: Completion | None = None
    parsed: Any = None
    error: str | None = None
    attempts: int = 1

    @property
    def raw(self) -> str | None:
        return self.completion.text if self.completion is not None else None


@dataclass(frozen=True)
class JudgeOptions:
    """Settings shared by all modes; they change prompts or sampling, so they enter cache keys."""

    joint: bool = False
    both_orders: bool = True
    max_tokens: int = 384
    rationale_chars: int = 400
    temperature: float = 0.0
    seed: int = 0
    want_logprobs: bool = True


class Judge(Protocol):
    mode: str
    rubric: Rubric
    options: JudgeOptions

    def calls(self, item: Item) -> list[Call]:
        """The item's calls in the order to send them (the shared prefix first)."""
        ...

    def judgment(
        self, item: Item, index: int, answers: dict[str, list[Answer]], judge_name: str
    ) -> Judgment:
        """Merge the answers (one list of samples per call key) into a Judgment."""
        ...


def user_message(text: str) -> tuple[dict[str, str], ...]:
    # One user turn: some chat formats (Gemma's among them) drop system messages.
    return ({"role": "user", "content": text},)


def make_request(
    options: JudgeOptions, prompt: str, schema: dict[str, Any], slots: Sequence[ScoreSlot], tag: str
) -> Request:
    return Request(
        messages=user_message(prompt),
        json_schema=schema,
        score_slots=tuple(slots),
        max_tokens=options.max_tokens,
        temperature=options.temperature,
        seed=options.seed,
        want_logprobs=options.want_logprobs,
        tag=tag,
    )


def sample_from(answer: Answer, value: Any = None, rationale: str | None = None) -> Sample:
    return Sample(
        status=answer.status,
        value=value,
        rationale=rationale,
        raw=answer.raw,
        error=answer.error,
        cached=bool(answer.completion and answer.completion.cached),
        attempts=answer.attempts,
    )


def first_problem(answers: Sequence[Answer]) -> Answer:
    """The answer that explains why no sample succeeded: a failure outranks a parse error."""
    for answer in answers:
        if answer.status == "failed":
            return answer
    return answers[0]


def any_parsed(results: dict[str, Any]) -> dict[str, Any]:
    """A joint answer's parse: kept when at least one part parsed, so the others can be
    reported one by one; a parse error (and so a retry) when none did."""
    problems = [f"{key}: {r}" for key, r in results.items() if isinstance(r, ParseError)]
    if len(problems) == len(results):
        raise ParseError("; ".join(problems))
    return results


def part_of(answer: Answer, key: str) -> Answer:
    """One part's view of a joint answer, so joint and one-call-per-part share the merge."""
    if answer.status != "ok":
        return answer
    parsed = answer.parsed[key]
    if isinstance(parsed, ParseError):
        return Answer("parse_error", answer.completion, None, str(parsed), answer.attempts)
    return Answer("ok", answer.completion, parsed, None, answer.attempts)


def usage(answers: dict[str, list[Answer]]) -> dict[str, Any]:
    """Token, latency and cache totals over all answers of an item."""
    flat = [a for samples in answers.values() for a in samples]
    completions = [a.completion for a in flat if a.completion is not None]
    return {
        "prompt_tokens": sum(c.prompt_tokens for c in completions if not c.cached),
        "completion_tokens": sum(c.completion_tokens for c in completions if not c.cached),
        "latency_s": round(sum(c.latency_s for c in completions if not c.cached), 4),
        "calls": sum(a.attempts for a in flat),
        "cache_hits": sum(1 for c in completions if c.cached),
    }


def string_schema(max_chars: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_chars}
