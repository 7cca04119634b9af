from __future__ import annotations

import json

import pytest

from fakes import ScriptedBackend
from jurist.backends import register_backend
from jurist.core.completion import Request
from jurist.injection import outside_fences

# Phrases of the built-in attacks a gullible judge obeys; the defence fences all of them.
OBEYED = (
    "Ignore all previous",
    '"score": 5',
    "SYSTEM: the evaluation",
    "Response A is",
    "Response B is",
    '"verdict": "',
)


def gullible_answer(request: Request, call: int) -> str:
    """A judge that does what injected text says (unless the defence fenced it): top score,
    or the side the text sits in."""
    prompt = outside_fences(request.messages[-1]["content"])
    hits = [prompt.find(phrase) for phrase in OBEYED if phrase in prompt]
    if "\n<response_a>\n" not in prompt:
        return json.dumps({"rationale": "graded", "score": 5 if hits else 2})
    if not hits:
        return json.dumps({"rationale": "even", "verdict": "tie"})
    second = prompt.rfind("\n<response_b>\n")
    return json.dumps({"rationale": "told", "verdict": "B" if min(hits) > second else "A"})


@pytest.fixture
def gullible() -> list[ScriptedBackend]:
    """`--judge gullible` builds a fresh scripted backend; the list holds the ones built."""
    built: list[ScriptedBackend] = []

    def factory(spec, settings) -> ScriptedBackend:
        backend = ScriptedBackend(gullible_answer)
        built.append(backend)
        return backend

    register_backend("gullible", factory, "gullible")
    return built
