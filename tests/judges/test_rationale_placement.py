"""`--rationale before | after | none`: the schema, the prompt and the parser agree."""

from __future__ import annotations

import json

import pytest

from fakes import ScriptedBackend
from jurist.core.answers import VERDICT, YES_NO, LikertAnswer
from jurist.core.data import Item
from jurist.core.rubric import rubric_from_dict
from jurist.engine.local import LocalEngine, ResultSink
from jurist.judges import JudgeOptions, make_judge
from jurist.session import JudgeSession, JudgeSetup

RUBRIC = rubric_from_dict(
    {
        "name": "r",
        "criteria": [{"id": "q", "question": "Good?", "scale": {1: "bad", 2: "ok", 3: "good"}}],
        "checklist": [{"id": "c", "text": "Is it polite?", "weight": 1}],
    }
)
ITEM = Item(id="i", input="question", response="answer", response_b="other")


@pytest.mark.parametrize(
    ("placement", "keys"),
    [("before", ["rationale", "score"]), ("after", ["score", "rationale"]), ("none", ["score"])],
)
def test_schema_orders_keys_as_written(placement, keys):
    schema = LikertAnswer((1, 2, 3)).schema(200, placement)
    assert list(schema["properties"]) == keys and schema["required"] == keys
    yes_no = list(YES_NO.schema(200, placement)["properties"])
    verdict = list(VERDICT.schema(200, placement)["properties"])
    assert yes_no == [k.replace("rationale", "justification").replace("score", "answer")
                      for k in keys]  # fmt: skip
    assert verdict == [k.replace("score", "verdict") for k in keys]


def test_unknown_placement_is_refused():
    with pytest.raises(ValueError, match="before, after or none"):
        LikertAnswer((1, 2)).schema(10, "middle")


@pytest.mark.parametrize(
    ("mode", "joint"),
    [("pointwise", False), ("pointwise", True), ("checklist", False), ("checklist", True),
     ("pairwise", False)],
)  # fmt: skip
def test_prompt_names_the_keys_the_schema_enforces(mode, joint):
    for placement in ("before", "after", "none"):
        judge = make_judge(mode, RUBRIC, JudgeOptions(joint=joint, rationale=placement))
        call = judge.calls(ITEM)[0]
        prompt = call.request.messages[0]["content"]
        schema = call.request.json_schema
        part = next(iter(schema["properties"].values())) if joint else schema
        keys = list(part["properties"])
        positions = [prompt.rfind(f'"{key}"') for key in keys]
        assert all(p > 0 for p in positions) and positions == sorted(positions), (placement, keys)
        rationale_key = {"checklist": "justification"}.get(mode, "rationale")
        if placement == "none":
            assert (
                rationale_key not in keys and f'"{rationale_key}"' not in prompt.split("Answer")[-1]
            )


@pytest.mark.parametrize(
    ("placement", "answer", "rationale"),
    [
        ("after", {"score": 3, "rationale": "clear"}, "clear"),
        ("none", {"score": 2}, None),
    ],
)
async def test_score_first_answers_parse_and_keep_their_distribution(store, placement, answer,
                                                                    rationale):  # fmt: skip
    backend = ScriptedBackend(lambda req, n: json.dumps(answer))
    setup = JudgeSetup(options=JudgeOptions(rationale=placement))
    session = JudgeSession(RUBRIC, setup, store=store, backend=backend)
    found = []
    await LocalEngine(session, ResultSink(on_result=found.append)).run([ITEM])
    score = found[0].criteria["q"]
    assert score.status == "ok" and score.score == answer["score"] and score.rationale == rationale
    assert score.expected is not None  # the slot is read at the value, wherever it stands
