"""How well the weight-sign lint rule tells a wrongly signed checklist item from a rightly
signed one, measured on a labelled list of realistic items, and that it stays quiet on the
project's own rubrics."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from jurist.core.rubric import ChecklistItem, Rubric
from jurist.rubrics.lint import lint_file, lint_rubric

REPO = Path(__file__).resolve().parents[2]
ITEMS = Path(__file__).parent / "data" / "weight_sign_items.yaml"
MIN_PRECISION = 0.9
MIN_RECALL = 0.8
# A rubric's checklist needs a positive weight somewhere; this one is neutral wording.
ANCHOR = ChecklistItem(id="anchor", text="The response has a title", weight=1)


def flags_weight_sign(text: str, weight: float) -> bool:
    rubric = Rubric(
        name="probe", checklist=[ChecklistItem(id="probe", text=text, weight=weight), ANCHOR]
    )
    return any(f.rule == "weight-sign" and f.target == "probe" for f in lint_rubric(rubric))


def precision_recall(predicted: list[bool], actual: list[bool]) -> tuple[float, float]:
    hits = sum(p and a for p, a in zip(predicted, actual, strict=True))
    return hits / max(sum(predicted), 1), hits / max(sum(actual), 1)


def test_precision_recall_helper_counts_by_hand():
    predicted = [True, True, False, False, True]
    actual = [True, False, True, False, True]
    assert precision_recall(predicted, actual) == (2 / 3, 2 / 3)


def test_weight_sign_rule_precision_and_recall():
    rows = yaml.safe_load(ITEMS.read_text(encoding="utf-8"))
    assert len(rows) >= 40
    actual = [bool(row["wrong_sign"]) for row in rows]
    assert 0 < sum(actual) < len(actual), "the list needs both wrong and right signs"
    predicted = [flags_weight_sign(row["text"], row["weight"]) for row in rows]
    precision, recall = precision_recall(predicted, actual)
    missed = [row["text"] for row, p, a in zip(rows, predicted, actual, strict=True) if a and not p]
    false = [row["text"] for row, p, a in zip(rows, predicted, actual, strict=True) if p and not a]
    print(
        f"\nweight-sign rule on {len(rows)} items ({sum(actual)} wrongly signed): "
        f"precision {precision:.3f}, recall {recall:.3f}"
    )
    assert precision >= MIN_PRECISION, f"flagged rightly signed items: {false}"
    assert recall >= MIN_RECALL, f"missed wrongly signed items: {missed}"


@pytest.mark.parametrize(
    "path",
    sorted([*(REPO / "examples").glob("*.yaml"), *(REPO / "src/jurist/presets").glob("*.yaml")]),
    ids=lambda path: path.name,
)
def test_project_rubrics_have_no_weight_sign_finding(path: Path):
    findings = lint_file(path)
    assert not [f for f in findings if f.rule == "invalid"], findings
    assert [str(f) for f in findings if f.rule == "weight-sign"] == []


def test_virtues_with_negative_sounding_words_read_as_virtues():
    # The project's own example: a virtue whose wording names what it guards against.
    assert not flags_weight_sign(
        "If the user describes red-flag symptoms (such as chest pain or thoughts of self-harm), "
        "does the response tell them to seek emergency help? Answer yes if none are described.",
        3,
    )
    assert flags_weight_sign("The response escalates red flags to a clinician.", -2)
    assert flags_weight_sign("The response does not warn about dangerous interactions.", 2)
