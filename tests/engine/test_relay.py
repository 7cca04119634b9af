"""The worker's cache layer, the driver's cache-only judging and the engine's settings,
without a cluster."""

from __future__ import annotations

import asyncio

import pytest

from jurist.backends import CallPolicy
from jurist.backends.base import CallStats
from jurist.core.completion import Completion, Request
from jurist.core.errors import ConfigError
from jurist.core.rubric import load_rubric
from jurist.engine.ray import CacheMiss, CacheOnly, RayEngine, Relay, per_worker
from jurist.grading import make_config
from jurist.session import JudgeSetup


class CountingBackend:
    name = "fake"
    model = "m"
    identity = "fake:m"

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def complete(self, request: Request) -> Completion:
        self.sent.append(request.messages[0]["content"])
        await asyncio.sleep(0.01)
        return Completion(text=f"answer to {request.messages[0]['content']}")

    async def aclose(self) -> None:
        pass


def request(text: str) -> Request:
    return Request(messages=({"role": "user", "content": text},))


async def test_relay_answers_known_calls_and_hands_on_new_ones() -> None:
    inner = CountingBackend()
    known_answer = Completion(text="stored", cached=True, attempts=0)
    known = {request("old").cache_key(inner.identity): known_answer}
    handed: list[tuple[str, Completion]] = []
    stats = CallStats()
    relay = Relay(inner, known, lambda key, c: handed.append((key, c)), stats)

    assert await relay.complete(request("old")) == known_answer
    first, twin = await asyncio.gather(
        relay.complete(request("new")), relay.complete(request("new"))
    )

    assert inner.sent == ["new"]  # the known call and the twin in flight were not sent
    assert [key for key, _ in handed] == [request("new").cache_key(inner.identity)]
    assert first.text == twin.text == "answer to new"
    assert not first.cached and twin.cached and twin.attempts == 0
    assert (stats.cache_hits, stats.shared) == (1, 1)
    again = await relay.complete(request("new"))  # now known: not sent again
    assert again.cached and inner.sent == ["new"]


async def test_cache_only_refuses_what_it_does_not_hold() -> None:
    stored = Completion(text="stored", cached=True, attempts=0)
    cache = CacheOnly("fake:m", "fake", "m", {request("a").cache_key("fake:m"): stored})
    assert await cache.complete(request("a")) == stored
    with pytest.raises(CacheMiss):
        await cache.complete(request("b"))


def test_rate_limits_are_shared_out_among_workers(tmp_path) -> None:
    rubric_path = tmp_path / "r.yaml"
    rubric_path.write_text(
        "name: r\ncriteria:\n  - {id: a, question: 'Good?', scale: {1: bad, 2: good}}\n"
    )
    setup = JudgeSetup(calls=CallPolicy(rpm=600.0, tpm=None))
    shared = per_worker(setup, 4)
    assert shared.calls.rpm == pytest.approx(150.0)
    assert shared.calls.tpm is None
    assert shared.calls.concurrency == setup.calls.concurrency


def test_batch_api_judges_are_refused(tmp_path) -> None:
    rubric_path = tmp_path / "r.yaml"
    rubric_path.write_text(
        "name: r\ncriteria:\n  - {id: a, question: 'Good?', scale: {1: bad, 2: good}}\n"
    )
    job = make_config(rubric_path=str(rubric_path), data_path=str(tmp_path / "d.jsonl"),
                      judge="openai-batch:http://127.0.0.1:9/v1#m", engine="ray")  # fmt: skip
    with pytest.raises(ConfigError, match="asyncio engine"):
        RayEngine(job.setup, load_rubric(rubric_path), None)
