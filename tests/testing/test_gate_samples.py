"""Repeated samples of one item are independent draws: each has its own seed and cache
key, so N samples are N model calls the first time (never the cached first answer served
N times) and zero calls on a rerun."""

from __future__ import annotations

import json

from fakes import ScriptedBackend
from jurist.backends.base import identity_of
from jurist.core.completion import Request
from jurist.core.rubric import rubric_from_dict
from jurist.judges.answering import SamplingOptions, varied
from jurist.session import JudgeSession, JudgeSetup

RUBRIC = rubric_from_dict(
    {"name": "r", "criteria": [{"id": "a", "question": "A?", "scale": {1: "x", 2: "y", 3: "z"}}]}
)
ITEM = {"id": "i", "input": "question", "response": "answer"}


def test_each_sample_gets_its_own_seed_and_cache_key() -> None:
    request = Request(messages=({"role": "user", "content": "q"},), seed=7)
    options = SamplingOptions(samples=5)
    asked = [varied(request, sample, 0, options) for sample in range(5)]
    assert len({r.seed for r in asked}) == 5
    assert len({r.cache_key("judge") for r in asked}) == 5
    assert all(r.temperature > 0 for r in asked)


def test_n_samples_make_n_cached_calls_and_a_rerun_makes_none(store) -> None:
    scores = iter([3, 2, 3, 1, 3, 2])
    backend = ScriptedBackend(lambda req, n: json.dumps({"rationale": "r", "score": next(scores)}))
    setup = JudgeSetup(sampling=SamplingOptions(samples=6))
    with JudgeSession(RUBRIC, setup, store=store, backend=backend) as session:
        (first,) = session.judge([ITEM])
    keys = {r.cache_key(identity_of(backend)) for r in backend.requests}
    assert len(backend.requests) == 6 and len(keys) == 6
    assert len({r.seed for r in backend.requests}) == 6
    assert store.completion_count() == 6
    assert first.criteria["a"].samples == [3, 2, 3, 1, 3, 2]
    assert first.calls == 6 and first.cache_hits == 0

    with JudgeSession(RUBRIC, setup, store=store, backend=backend) as session:
        (again,) = session.judge([ITEM])
    assert len(backend.requests) == 6  # no new call reached the model
    assert again.cache_hits == 6 and again.criteria["a"].samples == first.criteria["a"].samples
