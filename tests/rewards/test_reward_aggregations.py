"""Each aggregation against values computed by hand from small scripted judgments."""

from __future__ import annotations

import asyncio
import threading

import pytest

from jurist.core.errors import ConfigError
from jurist.core.rubric import ChecklistItem, Criterion, Rubric
from jurist.rewards import (
    checklist_reward,
    criterion_rewards,
    explicit_reward,
    holistic_rubric,
    implicit_reward,
    likert_reward,
)
from rewards.reward_fakes import Score, Yes

CHECKLIST = Rubric(
    name="advice",
    checklist=[
        ChecklistItem(id="correct", text="Is the advice correct?", weight=5),
        ChecklistItem(id="cites", text="Does it cite a source?", weight=3),
        ChecklistItem(id="unsafe", text="Does it recommend an unsafe dose?", weight=-2),
    ],
)
LIKERT = Rubric(
    name="essay",
    criteria=[
        Criterion(
            id="clarity", question="How clear?", weight=2, scale=dict.fromkeys(range(1, 6), "x")
        ),
        Criterion(
            id="depth", question="How deep?", weight=1, scale=dict.fromkeys(range(1, 6), "x")
        ),
    ],
)
PROMPTS = ["Q", "Q"]
GOOD, BAD = "good answer", "bad answer"


def checklist_script(probabilities: bool = True) -> dict:
    def yes(answer: str, p: float) -> Yes:
        return Yes(answer, p if probabilities else None)

    return {
        (GOOD, "correct"): yes("yes", 0.9),
        (GOOD, "cites"): yes("no", 0.4),
        (GOOD, "unsafe"): yes("no", 0.2),
        (BAD, "correct"): yes("no", 0.1),
        (BAD, "cites"): yes("no", 0.3),
        (BAD, "unsafe"): yes("yes", 0.8),
    }


def test_the_formula_by_hand():
    assert checklist_reward([5, 3, -2], [0.9, 0.4, 0.2]) == pytest.approx((4.5 + 1.2 - 0.4) / 8)
    assert checklist_reward([5, 3, -2], [0, 0, 1]) == pytest.approx(-0.25)  # not floored
    assert likert_reward([2, 1], [0.75, 0.25]) == pytest.approx(1.75 / 3)
    with pytest.raises(ConfigError):
        checklist_reward([-1], [1.0])


def test_explicit_uses_p_yes_and_pitfalls_subtract(make_judge):
    judge, _ = make_judge(checklist_script())
    reward = explicit_reward(CHECKLIST, judge=judge)
    rewards = reward(prompts=PROMPTS, completions=[GOOD, BAD])
    assert rewards == pytest.approx([(5 * 0.9 + 3 * 0.4 - 2 * 0.2) / 8, (0.5 + 0.9 - 1.6) / 8])


def test_explicit_falls_back_to_answers_without_probabilities(make_judge):
    judge, _ = make_judge(checklist_script(probabilities=False))
    rewards = explicit_reward(CHECKLIST, judge=judge)(prompts=PROMPTS, completions=[GOOD, BAD])
    assert rewards == pytest.approx([5 / 8, -2 / 8])
    judge2, _ = make_judge(checklist_script())
    hard = explicit_reward(CHECKLIST, judge=judge2, use_probabilities=False)
    assert hard(prompts=PROMPTS, completions=[GOOD, BAD]) == pytest.approx([5 / 8, -2 / 8])


def test_explicit_on_likert_criteria_is_the_weighted_normalised_mean(make_judge):
    judge, _ = make_judge(
        {
            (GOOD, "clarity"): Score(4, {4: 0.5, 5: 0.5}),  # expected 4.5 -> 0.875
            (GOOD, "depth"): Score(2, {2: 1.0}),  # 2 -> 0.25
        }
    )
    reward = explicit_reward(LIKERT, judge=judge)
    assert reward(prompts=["Q"], completions=[GOOD]) == pytest.approx([(2 * 0.875 + 0.25) / 3])


