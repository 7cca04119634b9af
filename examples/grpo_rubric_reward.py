"""GRPO with a rubric reward: the embedded Gemma learns (a little) on CPU, graded by the
embedded judge against each prompt's own checklist.

    python examples/grpo_rubric_reward.py --steps 3

Every prompt carries its checklist in the `rubric` column, with Rubrics-as-Rewards weights
(essential, important, optional, pitfall). Each completion's reward is
sum_i w_i P(yes_i) / sum_{w_i>0} w_i, minus a penalty past a length budget (in characters:
the base model rarely stops before the token limit, so token counts would all be equal).

The table at the end shows, call by call, the reward before and after the penalty, in how
many prompt groups the penalty changed which completion ranks first (`flips`: that ranking
is what GRPO learns from), the share of requirements met, judge failures and cache hits.
Needs `jurist[local,train]`.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from datasets import Dataset
from peft import LoraConfig
from trl import GRPOConfig, GRPOTrainer

from jurist import CallPolicy, JudgeOptions, JudgeSetup
from jurist.rewards import LengthPenalty, RewardJudge, RewardStep, explicit_reward
from jurist.whitebox import load_causal_lm

PROMPTS = [
    {
        "prompt": "One tip for sleeping better:",
        "rubric": [
            {"description": "Gives a concrete tip that helps sleep", "weight": "essential"},
            {"description": "Says briefly why the tip helps", "weight": "optional"},
            {"description": "Recommends a prescription sleeping pill", "weight": "pitfall"},
        ],
    },
    {
        "prompt": "A healthy breakfast idea:",
        "rubric": [
            {"description": "Names a specific breakfast food or dish", "weight": "essential"},
            {"description": "The suggestion is reasonably healthy", "weight": "important"},
            {"description": "Suggests skipping breakfast entirely", "weight": "pitfall"},
        ],
    },
    {
        "prompt": "How to boil an egg, in one sentence:",
        "rubric": [
            {"description": "Says to put the egg in boiling water", "weight": "essential"},
            {"description": "Gives a cooking time in minutes", "weight": "important"},
            {"description": "Suggests using a microwave with the shell on", "weight": "pitfall"},
        ],
    },
    {
        "prompt": "Something kind to say to a friend who failed an exam:",
        "rubric": [
            {"description": "Is kind and encouraging", "weight": "essential"},
            {"description": "Offers help or a next step", "weight": "optional"},
            {"description": "Mocks or blames the friend", "weight": "pitfall"},
        ],
    },
]


def best_changed(step: RewardStep, generations: int) -> tuple[int, int]:
    """(groups whose best completion the length penalty changed, groups): GRPO learns from
    the ranking within each prompt's group, so that is where the penalty acts."""
    changed = groups = 0
    for start in range(0, len(step.rewards), generations):
        rewards = step.rewards[start : start + generations]
        after = [r for r in rewards if r is not None]
        if len(after) < len(rewards):
            continue  # a completion without a reward: no ranking to compare
        cut = step.penalties[start : start + generations]
        before = [r + p for r, p in zip(after, cut, strict=True)]
        groups += 1
        changed += after.index(max(after)) != before.index(max(before))
    return changed, groups


def cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def show(history: list[RewardStep], generations: int) -> None:
    print(
        f"{'call':>4} {'reward':>8} {'before':>8} {'penalty':>8} {'flips':>6} {'met':>6} "
        f"{'failed':>6} {'calls':>6} {'cached':>6}"
    )
    for number, step in enumerate(history, 1):
        flips = "{}/{}".format(*best_changed(step, generations))
        print(
            f"{number:>4} {cell(step.mean_reward):>8} {cell(step.mean_unpenalised):>8} "
            f"{cell(step.mean_penalty):>8} {flips:>6} {cell(step.pass_rates.get('all')):>6} "
            f"{step.failures:>6} {step.judge_calls:>6} {step.cache_hits:>6}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--generations", type=int, default=2, help="completions per prompt")
    parser.add_argument("--prompts-per-step", type=int, default=2)
    parser.add_argument("--max-completion-length", type=int, default=24, help="tokens")
    parser.add_argument(
        "--length-budget", type=int, default=60, help="characters before the penalty starts"
    )
    parser.add_argument("--store", type=Path, default=None, help="judge cache (default: yours)")
    args = parser.parse_args()

    model, tokenizer = load_causal_lm("embedded")
    judge = RewardJudge(
        "local",
        store=args.store,
        # No written rationale: the decision's P(yes) is read from the first answer token,
        # which keeps each judge call short enough for a CPU.
        setup=JudgeSetup(
            options=JudgeOptions(rationale="none", max_tokens=16),
            calls=CallPolicy(concurrency=2),
        ),
    )
    reward = explicit_reward(
        rubric_column="rubric",
        judge=judge,
        asynchronous=True,
        length_penalty=LengthPenalty(budget=args.length_budget, weight=0.3),
        name="checklist",
    )
    with tempfile.TemporaryDirectory() as output:
        config = GRPOConfig(
            output_dir=output,
            max_steps=args.steps,
            per_device_train_batch_size=args.prompts_per_step * args.generations,
            num_generations=args.generations,
            max_completion_length=args.max_completion_length,
            learning_rate=5e-5,
            use_cpu=True,
            activation_checkpointing=False,
            report_to="none",
            logging_steps=1,
            save_strategy="no",
            disable_tqdm=True,
            seed=0,
        )
        trainer = GRPOTrainer(
            model=model,
            processing_class=tokenizer,
            reward_funcs=reward,
            args=config,
            train_dataset=Dataset.from_list(PROMPTS),
            peft_config=LoraConfig(r=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"),
        )
        try:
            trainer.train()
        finally:
            judge.close()
    show(reward.history, args.generations)
    print(f"judge: {judge.stats.calls} calls, {judge.stats.cache_hits} cache hits")
    for entry in trainer.state.log_history:
        if "checklist/judge_failure_rate" in entry:
            print(
                f"step {entry['step']}: trainer logged reward {entry['reward']:.3f}, "
                f"checklist pass rate {entry.get('checklist/pass_rate/all', float('nan')):.3f}"
            )


if __name__ == "__main__":
    main()
