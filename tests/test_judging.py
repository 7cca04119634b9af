"""The library entry: judge / ajudge / JudgeSession over the one layered stack."""

from __future__ import annotations

import json

import pytest

import jurist
from fakes import ScriptedBackend
from jurist.core.judgment import PairwiseJudgment, PointwiseJudgment
from jurist.core.rubric import rubric_from_dict

RUBRIC = rubric_from_dict(
    {"name": "r", "criteria": [{"id": "q", "question": "Good?", "scale": {1: "bad", 2: "good"}}]}
)


def scored(req, n):
    return json.dumps({"rationale": "r", "score": 2 if "kind" in req.messages[0]["content"] else 1})


def test_judge_returns_typed_judgments_in_item_order(tmp_path):
    items = [{"input": "q", "response": "kind words"}, {"input": "q", "response": "rude"}] * 3
    judgments = jurist.judge(RUBRIC, items, judge=ScriptedBackend(scored),
                             store=tmp_path / "s.sqlite")  # fmt: skip
    assert all(isinstance(j, PointwiseJudgment) for j in judgments)
    assert [j.criteria["q"].score for j in judgments] == [2, 1] * 3
    assert [j.index for j in judgments] == list(range(6))


async def test_ajudge_pairwise_mode(tmp_path):
    backend = ScriptedBackend(lambda req, n: json.dumps({"rationale": "r", "verdict": "A"}))
    [judgment] = await jurist.ajudge(
        RUBRIC, [jurist.Item(id="p", input="q", response="a", response_b="b")],
        judge=backend, mode="pairwise", store=tmp_path / "s.sqlite",
    )  # fmt: skip
    assert isinstance(judgment, PairwiseJudgment)
    # A in both presentations means different responses won: not consistent, merged to a tie
    assert judgment.pair.consistent is False and judgment.pair.verdict == "tie"


def test_session_is_reused_across_event_loops_and_served_from_cache(tmp_path):
    backend = ScriptedBackend(scored)
    with jurist.Store(tmp_path / "s.sqlite") as store:
        session = jurist.JudgeSession(RUBRIC, store=store, backend=backend)
        first = session([{"input": "q", "response": "kind"}])
        second = session([{"input": "q", "response": "kind"}])  # a second asyncio.run
        assert first[0].criteria["q"].score == second[0].criteria["q"].score == 2
        assert len(backend.requests) == 1 and session.stats.cache_hits == 1
        assert second[0].calls == 0 and second[0].cache_hits == 1


def test_unknown_mode_is_a_config_error(tmp_path):
    with pytest.raises(jurist.ConfigError, match="unknown mode"):
        jurist.judge(RUBRIC, [], judge=ScriptedBackend(scored), mode="telepathic",
                     store=tmp_path / "s.sqlite")  # fmt: skip


def test_registered_judge_mode_plugs_in(tmp_path):
    from jurist.judges import PointwiseJudge

    class Shouting(PointwiseJudge):
        mode = "shouting"

    jurist.register_judge("shouting", Shouting)
    [judgment] = jurist.judge(RUBRIC, [{"input": "q", "response": "kind"}], mode="shouting",
                              judge=ScriptedBackend(scored), store=tmp_path / "s.sqlite")  # fmt: skip
    assert judgment.criteria["q"].score == 2


def test_registered_backend_kind_plugs_in_and_unknown_kinds_are_refused(tmp_path):
    from jurist.backends import make_backend, parse_judge_spec

    jurist.register_backend("scripted", lambda spec, settings: ScriptedBackend(scored, spec.target))
    backend = make_backend("scripted:my-model")
    assert backend.model == "my-model"
    [judgment] = jurist.judge(RUBRIC, [{"input": "q", "response": "kind"}], judge="scripted:m2",
                              store=tmp_path / "s.sqlite")  # fmt: skip
    assert judgment.judge == "fake:m2" and judgment.criteria["q"].score == 2
    with pytest.raises(jurist.ConfigError, match="unknown judge 'nope:x'"):
        parse_judge_spec("nope:x")
    with pytest.raises(jurist.ConfigError, match="nope:http://host") as raised:
        parse_judge_spec("nope:http://user:s3cret@host")
    assert "s3cret" not in str(raised.value)  # credentials never reach an error


@pytest.mark.integration
def test_session_over_a_keep_alive_server_survives_successive_event_loops(llama_server, tmp_path):
    """llama_cpp.server keeps connections alive: each `asyncio.run` needs its own client,
    and closing after the loops that used them have ended must not fail."""
    setup = jurist.JudgeSetup(
        judge=f"openai:{llama_server}#gemma", options=jurist.JudgeOptions(rationale="none")
    )
    session = jurist.JudgeSession(RUBRIC, setup, store=tmp_path / "s.sqlite")
    first = session([{"input": "q", "response": "kind"}])
    second = session([{"input": "q", "response": "rude"}])
    session.close()
    assert first[0].status == second[0].status == "ok"
    # the first request's json_schema probe, which llama_cpp.server rejects, counts too
    assert session.stats.calls == 3