def test_implicit_is_one_normalised_likert_score(make_judge):
    judge, fake = make_judge(
        {(GOOD, "overall"): Score(7, {7: 0.5, 9: 0.5}), (BAD, "overall"): Score(2)}
    )
    reward = implicit_reward(CHECKLIST, judge=judge)
    assert reward(prompts=PROMPTS, completions=[GOOD, BAD]) == pytest.approx([7 / 8, 1 / 8])
    assert len(fake.requests) == 2  # one call per completion, every criterion in its prompt
    prompt = fake.requests[0].messages[-1]["content"]
    for check in CHECKLIST.checklist:
        assert check.text in prompt and f"[weight {check.weight:g}]" in prompt
    argmax = implicit_reward(CHECKLIST, judge=judge, use_probabilities=False, scale=(1, 9))
    assert argmax(prompts=PROMPTS, completions=[GOOD, BAD]) == pytest.approx([6 / 8, 1 / 8])


def test_holistic_rubric_scale():
    rubric = holistic_rubric(CHECKLIST, (0, 4))
    (criterion,) = rubric.criteria
    assert criterion.bounds == (0, 4) and len(criterion.scale) == 5
    with pytest.raises(ConfigError):
        holistic_rubric(CHECKLIST, (3, 3))


def test_criterion_rewards_sum_to_the_explicit_reward(make_judge):
    judge, fake = make_judge(checklist_script())
    parts = criterion_rewards(CHECKLIST, judge=judge)
    assert parts.weights == pytest.approx([5 / 8, 3 / 8, -2 / 8])
    assert [f.__name__ for f in parts.functions] == [
        "criterion_correct",
        "criterion_cites",
        "criterion_unsafe",
    ]
    columns = [f(prompts=PROMPTS, completions=[GOOD, BAD]) for f in parts.functions]
    assert columns == [
        pytest.approx([0.9, 0.1]),
        pytest.approx([0.4, 0.3]),
        pytest.approx([0.2, 0.8]),
    ]
    weighted = [
        sum(w * col[i] for w, col in zip(parts.weights, columns, strict=True)) for i in range(2)
    ]
    explicit = explicit_reward(CHECKLIST, judge=judge)(prompts=PROMPTS, completions=[GOOD, BAD])
    assert weighted == pytest.approx(explicit)
    assert len(fake.requests) == 6  # the first function paid; the rest read the cache
    assert parts.functions[1].last.cache_hits == 6 and parts.functions[1].last.judge_calls == 0


def test_mixed_rubric_needs_a_part(make_judge):
    judge, _ = make_judge({})
    mixed = Rubric(name="m", checklist=CHECKLIST.checklist, criteria=LIKERT.criteria)
    with pytest.raises(ConfigError, match="part="):
        explicit_reward(mixed, judge=judge)
    assert explicit_reward(mixed, judge=judge, part="checklist").rubric is mixed
    with pytest.raises(ConfigError, match="either a rubric or a rubric_column"):
        explicit_reward(judge=judge)


def test_trl_sees_the_right_kind_and_name(make_judge):
    utils = pytest.importorskip("trl.trainer.utils")
    judge, _ = make_judge({})
    sync = explicit_reward(CHECKLIST, judge=judge)
    asynchronous = explicit_reward(CHECKLIST, judge=judge, asynchronous=True, name="rar")
    assert not utils.is_async_callable(sync) and utils.get_callable_name(sync) == "explicit_reward"
    assert utils.is_async_callable(asynchronous)
    assert utils.get_callable_name(asynchronous) == "rar"


def test_async_reward_from_another_thread_and_loop(make_judge):
    """TRL awaits async rewards on a loop in a daemon thread; the store still works."""
    judge, _ = make_judge(checklist_script())
    reward = explicit_reward(CHECKLIST, judge=judge, asynchronous=True)
    found: list = []

    def trainer_thread() -> None:
        found.append(asyncio.run(reward(prompts=PROMPTS, completions=[GOOD, BAD])))
        found.append(asyncio.run(reward(prompts=PROMPTS, completions=[GOOD, BAD])))

    thread = threading.Thread(target=trainer_thread)
    thread.start()
    thread.join()
    assert found[0] == pytest.approx([0.6625, -0.025]) and found[1] == found[0]
    assert reward.history[1].judge_calls == 0 and reward.history[1].cache_hits == 6
