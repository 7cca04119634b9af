"""Each layer around a backend, alone: cache, retries, adaptive limits, rate limits."""

from __future__ import annotations

import asyncio
import json

import pytest

from fakes import ScriptedBackend
from jurist.backends import (
    AdaptiveLimit,
    CachingBackend,
    CallStats,
    LimitingBackend,
    RetryingBackend,
    RetryPolicy,
    TokenBucket,
    layered,
)
from jurist.backends.stack import CallPolicy
from jurist.core.completion import Completion, Request
from jurist.core.errors import BackendError

REQUEST = Request(messages=({"role": "user", "content": "grade this"},), max_tokens=16)
GOOD = json.dumps({"rationale": "r", "score": 3})


class Recorder:
    """Collects the pauses a layer asks for instead of sleeping."""

    def __init__(self) -> None:
        self.pauses: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.pauses.append(seconds)


# ------------------------------------------------------------------ cache


async def test_cache_miss_then_hit(store):
    inner = ScriptedBackend(lambda req, n: GOOD)
    stats = CallStats()
    cached = CachingBackend(inner, store, stats)
    first = await cached.complete(REQUEST)
    second = await cached.complete(REQUEST)
    assert len(inner.requests) == 1
    assert not first.cached and second.cached and second.attempts == 0
    assert second.text == first.text and stats.cache_hits == 1


async def test_cache_key_separates_servers_with_the_same_model_name(store):
    four = ScriptedBackend(lambda req, n: json.dumps({"rationale": "r", "score": 4}))
    two = ScriptedBackend(lambda req, n: json.dumps({"rationale": "r", "score": 2}))
    four.identity = "openai:http://127.0.0.1:9001/v1#m"
    two.identity = "openai:http://127.0.0.1:9002/v1#m"
    assert (await CachingBackend(four, store).complete(REQUEST)).text.endswith("4}")
    answer = await CachingBackend(two, store).complete(REQUEST)
    assert answer.text.endswith("2}") and not answer.cached and len(two.requests) == 1


async def test_identical_requests_in_flight_are_sent_once(store):
    release = asyncio.Event()

    class Slow(ScriptedBackend):
        async def complete(self, request: Request) -> Completion:
            await release.wait()
            return await super().complete(request)

    inner = Slow(lambda req, n: GOOD)
    stats = CallStats()
    cached = CachingBackend(inner, store, stats)
    tasks = [asyncio.create_task(cached.complete(REQUEST)) for _ in range(3)]
    await asyncio.sleep(0)
    release.set()
    answers = await asyncio.gather(*tasks)
    assert len(inner.requests) == 1 and stats.shared == 2
    assert sorted(a.cached for a in answers) == [False, True, True]


async def test_a_failure_is_not_cached(store):
    outcomes = iter([BackendError("HTTP 500", retryable=True, status=500), GOOD])
    inner = ScriptedBackend(lambda req, n: next(outcomes))
    cached = CachingBackend(inner, store)
    with pytest.raises(BackendError):
        await cached.complete(REQUEST)
    assert (await cached.complete(REQUEST)).text == GOOD and len(inner.requests) == 2


# ------------------------------------------------------------------ retries


async def test_retry_schedule_honours_retry_after_and_counts_every_attempt():
    outcomes = iter(
        [
            BackendError("HTTP 429", retryable=True, status=429, retry_after=7.0),
            BackendError("HTTP 503", retryable=True, status=503),
            GOOD,
        ]
    )
    inner = ScriptedBackend(lambda req, n: next(outcomes))
    sleep = Recorder()
    stats = CallStats()
    policy = RetryPolicy(max_attempts=5, base_delay=0.5, max_delay=30.0)
    answer = await RetryingBackend(inner, policy, stats, sleep=sleep).complete(REQUEST)
    assert answer.text == GOOD and answer.attempts == 3
    assert sleep.pauses[0] == 7.0  # the server's Retry-After wins
    assert 0.5 <= sleep.pauses[1] <= 1.0  # second failure: jittered 2**1 * 0.5 / 2 .. 1.0
    assert stats.calls == 3 and stats.retries == 2


