"""The jury as a library: every juror's own layered stack (cached apart), pairwise votes."""

import json

import pytest

from fakes import ScriptedBackend
from jurist.core.data import Item
from jurist.core.errors import ConfigError
from jurist.core.rubric import rubric_from_dict
from jurist.judges import JudgeOptions
from jurist.jury import JuryPanel, JurySpec
from jurist.session import JudgeSetup

RUBRIC = rubric_from_dict(
    {"name": "r", "criteria": [{"id": "q", "question": "Good?", "scale": {1: "no", 2: "yes"}}]}
)
PAIRWISE = JudgeSetup(mode="pairwise")
ITEMS = [
    Item(id=f"p{k}", input=f"question {k}", response="one", response_b="two") for k in range(3)
]


def prefers(original: str):
    """A juror that always prefers the same original response, in either order."""

    def answer(request, number):
        shown_first = "A" if request.tag.endswith("ab") else "B"
        verdict = "A" if (original == shown_first) else "B"
        return json.dumps({"rationale": "r", "verdict": verdict})

    return answer


def always_a(request, number):
    return json.dumps({"rationale": "r", "verdict": "A"})  # the first shown: order-inconsistent


def test_pairwise_majority_jury_with_cached_jurors(store):
    spec = JurySpec.model_validate(
        {
            "aggregate": "majority",
            "disagreement": 0.5,
            "jurors": [
                {"name": "x", "seed": 11},
                {"name": "y", "temperature": 0.3},
                {"name": "z"},
            ],
        }
    )
    fakes = {"x": ScriptedBackend(prefers("A")), "y": ScriptedBackend(prefers("A"))}
    fakes["z"] = ScriptedBackend(prefers("B"), model="other")
    panel = JuryPanel(spec, RUBRIC, PAIRWISE, store=store, backends=fakes)
    judged = panel(ITEMS)
    assert [j.pair.verdict for j in judged] == ["A", "A", "A"]
    assert judged[0].pair.jurors == {"x": "A", "y": "A", "z": "B"}
    assert all(j.pair.review for j in judged)  # A against B is more than ½ apart
    assert {r.seed for r in fakes["x"].requests} == {11}
    assert {r.temperature for r in fakes["y"].requests} == {0.3}
    assert len(fakes["z"].requests) == 6  # two orders per item
    again = JuryPanel(spec, RUBRIC, PAIRWISE, store=store, backends=fakes)(ITEMS)
    assert [j.model_dump() for j in again] != [] and len(fakes["z"].requests) == 6
    assert all(j.cache_hits == 6 for j in again)


def test_order_inconsistent_juror_ties_and_the_mean_follows():
    spec = JurySpec.model_validate({"jurors": [{"name": "x"}, {"name": "w"}]})
    fakes = {"x": ScriptedBackend(prefers("B")), "w": ScriptedBackend(always_a)}
    as_mapping = {"input": "question", "response": "one", "response_b": "two"}
    judged = JuryPanel(spec, RUBRIC, PAIRWISE, backends=fakes)([as_mapping])
    # B (0) and a tie (½) average to ¼: B, and only ½ apart, so not flagged
    assert judged[0].pair.jurors == {"x": "B", "w": "tie"}
    assert judged[0].pair.verdict == "B" and judged[0].pair.review is False


def test_panel_refuses_what_it_cannot_do(tmp_path):
    two = {"jurors": [{"name": "x"}, {"name": "y"}]}
    with pytest.raises(ConfigError, match="checklist"):
        JuryPanel(JurySpec.model_validate(two), RUBRIC, JudgeSetup(mode="checklist"))
    cascade = JurySpec.model_validate({**two, "aggregate": "cascade"})
    with pytest.raises(ConfigError, match="escalate_below"):
        JuryPanel(cascade, RUBRIC, backends={"x": ScriptedBackend(always_a)})
    weighted = JurySpec.model_validate({**two, "aggregate": "weighted"})
    with pytest.raises(ConfigError, match="weights"):
        JuryPanel(weighted, RUBRIC, backends={"x": ScriptedBackend(always_a)})
    other = tmp_path / "other.yaml"
    other.write_text("name: o\ncriteria:\n  - {id: z, question: 'Z?', scale: {1: a, 2: b}}\n")
    phrased = JurySpec.model_validate(
        {"jurors": [{"name": "x", "rubric": str(other)}, {"name": "y"}]}
    )
    with pytest.raises(ConfigError, match="same criteria"):
        JuryPanel(phrased, RUBRIC, JudgeSetup(options=JudgeOptions()))
