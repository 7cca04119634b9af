"""A real DPO run on the embedded Gemma model through transformers on CPU: a few steps on
a handful of pairs move the judge toward the chosen answers, and the merged model saves,
reloads and grades through `hf:` with every answer parsed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transformers import AutoConfig, AutoTokenizer

from jurist import JudgeSetup
from jurist import judge as run_judge
from jurist.backends.hf import chat_prompt
from jurist.core.data import Item
from jurist.core.rubric import Criterion, Rubric
from jurist.judges import JudgeOptions, make_judge
from jurist.train import DPOSettings, TrainSettings, load_pairs, train_dpo, write_pairs
from jurist.train.pairs import PreferencePair, chat_answer, prompt_text

pytestmark = pytest.mark.integration

RUBRIC = Rubric(
    name="tiny",
    criteria=[
        Criterion(
            id="fluency",
            question="Is the text fluent?",
            range=(1, 3),
            scale={1: "broken", 2: "awkward", 3: "fluent"},
        )
    ],
)
OPTIONS = JudgeOptions(max_tokens=64, rationale_chars=60)
TEXTS = [("The council approved a park.", 3), ("park the council a.", 1)]


def items() -> list[Item]:
    return [
        Item(id=f"i{n}", input="Write one sentence.", response=text, labels={"fluency": label})
        for n, (text, label) in enumerate(TEXTS)
    ]


def pairs() -> list[PreferencePair]:
    judge = make_judge("pointwise", RUBRIC, OPTIONS)
    made = []
    for item, (_, label) in zip(items(), TEXTS, strict=True):
        wrong = 4 - label
        prompt = prompt_text(judge.calls(item)[0].request)
        made.append(
            PreferencePair(
                prompt=prompt,
                chosen=chat_answer(json.dumps({"rationale": "Matches the scale.", "score": label})),
                rejected=chat_answer(json.dumps({"rationale": "x", "score": wrong})),
                item_id=item.id,
                key="fluency",
                chosen_value=label,
                rejected_value=wrong,
                label=label,
                margin=2.0,
                source="label",
            )
        )
    return made


def test_dpo_moves_the_judge_and_the_merged_model_grades(tmp_path: Path) -> None:
    path = write_pairs(pairs(), tmp_path / "pairs.jsonl")
    settings = DPOSettings(
        beta=0.1,
        train=TrainSettings(learning_rate=1e-3, max_steps=2, batch_size=2, max_length=384),
    )
    result = train_dpo(load_pairs(path), tmp_path / "judge", model="hf:embedded", settings=settings)
    losses = result.series("loss")
    margins = result.series("rewards/margins")
    assert len(losses) == 2 and len(margins) == 2
    assert losses[-1] < losses[0]
    assert margins[-1] > margins[0]
    assert (result.model_dir / "config.json").exists()
    assert (result.model_dir / "jurist_training.json").exists()

    config = AutoConfig.from_pretrained(result.model_dir)
    tokenizer = AutoTokenizer.from_pretrained(result.model_dir)
    assert config.model_type.startswith("gemma")
    # The grade-time prompt the backend builds from the saved tokenizer is the trained one.
    request = make_judge("pointwise", RUBRIC, OPTIONS).calls(items()[0])[0].request
    assert chat_prompt(tokenizer, config.model_type, request.messages) == pairs()[0].prompt

    # Grading through `hf:` reloads the merged weights from the folder.

    judgments = run_judge(
        RUBRIC,
        items(),
        JudgeSetup(judge=f"hf:{result.model_dir}", options=OPTIONS),
        store=tmp_path / "calls.sqlite",
    )
    assert [j.status for j in judgments] == ["ok", "ok"]
    assert all(j.criteria["fluency"].score in (1, 2, 3) for j in judgments)