async def test_retry_gives_up_with_the_attempts_made():
    inner = ScriptedBackend(lambda req, n: BackendError("HTTP 500", retryable=True, status=500))
    sleep = Recorder()
    with pytest.raises(BackendError, match="gave up after 3 attempts") as raised:
        await RetryingBackend(inner, RetryPolicy(max_attempts=3), sleep=sleep).complete(REQUEST)
    assert raised.value.attempts == 3 and len(sleep.pauses) == 2 and not raised.value.retryable


async def test_non_retryable_error_is_not_retried():
    inner = ScriptedBackend(lambda req, n: BackendError("HTTP 401", retryable=False, status=401))
    with pytest.raises(BackendError, match=r"^HTTP 401$"):
        await RetryingBackend(inner, RetryPolicy(max_attempts=5), sleep=Recorder()).complete(
            REQUEST
        )
    assert len(inner.requests) == 1


# ------------------------------------------------------------------ adaptive limit


async def test_aimd_halves_on_429_and_grows_back():
    limit = AdaptiveLimit(8)
    assert limit.allowed == 8
    await limit.acquire()
    await limit.release(congested=True)
    assert limit.allowed == 4
    await limit.acquire()
    await limit.release(congested=True)
    assert limit.allowed == 2
    for _ in range(3):
        await limit.acquire()
        await limit.release(congested=False)
    assert limit.allowed == 3  # +1 per window of `limit` successes: 2 + 1/2 + 1/2.5 + 1/2.9
    for _ in range(200):
        await limit.acquire()
        await limit.release(congested=False)
    assert limit.allowed == 8  # never above the ceiling


async def test_aimd_never_goes_below_one():
    limit = AdaptiveLimit(2)
    for _ in range(10):
        await limit.acquire()
        await limit.release(congested=True)
    assert limit.allowed == 1


async def test_waiters_get_slots_in_arrival_order_and_cancelled_ones_pass_theirs_on():
    limit = AdaptiveLimit(2)
    order: list[str] = []

    async def hold(name: str, release: asyncio.Event) -> None:
        await limit.acquire()
        order.append(name)
        await release.wait()
        await limit.release(congested=False)

    gates = {name: asyncio.Event() for name in "abcde"}
    tasks = {name: asyncio.create_task(hold(name, gates[name])) for name in "abcde"}
    await asyncio.sleep(0)
    assert order == ["a", "b"] and limit.in_flight == 2
    tasks["c"].cancel()  # gives up while waiting: never holds a slot
    gates["a"].set()
    await asyncio.sleep(0.01)
    assert order == ["a", "b", "d"] and limit.in_flight == 2
    gates["b"].set()
    await asyncio.sleep(0)  # b releases and grants e its slot; e has not run yet
    tasks["e"].cancel()  # so the slot comes with the cancellation: handed back, not lost
    await asyncio.sleep(0.01)
    assert limit.in_flight == 1  # d alone
    gates["d"].set()
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    assert order == ["a", "b", "d"] and limit.in_flight == 0
    await limit.acquire()
    await limit.acquire()
    assert limit.in_flight == 2  # every slot came back


async def test_limiting_layer_backs_off_on_429_and_caps_requests_in_flight():
    in_flight = 0
    most = 0

    class Counting(ScriptedBackend):
        async def complete(self, request: Request) -> Completion:
            nonlocal in_flight, most
            in_flight += 1
            most = max(most, in_flight)
            await asyncio.sleep(0.01)
            in_flight -= 1
            return await super().complete(request)

    outcomes = iter([BackendError("HTTP 429", retryable=True, status=429)] + [GOOD] * 40)
    inner = Counting(lambda req, n: next(outcomes))
    limited = LimitingBackend(inner, AdaptiveLimit(4), timeout=None)
    with pytest.raises(BackendError):
        await limited.complete(REQUEST)
    assert limited.limit.allowed == 2
    await asyncio.gather(*(limited.complete(REQUEST) for _ in range(20)))
    assert most <= 4 and limited.limit.in_flight == 0


