"""Asking a judge about one item: its planned calls, samples and parse re-asks.

This is the only place that turns calls into answers, so grading runs, rubric pipelines,
rewards and training all sample, re-ask and count the same way. The backend it is given
is already layered (cache, retries, limits); nothing here schedules or retries transport.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jurist.backends.base import Backend, identity_of
from jurist.core.completion import Request
from jurist.core.data import Item
from jurist.core.errors import BackendError
from jurist.core.judgment import Judgment
from jurist.core.parse import ParseError
from jurist.judges.base import Answer, Call, JointParseError, Judge


@dataclass(frozen=True)
class SamplingOptions:
    """How many samples per call, at what temperature, and how often to re-ask."""

    samples: int = field(
        default=1,
        metadata={"help": "Samples per call (temperature > 0), merged by vote.", "min": 1},
    )
    sample_temperature: float = field(
        default=0.7, metadata={"help": "Temperature used with --samples > 1."}
    )
    parse_retries: int = field(
        default=2, metadata={"help": "Re-ask this often when an answer cannot be parsed.", "min": 0}
    )


def varied(request: Request, sample: int, retry: int, options: SamplingOptions) -> Request:
    """The request for one sample / re-ask: identical greedy calls give identical answers,
    so samples and re-asks get a temperature above zero and their own seed and cache key."""
    temperature = request.temperature
    if options.samples > 1 or retry > 0:
        temperature = max(temperature, options.sample_temperature)
    attempt = 1000 * sample + retry
    seed = (request.seed or 0) + attempt
    if request.attempt == attempt and request.seed == seed and request.temperature == temperature:
        return request  # the first greedy call: already the request to send
    return request.model_copy(update={"attempt": attempt, "seed": seed, "temperature": temperature})


async def answer_call(
    backend: Backend, call: Call, sample: int, options: SamplingOptions
) -> Answer:
    """One sample of one call: re-asked (new seed) while unparseable, then honest about it."""
    last: Answer | None = None
    calls = 0
    hits = 0
    for retry in range(options.parse_retries + 1):
        try:
            completion = await backend.complete(varied(call.request, sample, retry, options))
        except BackendError as error:
            calls += error.attempts
            return Answer(
                "failed", error=str(error), attempts=retry + 1, calls=calls, cache_hits=hits
            )
        calls += completion.attempts
        hits += int(completion.cached)
        try:
            parsed = call.parse(completion.text)
        except ParseError as error:
            parts = error.parts if isinstance(error, JointParseError) else None
            last = Answer("parse_error", completion, parts, str(error), retry + 1, calls, hits)
            continue
        return Answer("ok", completion, parsed, attempts=retry + 1, calls=calls, cache_hits=hits)
    assert last is not None
    return last


async def judge_item(
    backend: Backend, judge: Judge, item: Item, index: int, options: SamplingOptions
) -> Judgment:
    """All of one item's calls, sent one after another so a server's prompt cache keeps the
    item's shared prefix warm, merged by the judge into one Judgment."""
    answers: dict[str, list[Answer]] = {}
    for call in judge.calls(item):
        answers[call.key] = [
            await answer_call(backend, call, sample, options) for sample in range(options.samples)
        ]
    return judge.judgment(item, index, answers, identity_of(backend))
