"""What every judging mode shares: planned calls, their answers, and the Judge protocol."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from jurist.core.answers import AnswerSpec, joint_schema, parse_joint
from jurist.core.completion import Completion, Request, ScoreSlot
from jurist.core.data import Item
from jurist.core.judgment import Judgment, Sample, Status
from jurist.core.parse import ParseError
from jurist.core.rubric import Rubric
from jurist.judges.prompt_cache import PromptCache


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
    attempts: int = 1  # parse attempts: 1 + the re-asks after unparseable answers
    calls: int = 0  # requests a server received for this answer, retries included
    cache_hits: int = 0  # answers served from the cache (or shared with a twin request)
    # A part of a joint answer leaves the raw text to the judgment, which keeps it once.
    keeps_raw: bool = True

    @property
    def raw(self) -> str | None:
        if not self.keeps_raw or self.completion is None:
            return None
        return self.completion.text


Rationale = Literal["before", "after", "none"]
Layout = Literal["rubric-first", "item-first"]


@dataclass(frozen=True)
class JudgeOptions:
    """Settings shared by all modes; they change prompts or sampling, so they enter cache keys."""

    joint: bool = field(
        default=False, metadata={"help": "All criteria (or checklist items) in one call per item."}
    )
    both_orders: bool = field(
        default=True, metadata={"help": "Pairwise: judge both orders and merge."}
    )
    max_tokens: int = field(default=384, metadata={"help": "Token budget per answer."})
    rationale_chars: int = 400
    temperature: float = field(default=0.0, metadata={"help": "Temperature of one sample."})
    seed: int = field(default=0, metadata={"help": "Base sampling seed."})
    want_logprobs: bool = True
    # Where the judge writes its rationale: before the value (reasoning first), after it
    # (the value's token distribution is read before any rationale is spent), or not at all.
    rationale: Rationale = field(
        default="before",
        metadata={
            "help": "Where the judge writes its rationale: before the score (reasoning first), "
            "after it, or none (the score alone: one constrained token, much faster)."
        },
    )
    # Pointwise prompts: every criterion before the item (one prefix shared by all calls of a
    # run, an item's calls sharing the item as well: what prefix caches reuse), or only the
    # graded criterion, after the item (the shortest prompt, for rubrics too long to repeat).
    layout: Layout = field(
        default="rubric-first",
        metadata={
            "help": "Pointwise prompts: the whole rubric first, shared by every call (fastest "
            "wherever prompts are prefix-cached), or the item first and only the graded "
            "criterion after it (shortest prompts)."
        },
    )


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


class SingleResponseJudge:
    """What pointwise and checklist judges share: a rubric part to judge, one response."""

    mode: str
    needs: str  # what the rubric must have, named in the error when it has none

    def __init__(self, rubric: Rubric, options: JudgeOptions | None = None) -> None:
        if not getattr(rubric, self.needs):
            raise ValueError(f"rubric {rubric.name!r} has no {self.needs} to judge {self.mode}")
        self.rubric = rubric
        self.options = options or JudgeOptions()
        self._prompts = PromptCache()
        # Per answer spec (kept alive here, so its id is never reused): its schema and slot,
        # the same for every item.
        self._shapes: dict[int, tuple[AnswerSpec, dict[str, Any], ScoreSlot]] = {}

    def check(self, item: Item) -> None:
        if item.response is None and not item.is_multi_turn:
            raise ValueError(f"item {item.id!r} has no response to judge")

    def prompt(self, template: str, item: Item, **context: Any) -> str:
        return self._prompts.render(
            template,
            item,
            rationale=self.options.rationale,
            layout=self.options.layout,
            rubric=self.rubric,
            **context,
        )

    def part_call(
        self, item: Item, key: str, spec: AnswerSpec, template: str, **context: Any
    ) -> Call:
        """One call for one criterion or checklist item."""
        opts = self.options
        shape = self._shapes.get(id(spec))
        if shape is None:
            schema = spec.schema(opts.rationale_chars, opts.rationale)
            shape = self._shapes[id(spec)] = (spec, schema, spec.slot())
        prompt = self.prompt(template, item, **context)
        request = make_request(opts, prompt, shape[1], [shape[2]], f"{self.mode}:{key}")
        quoted = quoted_texts(item)
        return Call(key, request, lambda text: spec.parse(text, quoted))

    def joint_call(
        self, item: Item, specs: dict[str, AnswerSpec], template: str, floor: int, **context: Any
    ) -> Call:
        """One call answering every part, each part's rationale kept shorter."""
        opts = self.options
        schema = joint_schema(specs, max(floor, opts.rationale_chars // 2), opts.rationale)
        slots = [spec.slot() for spec in specs.values()]
        request = make_request(
            opts, self.prompt(template, item, **context), schema, slots, f"{self.mode}:*"
        )
        request = request.model_copy(update={"max_tokens": opts.max_tokens * len(specs)})
        quoted = quoted_texts(item)
        return Call("*", request, lambda text: any_parsed(parse_joint(text, specs, quoted)))


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


class JointParseError(ParseError):
    """No part of a joint answer parsed; `parts` holds each part's own reason, so every
    part reports its own error instead of a copy of all of them."""

    def __init__(self, parts: dict[str, ParseError]) -> None:
        self.parts = parts
        reasons = {str(error) for error in parts.values()}
        summary = next(iter(reasons)) if len(reasons) == 1 else "see each part's error"
        super().__init__(f"no part of the joint answer parsed ({len(parts)} parts): {summary}")


def any_parsed(results: dict[str, Any]) -> dict[str, Any]:
    """A joint answer's parse: kept when at least one part parsed, so the others can be
    reported one by one; a parse error (and so a retry) when none did."""
    problems = {key: r for key, r in results.items() if isinstance(r, ParseError)}
    if len(problems) == len(results):
        raise JointParseError(problems)
    return results


def part_of(answer: Answer, key: str) -> Answer:
    """One part's view of a joint answer, so joint and one-call-per-part share the merge.
    Its error is its own, and the raw text stays with the judgment (kept once)."""
    if answer.status == "failed":
        return replace(answer, keeps_raw=False)
    parsed = answer.parsed.get(key) if isinstance(answer.parsed, dict) else None
    if answer.status == "parse_error":
        error = parsed if isinstance(parsed, ParseError) else None
        return replace(
            answer, parsed=None, error=str(error) if error else answer.error, keeps_raw=False
        )
    if isinstance(parsed, ParseError) or parsed is None:
        reason = str(parsed) if parsed is not None else f"{key} missing from the answer"
        return replace(answer, status="parse_error", parsed=None, error=reason, keeps_raw=False)
    return replace(answer, parsed=parsed, keeps_raw=False)


def joint_raw(answers: dict[str, list[Answer]]) -> str | None:
    """The raw text of a joint call's first sample, kept once per judgment."""
    samples = answers.get("*") or []
    return samples[0].raw if samples else None


def judgment_fields(
    rubric: Rubric, item: Item, index: int, judge_name: str, answers: dict[str, list[Answer]]
) -> dict[str, Any]:
    """The fields every mode's judgment carries: which item, which judge and rubric, usage."""
    return {
        "item_id": item.id,
        "index": index,
        "judge": judge_name,
        "rubric": rubric.name,
        "rubric_hash": rubric.content_hash,
        "labels": item.labels,
        "metadata": item.metadata,
        "response_chars": len(item.response or ""),
        **usage(answers),
    }


def usage(answers: dict[str, list[Answer]]) -> dict[str, Any]:
    """Token, latency and cache totals over all answers of an item."""
    flat = [a for samples in answers.values() for a in samples]
    completions = [a.completion for a in flat if a.completion is not None]
    return {
        "prompt_tokens": sum(c.prompt_tokens for c in completions if not c.cached),
        "completion_tokens": sum(c.completion_tokens for c in completions if not c.cached),
        "latency_s": round(sum(c.latency_s for c in completions if not c.cached), 4),
        "calls": sum(a.calls for a in flat),
        "cache_hits": sum(a.cache_hits for a in flat),
    }


def quoted_texts(item: Item) -> tuple[str, ...]:
    """The judged texts: JSON copied from them into a judge's answer is not its answer."""
    texts = [item.response, item.response_b, item.reference]
    if isinstance(item.input, str):
        texts.append(item.input)
    else:
        texts.extend(turn.content for turn in item.input)
    return tuple(t for t in texts if t)
