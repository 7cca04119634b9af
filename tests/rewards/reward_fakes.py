"""A small scripted judge for reward unit tests: it answers each (response, part) with a
chosen decision and its probability, a score and its distribution, garbage, or a failure."""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

from jurist.backends.base import BackendError
from jurist.core.completion import Completion, Request

_RESPONSE = re.compile(r"<response>\n(.*?)\n</response>", re.S)


@dataclass(frozen=True)
class Yes:
    """A decision; `p_yes` becomes the slot's log-probabilities when given."""

    answer: str
    p_yes: float | None = None


@dataclass(frozen=True)
class Score:
    value: int
    distribution: dict[int, float] | None = None


Scripted = Yes | Score | BackendError | str


class RubricFake:
    """Answers from `script[(response text, part id)]`; records every request."""

    name = "fake"
    model = "rubric-fake"

    def __init__(self, script: dict[tuple[str, str], Scripted]) -> None:
        self.script = script
        self.requests: list[Request] = []

    async def complete(self, request: Request) -> Completion:
        self.requests.append(request)
        prompt = request.messages[-1]["content"]
        found = _RESPONSE.search(prompt)
        assert found is not None, prompt
        part = request.tag.split(":", 1)[1]
        answer = self.script[(found.group(1), part)]
        if isinstance(answer, BackendError):
            raise answer
        if isinstance(answer, str):
            return Completion(text=answer)
        if isinstance(answer, Yes):
            slots = []
            if answer.p_yes is not None:
                slots = [{"yes": math.log(answer.p_yes), "no": math.log(1 - answer.p_yes)}]
            return Completion(text=json.dumps({"answer": answer.answer}), slot_logprobs=slots)
        slots = []
        if answer.distribution is not None:
            slots = [{str(k): math.log(v) for k, v in answer.distribution.items() if v > 0}]
        return Completion(text=json.dumps({"score": answer.value}), slot_logprobs=slots)

    async def aclose(self) -> None:
        return None
