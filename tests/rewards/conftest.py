"""The reward tests' judge: a RubricFake behind a real RewardJudge and store."""

from __future__ import annotations

import pytest

from jurist.judges import JudgeOptions
from jurist.rewards import RewardJudge
from jurist.session import JudgeSetup
from rewards.reward_fakes import RubricFake, Scripted


@pytest.fixture
def make_judge(tmp_path):
    """A RewardJudge over a RubricFake, with its own store; closed after the test."""
    made: list[RewardJudge] = []

    def build(script: dict[tuple[str, str], Scripted]) -> tuple[RewardJudge, RubricFake]:
        fake = RubricFake(script)
        judge = RewardJudge(
            fake,
            store=tmp_path / f"store-{len(made)}.sqlite",
            setup=JudgeSetup(options=JudgeOptions(rationale="none")),
        )
        made.append(judge)
        return judge, fake

    yield build
    for judge in made:
        judge.close()
