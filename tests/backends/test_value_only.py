"""Which requests a backend may answer in one step, and the answer texts it then writes:
each must parse back to the chosen value through the answer type's own parser."""

import pytest

from jurist.core.answers import LikertAnswer, RankingAnswer, VerdictAnswer, YesNoAnswer
from jurist.core.completion import Request, value_only


def request_for(answer, rationale: str) -> Request:
    return Request(
        messages=({"role": "user", "content": "judge this"},),
        json_schema=answer.schema(200, rationale=rationale),
        score_slots=(answer.slot(),),
    )


@pytest.mark.parametrize(
    "answer", [LikertAnswer(points=(1, 2, 3, 4, 5)), YesNoAnswer(), VerdictAnswer()]
)
def test_a_value_only_answer_is_planned_and_each_text_parses_to_its_choice(answer):
    plan = value_only(request_for(answer, "none"))
    assert plan is not None
    assert set(plan.answers) == set(answer.choices)
    for choice, text in plan.answers.items():
        assert text.startswith(plan.opening)
        assert str(answer.parse(text).value) == choice


@pytest.mark.parametrize("rationale", ["before", "after"])
def test_answers_with_a_rationale_are_generated(rationale):
    assert value_only(request_for(LikertAnswer(points=(1, 2, 3)), rationale)) is None


def test_rankings_and_unconstrained_requests_are_generated():
    assert value_only(request_for(RankingAnswer(3), "none")) is None
    plain = Request(messages=({"role": "user", "content": "hi"},))
    assert value_only(plain) is None
    mismatched = request_for(LikertAnswer(points=(1, 2, 3)), "none").model_copy(
        update={"score_slots": (LikertAnswer(points=(1, 2)).slot(),)}
    )
    assert value_only(mismatched) is None
