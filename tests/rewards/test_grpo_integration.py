"""One real GRPO step: the embedded Gemma as the policy, the embedded judge as the rewarder."""

from __future__ import annotations

import math

import pytest

from jurist.backends import CallPolicy
from jurist.core.rubric import ChecklistItem, Rubric
from jurist.judges import JudgeOptions
from jurist.rewards import LengthPenalty, RewardJudge, criterion_rewards, explicit_reward
from jurist.session import JudgeSetup

RUBRIC = Rubric(
    name="fruit",
    checklist=[
        ChecklistItem(id="names_fruit", text="Does the response name a fruit?", weight=5),
        ChecklistItem(id="rude", text="Is the response rude to the user?", weight=-2),
    ],
)


@pytest.mark.integration
@pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing:FutureWarning")
def test_one_grpo_step_gets_judged_cached_rewards(tmp_path, gemma_path):
    trl = pytest.importorskip("trl")
    peft = pytest.importorskip("peft")
    datasets = pytest.importorskip("datasets")
    from jurist.whitebox import load_causal_lm

    model, tokenizer = load_causal_lm("embedded")
    judge = RewardJudge(
        "local",
        store=tmp_path / "store.sqlite",
        setup=JudgeSetup(
            options=JudgeOptions(rationale="none", max_tokens=16),
            calls=CallPolicy(concurrency=2),
        ),
    )
    # Synchronous per-criterion rewards and an async explicit one share the judge: TRL runs
    # the synchronous ones first, so the first pays for every call and the rest read the cache.
    parts = criterion_rewards(RUBRIC, judge=judge)
    explicit = explicit_reward(
        RUBRIC, judge=judge, asynchronous=True, length_penalty=LengthPenalty(budget=200)
    )
    config = trl.GRPOConfig(
        output_dir=str(tmp_path / "out"),
        max_steps=1,
        per_device_train_batch_size=2,
        num_generations=2,
        max_completion_length=6,
        reward_weights=[*parts.weights, 1.0],
        use_cpu=True,
        report_to="none",
        logging_steps=1,
        save_strategy="no",
        activation_checkpointing=False,
        disable_tqdm=True,
        seed=0,
    )
    trainer = trl.GRPOTrainer(
        model=model,
        processing_class=tokenizer,
        reward_funcs=[*parts.functions, explicit],
        args=config,
        train_dataset=datasets.Dataset.from_list([{"prompt": "Name one fruit:"}]),
        peft_config=peft.LoraConfig(
            r=4, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"
        ),
    )
    try:
        trainer.train()
    finally:
        judge.close()

    step = explicit.last
    assert step is not None and step.samples == 2 and len(step.rewards) == 2
    assert all(r is None or math.isfinite(r) for r in step.rewards)
    assert step.failures == sum(r is None for r in step.rewards)
    first, second = (f.last for f in parts.functions)
    assert first.judge_calls == judge.stats.calls >= 4  # 2 completions x 2 checklist items
    assert second.judge_calls == 0 and second.cache_hits == 4
    assert step.judge_calls == 0 and step.cache_hits == 4
    logged = trainer.state.log_history[0]
    assert "rewards/explicit_reward/mean" in logged
    assert logged["explicit_reward/judge_cache_hits"] == 4
    assert "criterion_names_fruit/pass_rate/names_fruit" in logged
