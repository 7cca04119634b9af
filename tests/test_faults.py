"""A run against a misbehaving real HTTP server completes with every item accounted for."""

import json
import re

import pytest

from jurist.backends import CallPolicy, RetryPolicy
from jurist.backends.openai import OpenAIBackend
from jurist.core.data import Item
from jurist.core.rubric import rubric_from_dict
from jurist.engine.local import LocalEngine, ResultSink, RunCounters
from jurist.judges.answering import SamplingOptions
from jurist.judges.base import JudgeOptions
from jurist.session import JudgeSession, JudgeSetup
from scripted_server import ScriptedServer


def engine(backend, store, run_id, *, on_result=None, sleep=None, **setup) -> LocalEngine:
    """A judge session over `backend` on the local engine, saving under `run_id`."""
    counters = RunCounters()
    extra = {} if sleep is None else {"sleep": sleep}
    session = JudgeSession(
        RUBRIC, JudgeSetup(**setup), store=store, backend=backend, stats=counters, **extra
    )
    return LocalEngine(session, ResultSink(store, run_id, counters=counters, on_result=on_result))


RUBRIC = rubric_from_dict(
    {
        "name": "r",
        "criteria": [{"id": "q", "question": "Good?", "scale": {1: "bad", 2: "ok", 3: "good"}}],
    }
)
GOOD = json.dumps({"rationale": "fine", "score": 3})


def item_number(prompt: str) -> int:
    return int(re.search(r"question number (\d+)", prompt).group(1))


# What each item's first request meets; later requests are answered normally, except for
# the items that always fail or always answer garbage.
FIRST = {
    0: ("429", "0.2"),
    1: ("500", None),
    2: ("hang", 3.0),
    3: ("drop", None),
    4: ("malformed", None),
}


def behave(prompt: str, n: int):
    k = item_number(prompt)
    if k == 5:
        return ("500", None)  # never recovers: must end as failed
    if k == 6:
        return ("ok", "I would rather not say.")  # never parseable: must end as parse_error
    if n == 1 and k in FIRST:
        return FIRST[k]
    return ("ok", GOOD)


async def test_faults_end_ok_or_explicitly_failed(store):
    items = [Item(id=f"i{k}", input=f"question number {k}", response="answer") for k in range(10)]
    sleeps: list[float] = []

    async def record_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    with ScriptedServer(behave) as server:
        backend = OpenAIBackend("m", base_url=server.url, timeout=1.0)
        calls = CallPolicy(
            concurrency=3, timeout=1.0, retry=RetryPolicy(max_attempts=3, base_delay=0.01)
        )
        results = []
        runner = engine(
            backend, store, "faults", on_result=results.append, sleep=record_sleep, calls=calls,
            sampling=SamplingOptions(parse_retries=1), options=JudgeOptions(want_logprobs=False),
        )  # fmt: skip
        await runner.run(items)
        await backend.aclose()
        counts = dict(server.counts)

    by_id = {j.item_id: j for j in results}
    assert sorted(by_id) == sorted(i.id for i in items) and len(results) == len(
        items
    )  # none lost or doubled
    assert store.result_count("faults") == len(items)
    for k in (0, 1, 2, 3, 4, 7, 8, 9):
        assert by_id[f"i{k}"].status == "ok", by_id[f"i{k}"]
        assert by_id[f"i{k}"].criteria["q"].score == 3
    failed = by_id["i5"].criteria["q"]
    assert (
        by_id["i5"].status == "failed"
        and "HTTP 500" in failed.error
        and "3 attempts" in failed.error
    )
    bad = by_id["i6"].criteria["q"]
    assert (
        by_id["i6"].status == "parse_error"
        and bad.raw == "I would rather not say."
        and bad.score is None
    )
    assert 0.2 in sleeps  # the server's Retry-After was honoured
    prompt_counts = {item_number(p): c for p, c in counts.items()}
    assert prompt_counts[5] == 3  # max_attempts, then given up
    assert all(prompt_counts[k] == 2 for k in FIRST)  # one fault, one success


async def test_rerun_is_served_from_cache(store):
    items = [Item(id=f"i{k}", input=f"question number {k}", response="a") for k in (7, 8)]
    with ScriptedServer(lambda p, n: ("ok", GOOD)) as server:
        backend = OpenAIBackend("m", base_url=server.url, timeout=5.0)
        options = JudgeOptions(want_logprobs=False)
        await engine(backend, store, "first", options=options).run(items)
        first_total = server.total
        runner = engine(backend, store, "second", options=options)
        await runner.run(items)
        await backend.aclose()
        assert first_total == 2 and server.total == 2
        assert runner.counters.cache_hits == 2 and runner.counters.calls == 0


async def test_api_key_never_reaches_errors_or_store(store, monkeypatch):
    secret = "sk-test-" + "s3cr3t" * 6
    monkeypatch.setenv("JURIST_TEST_KEY", secret)
    items = [Item(id="i5", input="question number 5", response="a")]
    with ScriptedServer(behave) as server:
        backend = OpenAIBackend(
            "m", base_url=server.url, api_key_env="JURIST_TEST_KEY", timeout=2.0
        )
        calls = CallPolicy(retry=RetryPolicy(max_attempts=1))
        results = []
        runner = engine(backend, store, "secret", on_result=results.append, calls=calls)
        await runner.run(items)
        await backend.aclose()
    assert results[0].status == "failed"
    assert secret not in results[0].model_dump_json() and secret not in repr(backend)
    assert secret.encode() not in store.path.read_bytes()
    assert secret not in backend._scrub(f"bad key {secret}")


@pytest.mark.parametrize(
    ("failures", "retry_after", "low", "high"),
    [
        (1, None, 0.25, 0.5),
        (3, None, 1.0, 2.0),
        (10, None, 15.0, 30.0),
        (2, 7.0, 7.0, 7.0),
        (1, 500.0, 120.0, 120.0),
    ],
)
def test_retry_policy_backoff_jitter_and_retry_after(failures, retry_after, low, high):
    import random

    policy = RetryPolicy(base_delay=0.5, max_delay=30.0, max_retry_after=120.0)
    rng = random.Random(0)
    delays = [policy.delay(failures, retry_after, rng) for _ in range(200)]
    assert min(delays) >= low and max(delays) <= high
    if retry_after is None:
        assert len(set(delays)) > 100  # jittered, not a fixed delay
