"""Rubric rewards for RL trainers: reward functions in the shape TRL's `GRPOTrainer` calls,
judged through jurist's cached, retried, concurrent judge stack.

- `explicit_reward`: each checklist item judged on its own, r = sum w_i c_i / sum_{w_i>0} w_i
- `implicit_reward`: one holistic Likert score from a judge that sees every criterion
- `criterion_rewards`: one function per item, with the weights for `reward_weights`
- `rubric_column=`: each prompt's own checklist from a data-set column

Modules here are public unless their name starts with `_`; a `_name`, module or symbol, is
never imported from outside this package (tests included).
"""

from jurist.rewards._aggregate import (
    Explicit,
    Implicit,
    OnePart,
    checklist_reward,
    holistic_rubric,
    likert_reward,
)
from jurist.rewards._engine import RewardJudge
from jurist.rewards._instances import RAR_WEIGHTS, row_rubric
from jurist.rewards._length import LengthPenalty
from jurist.rewards._log import RewardStep
from jurist.rewards._reward import (
    AsyncRubricReward,
    CriterionRewards,
    JudgeFailures,
    Reward,
    RubricReward,
    criterion_rewards,
    explicit_reward,
    implicit_reward,
)

__all__ = [
    "RAR_WEIGHTS",
    "AsyncRubricReward",
    "CriterionRewards",
    "Explicit",
    "Implicit",
    "JudgeFailures",
    "LengthPenalty",
    "OnePart",
    "Reward",
    "RewardJudge",
    "RewardStep",
    "RubricReward",
    "checklist_reward",
    "criterion_rewards",
    "explicit_reward",
    "holistic_rubric",
    "implicit_reward",
    "likert_reward",
    "row_rubric",
]
