"""Reproducibility: the embedded judge, run twice from scratch (a fresh store each time, so
no answer is read from a cache) at temperature 0 with the same seed, gives the same
judgments: scores, expected scores and raw answer text alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jurist.core.data import Item
from jurist.core.judgment import Judgment, PointwiseJudgment
from jurist.judges import JudgeOptions
from jurist.session import JudgeSession, JudgeSetup

pytestmark = pytest.mark.integration

RUBRIC = """
name: repro
criteria:
  - id: helpful
    question: How helpful is the response?
    scale: {1: useless, 2: weak, 3: fair, 4: good, 5: excellent}
  - id: correct
    question: Is the response factually correct?
    scale: {1: wrong, 2: mostly wrong, 3: mixed, 4: mostly right, 5: right}
"""
ITEMS = [
    Item(id="a", input="What is the capital of France?", response="Paris."),
    Item(id="b", input="What is 2 + 2?", response="5, obviously."),
    Item(id="c", input="Name a prime number.", response="Seven is prime; so is 11."),
]


def _fresh_run(rubric: Path, store: Path) -> list[Judgment]:
    setup = JudgeSetup(options=JudgeOptions(rationale="none", max_tokens=16))
    assert setup.options.temperature == 0.0
    with JudgeSession(rubric, setup, store=store) as session:
        return session.judge(ITEMS)


def _what_was_judged(judgment: Judgment) -> dict[str, Any]:
    assert isinstance(judgment, PointwiseJudgment)
    return {
        "item": judgment.item_id,
        "status": judgment.status,
        "overall": judgment.overall,
        "raw": judgment.raw,
        "criteria": {
            cid: (c.status, c.score, c.expected, c.distribution, c.raw)
            for cid, c in judgment.criteria.items()
        },
    }


def test_two_fresh_embedded_runs_give_identical_results(gemma_path, tmp_path: Path) -> None:
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(RUBRIC, encoding="utf-8")
    first = _fresh_run(rubric, tmp_path / "first.sqlite")
    second = _fresh_run(rubric, tmp_path / "second.sqlite")
    for run in (first, second):
        assert all(j.cache_hits == 0 and j.calls > 0 for j in run)  # answered, not cached
        assert any(c.score is not None for j in run for c in j.criteria.values())
    assert [_what_was_judged(j) for j in first] == [_what_was_judged(j) for j in second]
