import json

import pytest

from fakes import ScriptedBackend
from jurist.backends import CallPolicy, RetryPolicy
from jurist.backends.base import BackendError
from jurist.core.data import Item
from jurist.core.rubric import rubric_from_dict
from jurist.engine.local import LocalEngine, ResultSink, RunCounters
from jurist.judges.answering import SamplingOptions
from jurist.judges.base import JudgeOptions
from jurist.judges.checklist import ChecklistJudge
from jurist.judges.pairwise import PairwiseJudge
from jurist.judges.pointwise import PointwiseJudge
from jurist.session import JudgeSession, JudgeSetup

RUBRIC = rubric_from_dict(
    {
        "name": "r",
        "criteria": [
            {"id": "a", "question": "A?", "scale": {1: "x", 2: "y", 3: "z"}},
            {"id": "b", "question": "B?", "scale": {1: "x", 2: "y", 3: "z"}, "weight": 3},
        ],
        "checklist": [
            {"id": "good", "text": "Is it correct?", "weight": 2, "kind": "required"},
            {"id": "harm", "text": "Does it recommend something unsafe?", "weight": -1},
        ],
    }
)
ITEM = Item(id="i", input="question", response="answer", response_b="other answer")


async def run_one(store, backend, judge, **setup):
    counters = RunCounters()
    chosen = JudgeSetup(mode=judge.mode, options=judge.options, **setup)
    session = JudgeSession(
        judge.rubric, chosen, store=store, backend=backend, stats=counters, sleep=_no_sleep
    )
    results = []
    engine = LocalEngine(
        session, ResultSink(store, "run", counters=counters, on_result=results.append)
    )
    await engine.run([ITEM])
    return results[0], engine


async def _no_sleep(_seconds):
    return None


async def test_parse_retry_then_success_and_overall(store):
    answers = iter(
        [
            "no json here",
            json.dumps({"rationale": "r", "score": 3}),
            json.dumps({"rationale": "r", "score": 1}),
        ]
    )
    backend = ScriptedBackend(lambda req, n: next(answers))
    judgment, _ = await run_one(store, backend, PointwiseJudge(RUBRIC))
    assert judgment.status == "ok"
    assert judgment.criteria["a"].score == 3 and judgment.criteria["b"].score == 1
    # The retry is a different request (not the same greedy call again).
    assert backend.requests[1].temperature > 0 and backend.requests[1].attempt == 1
    assert judgment.overall == (1 * 1.0 + 3 * 0.0) / 4
    assert judgment.criteria["a"].expected is not None


async def test_parse_error_keeps_raw_text_and_never_a_score(store):
    backend = ScriptedBackend(lambda req, n: "Score: seven")
    judgment, _ = await run_one(
        store, backend, PointwiseJudge(RUBRIC), sampling=SamplingOptions(parse_retries=2)
    )
    assert judgment.status == "parse_error"
    assert judgment.criteria["a"].score is None and judgment.criteria["a"].raw == "Score: seven"
    assert judgment.overall is None
    assert len(backend.requests) == 6  # 3 attempts x 2 criteria


async def test_non_retryable_error_fails_at_once(store):
    backend = ScriptedBackend(
        lambda req, n: BackendError("HTTP 400: bad", retryable=False, status=400)
    )
    judgment, runner = await run_one(store, backend, PointwiseJudge(RUBRIC))
    assert judgment.status == "failed" and judgment.criteria["a"].error == "HTTP 400: bad"
    assert runner.counters.retries == 0


async def test_retryable_errors_are_retried_with_backoff(store):
    def flaky(req, n):
        return (
            BackendError("HTTP 503", retryable=True)
            if n % 2
            else json.dumps({"rationale": "r", "score": 2})
        )

    judgment, runner = await run_one(
        store,
        ScriptedBackend(flaky),
        PointwiseJudge(RUBRIC),
        calls=CallPolicy(retry=RetryPolicy(max_attempts=2)),
    )
    assert judgment.status == "ok" and runner.counters.retries == 2


