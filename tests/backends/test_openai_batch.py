"""The Batch API backend against a real local files/batches server: one batch per flush,
cached like the online backend, expired and partly failed batches, resume by collecting."""

from __future__ import annotations

import asyncio
import json
import math
import re
from dataclasses import replace
from pathlib import Path

import pytest

import jurist
from batch_server import BatchServer
from jurist.backends import CallPolicy, LimitingBackend, RetryPolicy, layered, make_backend
from jurist.backends.openai import OpenAIBackend
from jurist.backends.openai_batch import OpenAIBatchBackend
from jurist.core.completion import Request, ScoreSlot
from jurist.core.rubric import rubric_from_dict, save_rubric
from jurist.grading import GradeConfig, run_grade
from jurist.judges.answering import SamplingOptions
from jurist.session import JudgeSetup
from jurist.store import Store
from scripted_server import ScriptedServer

RUBRIC = rubric_from_dict(
    {
        "name": "r",
        "criteria": [{"id": "q", "question": "Good?", "scale": {1: "bad", 2: "ok", 3: "good"}}],
    }
)
GOOD = json.dumps({"rationale": "fine", "score": 3})
ITEMS = [{"id": f"i{k}", "input": f"question number {k}", "response": "answer"} for k in range(5)]
RUN = JudgeSetup(
    calls=CallPolicy(concurrency=8, retry=RetryPolicy(max_attempts=3, base_delay=0)),
    sampling=SamplingOptions(parse_retries=0),
)
KEY = "sk-batch-test-0123456789abcdef"


def item_number(prompt: str) -> int:
    return int(re.search(r"question number (\d+)", prompt).group(1))


def answer_all(prompt: str) -> tuple[str, str]:
    return ("ok", GOOD)


def batch_backend(server: BatchServer) -> OpenAIBatchBackend:
    return OpenAIBatchBackend("m", base_url=server.url, flush_after=0.2, poll_interval=0.02)


def judge_batch(server: BatchServer, store_path, items=ITEMS) -> list:
    return jurist.judge(RUBRIC, items, RUN, store=store_path, backend=batch_backend(server))


def scores(judgments: list) -> dict[str, tuple[str, int | None]]:
    return {j.item_id: (j.status, j.criteria["q"].score) for j in judgments}


