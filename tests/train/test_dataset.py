"""The pairs file: loadable with `datasets`, and its prompt is the grade-time prompt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jurist.backends.hf import chat_prompt
from jurist.core.data import Item
from jurist.core.errors import InputError
from jurist.core.rubric import Criterion, Rubric
from jurist.judges import make_judge
from jurist.train import load_pairs, write_pairs
from jurist.train.pairs import (
    Candidate,
    SamplingSettings,
    Unit,
    curate_units,
    grade_prompts,
    judge_options,
)

RUBRIC = Rubric(
    name="tiny",
    criteria=[
        Criterion(
            id="fluency",
            question="Is the summary fluent?",
            range=(1, 3),
            scale={1: "broken", 2: "awkward", 3: "fluent"},
        )
    ],
)


def answer(score: int) -> str:
    return json.dumps({"rationale": f"reads as a {score}", "score": score})


def units() -> list[Unit]:
    judge = make_judge("pointwise", RUBRIC, judge_options("pointwise", SamplingSettings()))
    made = []
    for number, (text, label) in enumerate([("Council approves park.", 3), ("park the.", 1)]):
        item = Item(id=f"i{number}", input="The council approved a park.", response=text)
        prompt = grade_prompts(judge, item)["fluency"]
        candidates = tuple(Candidate(s, answer(s), None, s) for s in (1, 2, 3))
        made.append(Unit(item, "fluency", prompt, candidates, float(label)))
    return made


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_pairs_file_loads_with_datasets_and_keeps_the_grade_time_prompt(
    tmp_path: Path, suffix: str
) -> None:
    pair_set = curate_units(units())
    path = write_pairs(pair_set.pairs, tmp_path / f"pairs{suffix}")
    data = load_pairs(path)
    assert data.num_rows == 2
    judge = make_judge("pointwise", RUBRIC, judge_options("pointwise", SamplingSettings()))
    for row, unit in zip(data, units(), strict=True):
        request = judge.calls(unit.item)[0].request
        # What the transformers backend feeds the model for this request.
        assert row["prompt"] == chat_prompt(None, "gemma3", request.messages)
        assert request.messages[0]["content"] in row["prompt"]
        assert row["prompt"].endswith("<start_of_turn>model\n")
    assert [json.loads(r["chosen"].removesuffix("<end_of_turn>"))["score"] for r in data] == [3, 1]
    assert [json.loads(r["rejected"].removesuffix("<end_of_turn>"))["score"] for r in data] == [
        1,
        3,
    ]


def test_a_pairs_file_without_a_column_names_it(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"prompt": "p", "chosen": "c"}) + "\n")
    with pytest.raises(InputError, match="rejected"):
        load_pairs(path)
    path.write_text(
        json.dumps({"prompt": "p", "chosen": "c", "rejected": "r"})
        + "\n"
        + json.dumps({"prompt": "p", "chosen": "", "rejected": "r"})
        + "\n"
    )
    with pytest.raises(InputError) as raised:
        load_pairs(path)
    assert (raised.value.row, raised.value.field) == (2, "chosen")