async def test_samples_are_merged_by_vote(store):
    scores = iter([3, 3, 1, 2, 2, 2])
    backend = ScriptedBackend(lambda req, n: json.dumps({"rationale": "r", "score": next(scores)}))
    judgment, _ = await run_one(
        store, backend, PointwiseJudge(RUBRIC), sampling=SamplingOptions(samples=3)
    )
    a = judgment.criteria["a"]
    assert a.samples == [3, 3, 1] and a.majority == 3 and a.score == 3 and a.median == 3
    assert abs(a.mean - 7 / 3) < 1e-12 and a.agreement == 2 / 3
    seeds_a = {r.seed for r in backend.requests if r.tag == "pointwise:a"}
    assert len(seeds_a) == 3 and all(r.temperature > 0 for r in backend.requests)


async def test_joint_call_scores_all_criteria(store):
    answer = json.dumps({"a": {"rationale": "r", "score": 2}, "b": {"rationale": "r", "score": 9}})
    backend = ScriptedBackend(lambda req, n: answer)
    judge = PointwiseJudge(RUBRIC, JudgeOptions(joint=True))
    judgment, _ = await run_one(store, backend, judge, sampling=SamplingOptions(parse_retries=0))
    assert len(backend.requests) == 1
    assert judgment.criteria["a"].score == 2
    assert judgment.criteria["b"].status == "parse_error" and judgment.status == "parse_error"


async def test_checklist_weights_and_required(store):
    def answer(req, n):
        yes = "unsafe" in req.messages[0]["content"].split("Requirement", 1)[1]
        return json.dumps({"justification": "j", "answer": "yes" if yes else "no"})

    judgment, _ = await run_one(store, ScriptedBackend(answer), ChecklistJudge(RUBRIC))
    assert judgment.checklist["good"].answer == "no" and judgment.checklist["harm"].answer == "yes"
    assert judgment.checklist_score == 0.0  # max(0, 2*0 - 1*1) / 2
    assert judgment.required_failed == ["good"]
    assert judgment.checklist["harm"].contribution == -1


async def test_pairwise_both_orders_inconsistent_becomes_tie(store):
    # The judge always prefers whichever response is shown first.
    backend = ScriptedBackend(lambda req, n: json.dumps({"rationale": "r", "verdict": "A"}))
    judgment, _ = await run_one(store, backend, PairwiseJudge(RUBRIC))
    pair = judgment.pair
    assert (pair.verdict_ab, pair.verdict_ba, pair.verdict, pair.consistent) == (
        "A",
        "B",
        "tie",
        False,
    )
    # The fake puts 0.7 on the verdict it writes: the original order's slot is kept whole,
    # and each order's preference for the first response is averaged in original labels.
    assert pair.distribution_ab == pytest.approx({"A": 0.7, "B": 0.15, "tie": 0.15})
    assert pair.p_a == pytest.approx(((0.7 + 0.075) + (1 - (0.7 + 0.075))) / 2)
    first, second = (r.messages[0]["content"] for r in backend.requests)
    assert first.index("answer") < first.index("other answer")
    assert "<response_a>\nother answer\n</response_a>" in second
    assert "<response_b>\nanswer\n</response_b>" in second


async def test_pairwise_one_order_unparseable_is_not_silently_dropped(store):
    answers = {"ab": json.dumps({"rationale": "r", "verdict": "B"}), "ba": "???"}
    backend = ScriptedBackend(lambda req, n: answers[req.tag.split(":")[1]])
    judgment, _ = await run_one(
        store, backend, PairwiseJudge(RUBRIC), sampling=SamplingOptions(parse_retries=0)
    )
    assert judgment.status == "parse_error" and judgment.pair.verdict is None
    assert judgment.pair.verdict_ab == "B" and judgment.pair.raw_ba == "???"
