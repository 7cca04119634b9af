"""Sampling judgments with rationales from the real embedded model (llama.cpp, in-process)
and curating them: distinct seeds, grade-time prompts, a consistent yield report, and a
second run served from the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from jurist.core.data import Item
from jurist.core.rubric import Criterion, Rubric
from jurist.judges import make_judge
from jurist.train import SamplingSettings, build_pairs
from jurist.train.pairs import judge_options, prompt_text

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


def test_pairs_from_the_embedded_judge(tmp_path: Path) -> None:
    items = [
        Item(
            id="a",
            input="Write one sentence.",
            response="The council approved a park.",
            labels={"fluency": 3},
            metadata={"doc_id": "d1"},
        ),
        Item(
            id="b",
            input="Write one sentence.",
            response="park the council a.",
            labels={"fluency": 1},
            metadata={"doc_id": "d2"},
        ),
        Item(id="c", input="Write one sentence.", response="A park was approved."),
    ]
    settings = SamplingSettings(samples=3).with_options(
        temperature=1.0, max_tokens=64, rationale_chars=60
    )
    store = tmp_path / "calls.sqlite"
    first = build_pairs(
        RUBRIC, items, judge="local", settings=settings, store=store, group_by="doc_id"
    )
    report = first.report
    assert report.units == 3 and report.samples == 9
    assert report.pairs + report.all_equal + report.no_label + report.too_few_parsed == 3
    assert report.no_label + report.too_few_parsed >= 1  # item c has no label
    judge = make_judge("pointwise", RUBRIC, judge_options("pointwise", settings))
    for unit in first.units:
        assert unit.prompt == prompt_text(judge.calls(unit.item)[0].request)
        assert len({c.seed for c in unit.candidates}) == len(unit.candidates)
        assert all(c.value in (1, 2, 3) and c.text.startswith("{") for c in unit.candidates)
    for pair in first.pairs:
        assert pair.label is not None
        assert abs(float(pair.chosen_value) - pair.label) < abs(
            float(pair.rejected_value) - pair.label
        )
        assert pair.group in ("d1", "d2")

    again = build_pairs(RUBRIC, items, judge="local", settings=settings, store=store)
    assert [u.candidates for u in again.units] == [u.candidates for u in first.units]
