"""Feature data rides in one `extras` mapping on Completion and CriterionScore, while
results.jsonl lines and cached completions keep the shape they always had."""

from __future__ import annotations

import json

from jurist.core.completion import Completion
from jurist.core.judgment import CriterionScore, PointwiseJudgment


def test_criterion_extras_sit_beside_the_fixed_fields_in_json() -> None:
    score = CriterionScore(status="ok", score=4.0, extras={"hidden_key": "k", "probe": 3.5})
    data = json.loads(score.model_dump_json())
    assert data["hidden_key"] == "k" and data["probe"] == 3.5
    assert "extras" not in data
    assert CriterionScore.model_validate_json(score.model_dump_json()) == score


def test_plain_criterion_lines_are_unchanged() -> None:
    judgment = PointwiseJudgment(
        item_id="1",
        index=0,
        status="ok",
        judge="j",
        rubric="r",
        rubric_hash="h",
        criteria={"c": CriterionScore(status="ok", score=2.0)},
    )
    criterion = json.loads(judgment.model_dump_json())["criteria"]["c"]
    unset = {"extras", "jurors", "review"}
    assert list(criterion) == [k for k in CriterionScore.model_fields if k not in unset]


def test_completions_cached_with_top_level_readings_read_into_extras() -> None:
    old = {"text": "{}", "hidden_keys": ["k"], "probe_values": [0.5]}
    completion = Completion.model_validate(old)
    assert completion.extras == {"hidden_keys": ["k"], "probe_values": [0.5]}
    assert Completion.model_validate_json(completion.model_dump_json()) == completion
