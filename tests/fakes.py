"""Small in-process fakes for unit tests (integration tests use real servers)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

from jurist.backends.base import BackendError
from jurist.core.completion import Completion, Request


class ScriptedBackend:
    """Answers each request with `answer(request, call_number)`; may raise BackendError."""

    name = "fake"

    def __init__(
        self, answer: Callable[[Request, int], str | BackendError], model: str = "m"
    ) -> None:
        self.model = model
        self._answer = answer
        self.requests: list[Request] = []

    async def complete(self, request: Request) -> Completion:
        self.requests.append(request)
        result = self._answer(request, len(self.requests))
        if isinstance(result, BackendError):
            raise result
        slots = []
        for slot in request.score_slots:
            # A peaked distribution on the answered value when it is one of the choices.
            try:
                value = str(json.loads(result).get("score", json.loads(result).get("verdict")))
            except (json.JSONDecodeError, AttributeError):
                value = None
            slots.append(
                {
                    c: math.log(0.7 if c == value else 0.3 / (len(slot.choices) - 1))
                    for c in slot.choices
                }
            )
        return Completion(text=result, slot_logprobs=slots, prompt_tokens=10, completion_tokens=5)

    async def aclose(self) -> None:
        return None