def test_items_go_out_in_one_batch_and_read_like_online_answers(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    with BatchServer(answer_all, polls=3) as server:
        judgments = judge_batch(server, tmp_path / "store.sqlite")
    assert len(server.created) == 1 and len(server.created[0]) == len(ITEMS)
    assert scores(judgments) == {item["id"]: ("ok", 3) for item in ITEMS}
    assert all(j.judge.startswith("openai-batch:http://127.0.0.1:") for j in judgments)
    assert all((j.prompt_tokens, j.completion_tokens, j.calls) == (7, 5, 1) for j in judgments)
    # Each uploaded line is the body the online backend sends for the same request.
    line = json.loads(server.files["file-1"].splitlines()[0])
    assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"
    assert line["body"]["response_format"]["type"] == "json_schema"

    with ScriptedServer(lambda prompt, n: ("ok", GOOD)) as online_server:
        online = jurist.judge(
            RUBRIC,
            ITEMS,
            RUN,
            backend=OpenAIBackend("m", base_url=online_server.url),
            store=tmp_path / "online.sqlite",
        )
    assert online_server.bodies[0] == json.loads(server.files["file-1"].splitlines()[0])["body"]
    shape = {"judge", "latency_s", "prompt_tokens", "completion_tokens"}
    for batched, direct in zip(judgments, online, strict=True):
        assert batched.model_dump(exclude=shape) == direct.model_dump(exclude=shape)


def test_a_grading_run_by_spec_waits_longer_than_its_timeout(tmp_path, store):
    """`--judge openai-batch:URL#MODEL` through run_grade: the batch is sent after the
    2-second gathering delay, four times `--timeout`, and every item still ends ok; with
    `--concurrency 1` the batch still holds every item."""
    save_rubric(RUBRIC, tmp_path / "rubric.yaml")
    data = tmp_path / "answers.jsonl"
    data.write_text("".join(json.dumps(item) + "\n" for item in ITEMS))
    with BatchServer(answer_all) as server:
        config = GradeConfig(
            rubric_path=str(tmp_path / "rubric.yaml"),
            data_path=str(data),
            judge=f"openai-batch:{server.url}#m",
            concurrency=1,
            timeout=0.5,
            output_dir=str(tmp_path / "out"),
        )
        result = run_grade(config, store)
    assert len(server.created) == 1 and len(server.created[0]) == len(ITEMS)
    lines = [json.loads(line) for line in Path(result.results_path).read_text().splitlines()]
    assert [r["status"] for r in lines] == ["ok"] * len(ITEMS)
    assert {r["judge"] for r in lines} == {f"openai-batch:{server.url}#m"}


def test_the_api_key_is_sent_but_never_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    echo = json.dumps({"rationale": f"the key is {KEY}", "score": 2})
    with BatchServer(lambda prompt: ("ok", echo)) as server:
        judgments = judge_batch(server, tmp_path / "store.sqlite", ITEMS[:2])
    assert f"Bearer {KEY}" in server.authorizations
    assert all(KEY not in j.model_dump_json() for j in judgments)
    for path in tmp_path.glob("store.sqlite*"):
        assert KEY.encode() not in path.read_bytes()


def test_a_rerun_is_served_from_the_cache_without_a_batch(tmp_path):
    with BatchServer(answer_all) as server:
        first = judge_batch(server, tmp_path / "store.sqlite")
        second = judge_batch(server, tmp_path / "store.sqlite")
    assert len(server.created) == 1
    assert scores(second) == scores(first)
    assert all(j.cache_hits == 1 and j.calls == 0 for j in second)


def test_an_expired_batch_is_sent_again_in_a_new_batch(tmp_path):
    def ending(number: int) -> str:
        return "expired" if number == 1 else "completed"

    with BatchServer(answer_all, ending=ending) as server:
        judgments = judge_batch(server, tmp_path / "store.sqlite")
    # The expired batch answered its first request; only the others went out again.
    assert [len(ids) for ids in server.created] == [len(ITEMS), len(ITEMS) - 1]
    assert server.created[0][0] not in server.created[1]
    assert scores(judgments) == {item["id"]: ("ok", 3) for item in ITEMS}
    assert sorted(j.calls for j in judgments) == [1] + [2] * (len(ITEMS) - 1)


def test_failed_lines_end_failed_with_their_error_and_the_rest_ok(tmp_path):
    def behave(prompt: str) -> tuple[str, str]:
        if item_number(prompt) in (1, 3):
            return ("fail", "prompt rejected by the safety system")
        return ("ok", GOOD)

    with BatchServer(behave) as server:
        judgments = judge_batch(server, tmp_path / "store.sqlite")
        assert len(server.created) == 1  # a failed line is final: not retried
        # As online, a failure is not cached: a rerun sends the failed requests again.
        again = judge_batch(server, tmp_path / "store.sqlite")
    by_id = {j.item_id: j for j in judgments}
    for k in (1, 3):
        assert by_id[f"i{k}"].status == "failed"
        error = by_id[f"i{k}"].criteria["q"].error
        assert "HTTP 400: prompt rejected by the safety system" in error
    assert [by_id[f"i{k}"].status for k in (0, 2, 4)] == ["ok"] * 3
    assert [len(ids) for ids in server.created] == [len(ITEMS), 2]
    assert scores(again) == scores(judgments)


def test_a_refused_batch_fails_its_items_with_the_reason(tmp_path):
    with BatchServer(answer_all, ending=lambda n: "failed") as server:
        judgments = judge_batch(server, tmp_path / "store.sqlite")
    assert len(server.created) == 1
    for judgment in judgments:
        assert judgment.status == "failed"
        assert "batch-1 failed: model m is not available in batch" in judgment.criteria["q"].error


@pytest.mark.parametrize("concurrency", [8, 1])
async def test_a_killed_run_resumes_by_collecting_its_batch(tmp_path, concurrency):
    """With one worker the resumed run asks for one answer at a time: the batch's other
    answers must still be found in it, not sent again."""
    path = tmp_path / "store.sqlite"
    with BatchServer(answer_all) as server:
        server.hold.clear()  # the batch stays in progress until the first run is gone
        first = jurist.JudgeSession(RUBRIC, RUN, store=path, backend=batch_backend(server))
        running = asyncio.create_task(first.ajudge(ITEMS))
        for _ in range(500):
            if server.created and server.batches["batch-1"]["polled"]:
                break
            await asyncio.sleep(0.01)
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        await first.aclose()

        server.hold.set()
        run = replace(RUN, calls=replace(RUN.calls, concurrency=concurrency))
        second = jurist.JudgeSession(RUBRIC, run, store=path, backend=batch_backend(server))
        judgments = await second.ajudge(ITEMS)
        await second.aclose()
    assert len(server.created) == 1
    assert scores(judgments) == {item["id"]: ("ok", 3) for item in ITEMS}


def test_spec_identity_and_no_per_request_timeout(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    local = make_backend("openai-batch:http://user:pw@127.0.0.1:9/v1/#m")
    hosted = make_backend("openai-batch:gpt-4o-mini")
    assert local.identity == "openai-batch:http://127.0.0.1:9/v1#m"
    # Batch answers are their own cache entries, apart from the online backend's.
    assert hosted.identity == "openai-batch:https://api.openai.com/v1#gpt-4o-mini"
    assert make_backend("openai:gpt-4o-mini").identity != hosted.identity
    with pytest.raises(jurist.ConfigError, match="needs a model"):
        make_backend("openai-batch:")
    with Store(tmp_path / "s.sqlite") as store:
        stack = layered(local, store)
    limiting = stack.inner.inner  # cache -> retries -> limits
    assert isinstance(limiting, LimitingBackend) and limiting.timeout is None


async def test_logprobs_are_read_at_the_score_slot_like_online():
    tokens = [
        {"token": '{"score":', "logprob": 0.0, "top_logprobs": []},
        {
            "token": " 3",
            "logprob": -0.1,
            "top_logprobs": [
                {"token": " 3", "logprob": -0.1},
                {"token": "3", "logprob": -0.2},
                {"token": " 2", "logprob": -2.5},
                {"token": " x", "logprob": -9.0},
            ],
        },
        {"token": "}", "logprob": 0.0, "top_logprobs": []},
    ]
    slot = ScoreSlot(marker='"score":', choices=("1", "2", "3"))
    request = Request(messages=({"role": "user", "content": "rate"},), score_slots=(slot,))
    with BatchServer(lambda prompt: ("ok", '{"score": 3}'), logprobs=tokens) as server:
        backend = OpenAIBatchBackend(
            "m", base_url=server.url, logprobs=True, flush_after=0.05, poll_interval=0.02
        )
        answer = await backend.complete(request)
        await backend.aclose()
    body = json.loads(server.files["file-1"])["body"]
    assert (body["logprobs"], body["top_logprobs"]) == (True, 10)
    assert answer.text == '{"score": 3}' and answer.finish_reason == "stop"
    expected = {"3": math.log(math.exp(-0.1) + math.exp(-0.2)), "2": -2.5}
    assert answer.slot_logprobs == [pytest.approx(expected)]
