"""Failures stay None, too many raise; instance rubrics, chat messages, length penalty, logs."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from jurist.backends.base import BackendError
from jurist.core.errors import InputError
from jurist.core.rubric import ChecklistItem, Rubric
from jurist.rewards import RAR_WEIGHTS, JudgeFailures, LengthPenalty, explicit_reward
from rewards.reward_fakes import Yes

RUBRIC = Rubric(
    name="r",
    checklist=[
        ChecklistItem(id="a", text="Is it right?", weight=3),
        ChecklistItem(id="b", text="Is it rude?", weight=-1),
    ],
)


def script_for(responses: dict[str, tuple]) -> dict:
    return {
        (text, part): answer
        for text, answers in responses.items()
        for part, answer in zip(("a", "b"), answers, strict=True)
    }


def test_a_failed_judgment_is_none_and_counted(make_judge):
    judge, _ = make_judge(
        script_for(
            {
                "ok": (Yes("yes"), Yes("no")),
                "down": (BackendError("server down", retryable=False), Yes("no")),
                "garbled": (Yes("yes"), "I think maybe"),
                "fine": (Yes("no"), Yes("no")),
            }
        )
    )
    logged: list[tuple[str, float]] = []
    reward = explicit_reward(RUBRIC, judge=judge, max_failure_rate=0.5)
    rewards = reward(
        prompts=["Q"] * 4,
        completions=["ok", "down", "garbled", "fine"],
        log_metric=lambda name, value: logged.append((name, value)),
        trainer_state=SimpleNamespace(global_step=7),
    )
    assert rewards == [1.0, None, None, 0.0]
    step = reward.last
    assert (step.step, step.samples, step.failed, step.parse_errors) == (7, 4, 1, 1)
    metrics = dict(logged)
    assert metrics["explicit_reward/judge_failed"] == 1
    assert metrics["explicit_reward/judge_parse_errors"] == 1
    assert metrics["explicit_reward/judge_failure_rate"] == 0.5
    # Pass rates over the parts that were answered: a passed 2 of 3, b (a pitfall) 3 of 3.
    assert metrics["explicit_reward/pass_rate/a"] == pytest.approx(2 / 3)
    assert metrics["explicit_reward/pass_rate/b"] == pytest.approx(1.0)
    assert metrics["explicit_reward/pass_rate/all"] == pytest.approx(5 / 6)


def test_too_many_failures_raise(make_judge):
    judge, _ = make_judge(
        script_for(
            {
                "x": (BackendError("quota gone", retryable=False), Yes("no")),
                "y": (Yes("yes"), Yes("no")),
            }
        )
    )
    reward = explicit_reward(RUBRIC, judge=judge, max_failure_rate=0.25)
    with pytest.raises(JudgeFailures, match="quota gone") as raised:
        reward(prompts=["Q", "Q"], completions=["x", "y"])
    assert raised.value.step.failures == 1
    assert reward.history[-1].failed == 1  # still recorded for inspection
    lenient = explicit_reward(RUBRIC, judge=judge, max_failure_rate=0.5)
    assert lenient(prompts=["Q", "Q"], completions=["x", "y"]) == [None, 1.0]


def test_instance_rubrics_from_a_column(make_judge):
    judge, fake = make_judge(
        {
            ("r1", "c1"): Yes("yes", 0.5),
            ("r1", "c2"): Yes("yes", 0.25),
            ("r2", "accurate"): Yes("no", 0.4),
            ("r2", "c2"): Yes("yes", 0.75),
        }
    )
    rows = [
        # RaR's shape: text under "description", weights as numbers or labels.
        [
            {"description": "Names the capital", "weight": "essential"},
            {"description": "Invents a population figure", "weight": "pitfall"},
        ],
        json.dumps(
            {
                "checklist": [
                    {"id": "accurate", "text": "Accurate?", "weight": 2},
                    {"id": "c2", "text": "Short?"},
                ]
            }
        ),
    ]
    reward = explicit_reward(rubric_column="rubric", judge=judge)
    rewards = reward(prompts=["P1", "P2"], completions=["r1", "r2"], rubric=rows)
    first = (RAR_WEIGHTS["essential"] * 0.5 + RAR_WEIGHTS["pitfall"] * 0.25) / RAR_WEIGHTS[
        "essential"
    ]
    assert rewards == pytest.approx([first, (2 * 0.4 + 0.75) / 3])
    texts = {r.messages[-1]["content"].split("Requirement")[1][:40] for r in fake.requests}
    assert any("Names the capital" in t for t in texts) and any("Accurate?" in t for t in texts)
    assert set(reward.last.pass_rates) == {"all"}  # ids differ from row to row


def test_bad_instance_rubrics_name_row_and_field(make_judge):
    judge, _ = make_judge({})
    reward = explicit_reward(rubric_column="rubric", judge=judge)
    with pytest.raises(InputError, match=r"row 1, field 'rubric\[0\]\.weight'"):
        reward(
            prompts=["P", "P"],
            completions=["a", "b"],
            rubric=[["ok"], [{"text": "t", "weight": "huge"}]],
        )
    with pytest.raises(InputError, match=r"row 0, field 'rubric'.*positive weight"):
        reward(prompts=["P"], completions=["a"], rubric=[[{"text": "t", "weight": -1}]])
    with pytest.raises(InputError, match=r"field 'rubric': no such column"):
        reward(prompts=["P"], completions=["a"], other=[1])


def test_chat_messages_are_judged_like_text(make_judge):
    judge, fake = make_judge(script_for({"Paris.": (Yes("yes", 0.8), Yes("no", 0.1))}))
    reward = explicit_reward(RUBRIC, judge=judge)
    plain = reward(prompts=["Capital of France?"], completions=["Paris."])
    chat = reward(
        prompts=[[{"role": "user", "content": "Capital of France?"}]],
        completions=[[{"role": "assistant", "content": [{"type": "text", "text": "Paris."}]}]],
    )
    assert plain == chat == pytest.approx([(3 * 0.8 - 0.1) / 3])
    conversation = fake.requests[-1].messages[-1]["content"]
    assert "<conversation>" in conversation and "[user]\nCapital of France?" in conversation
    with pytest.raises(InputError, match="row 0, field 'completions'"):
        reward(prompts=["Q"], completions=[[{"role": "assistant"}]])


def test_length_penalty_by_hand(make_judge):
    long_text, short_text = "x" * 15, "y" * 5
    judge, _ = make_judge(
        script_for({long_text: (Yes("yes"), Yes("no")), short_text: (Yes("yes"), Yes("no"))})
    )
    penalty = LengthPenalty(budget=10, weight=0.5)  # ramp = budget: 5 chars over -> 0.25
    reward = explicit_reward(RUBRIC, judge=judge, length_penalty=penalty)
    assert reward(prompts=["Q", "Q"], completions=[long_text, short_text]) == [0.75, 1.0]
    step = reward.last
    assert (step.mean_unpenalised, step.mean_penalty, step.mean_reward) == (1.0, 0.125, 0.875)
    tokens = explicit_reward(
        RUBRIC,
        judge=judge,
        length_penalty=LengthPenalty(budget=2, weight=1.0, ramp=4, unit="tokens"),
    )
    rewards = tokens(
        prompts=["Q", "Q"], completions=[long_text, short_text], completion_ids=[[1] * 4, [1] * 9]
    )
    assert rewards == [0.5, 0.0]  # 2 over a ramp of 4 -> 0.5; 7 over -> capped at 1
    with pytest.raises(InputError, match="completion_ids"):
        tokens(prompts=["Q"], completions=[short_text])


def test_reference_column_reaches_the_judge_and_a_closed_judge_restarts(make_judge):
    judge, fake = make_judge(script_for({"Paris.": (Yes("yes", 0.6), Yes("no", 0.3))}))
    reward = explicit_reward(RUBRIC, judge=judge, reference_column="answer")
    first = reward(prompts=["Capital?"], completions=["Paris."], answer=["Paris"])
    assert "<reference>\nParis\n</reference>" in fake.requests[0].messages[-1]["content"]
    judge.close()  # the store is reopened on the next call: answers paid for stay paid for
    again = reward(prompts=["Capital?"], completions=["Paris."], answer=["Paris"])
    assert again == first == pytest.approx([(3 * 0.6 - 0.3) / 3])
    assert len(fake.requests) == 2 and reward.last.cache_hits == 2