async def test_timeout_scales_with_requests_queued_at_a_serialising_server():
    """A server that answers one request at a time is still working for the requests queued
    behind it: with three in flight, the third may wait three answers' time."""
    lock = asyncio.Lock()

    class Serial(ScriptedBackend):
        async def complete(self, request: Request) -> Completion:
            async with lock:
                await asyncio.sleep(0.15)
            return await super().complete(request)

    limited = LimitingBackend(Serial(lambda req, n: GOOD), AdaptiveLimit(3), timeout=0.2)
    answers = await asyncio.gather(*(limited.complete(REQUEST) for _ in range(3)))
    assert [a.text for a in answers] == [GOOD] * 3


async def test_timeout_is_retryable_and_halves_the_limit():
    class Hang(ScriptedBackend):
        async def complete(self, request: Request) -> Completion:
            await asyncio.sleep(5)
            raise AssertionError("unreachable")

    limited = LimitingBackend(Hang(lambda req, n: GOOD), AdaptiveLimit(4), timeout=0.05)
    with pytest.raises(BackendError, match="no answer within") as raised:
        await limited.complete(REQUEST)
    assert raised.value.retryable and limited.limit.allowed == 2


async def test_limit_survives_several_event_loops():
    limited = layered(ScriptedBackend(lambda req, n: GOOD), None, CallPolicy(concurrency=1))

    async def many() -> int:
        return len(await asyncio.gather(*(limited.complete(REQUEST) for _ in range(4))))

    assert await many() == 4
    # a second loop (as a second asyncio.run would make) must not meet the first's primitives
    loop = asyncio.new_event_loop()
    try:
        assert await asyncio.to_thread(loop.run_until_complete, many()) == 4
    finally:
        loop.close()


# ------------------------------------------------------------------ rate limits


async def test_token_bucket_waits_for_refill():
    now = [0.0]
    sleep_calls: list[float] = []

    async def sleep(seconds: float) -> None:
        sleep_calls.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(60, clock=lambda: now[0], sleep=sleep)  # one per second
    for _ in range(60):
        assert await bucket.take(1) == 0.0  # the first minute's burst
    waited = await bucket.take(1)
    assert waited == pytest.approx(1.0) and sleep_calls == [pytest.approx(1.0)]


async def test_rpm_limit_in_the_stack_throttles():
    stats = CallStats()
    backend = layered(
        ScriptedBackend(lambda req, n: GOOD), None, CallPolicy(rpm=6000.0), stats=stats
    )
    await asyncio.gather(*(backend.complete(REQUEST) for _ in range(5)))
    assert stats.calls == 5


def test_bad_limits_are_refused():
    with pytest.raises(ValueError):
        TokenBucket(0)
    with pytest.raises(ValueError):
        AdaptiveLimit(0)
    with pytest.raises(ValueError):
        LimitingBackend(ScriptedBackend(lambda r, n: GOOD), AdaptiveLimit(1), timeout=0)


# ------------------------------------------------------------------ the stack


async def test_stack_order_cache_hits_cost_no_request(store):
    outcomes = iter([BackendError("HTTP 503", retryable=True, status=503), GOOD])
    inner = ScriptedBackend(lambda req, n: next(outcomes))
    stats = CallStats()
    sleep = Recorder()
    stack = layered(inner, store, CallPolicy(retry=RetryPolicy(max_attempts=3)), stats=stats,
                    sleep=sleep)  # fmt: skip
    first = await stack.complete(REQUEST)
    again = await stack.complete(REQUEST)
    assert first.attempts == 2 and again.cached and again.attempts == 0
    assert (stats.calls, stats.retries, stats.cache_hits) == (2, 1, 1)


async def test_a_client_side_timeout_also_halves_the_limit():
    inner = ScriptedBackend(lambda req, n: BackendError("request timed out", retryable=True,
                                                        status=408))  # fmt: skip
    limited = LimitingBackend(inner, AdaptiveLimit(4), timeout=None)
    with pytest.raises(BackendError):
        await limited.complete(REQUEST)
    assert limited.limit.allowed == 2
