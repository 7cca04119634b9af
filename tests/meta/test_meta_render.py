"""Reports are typed: they render themselves for a console and survive a JSON round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from jurist import meta
from jurist.core.judgment import CriterionScore, PairVerdict, make_judgment

SCORES = [(1, 1), (2, 3), (3, 3), (4, 4), (5, 4), (2, 2), (3, 2), (4, 5), (5, 5), (1, 2)]
SETTINGS = meta.Settings(n_resamples=100)


def _base(k: int) -> dict[str, object]:
    return {
        "item_id": f"i{k}",
        "index": k,
        "status": "ok",
        "judge": "test-judge",
        "rubric": "test",
        "rubric_hash": "0" * 16,
        "metadata": {"model": f"m{k % 2}", "prompt": f"p{k // 2}"},
        "response_chars": 100 + 10 * k,
    }


@pytest.fixture
def pointwise(tmp_path: Path) -> meta.Results:
    judgments = [
        make_judgment(
            **_base(k),
            criteria={"quality": CriterionScore(status="ok", score=float(judge))},
            labels={"quality": float(human)},
        )
        for k, (judge, human) in enumerate(SCORES)
    ]
    path = tmp_path / "results.jsonl"
    path.write_text("".join(j.model_dump_json() + "\n" for j in judgments))
    return meta.Results.load(path)


@pytest.fixture
def pairwise(tmp_path: Path) -> meta.Results:
    verdicts = ["A", "B", "A", "tie", "B", "A", "A", "B"]
    labels = ["A", "B", "B", "tie", "B", "A", "B", "A"]
    judgments = [
        make_judgment(
            **_base(k),
            mode="pairwise",
            pair=PairVerdict(status="ok", verdict=v, verdict_ab=v, verdict_ba=v, consistent=True),
            labels={"preference": label},
            response_b_chars=150,
        )
        for k, (v, label) in enumerate(zip(verdicts, labels, strict=True))
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(j.model_dump_json() + "\n" for j in judgments))
    return meta.Results.load(path)


def _text(report: meta.AgreementReport | meta.AuditReport | meta.CompareReport) -> str:
    console = Console(record=True, width=200)
    console.print(report.render())
    return console.export_text()


def test_agreement_report_renders_figures_with_their_n(pointwise):
    report = meta.agreement_report(pointwise, settings=SETTINGS)
    text = _text(report)
    spearman = report.criteria["quality"].parsed.spearman
    assert f"{spearman.value:.3f} [{spearman.low:.3f}, {spearman.high:.3f}] n=10" in text
    assert "exact agreement" in text and "10 items, 10 scored and labelled" in text


def test_audit_and_compare_reports_render(pointwise, pairwise):
    audit = _text(meta.bias_report(pairwise, settings=SETTINGS))
    assert "first-slot rate (decisive verdicts)" in audit and "8 pairs" in audit
    compare = meta.model_report(pointwise, by="model", prompt_field="prompt", settings=SETTINGS)
    text = _text(compare)
    assert "m0 - m1 = " in text or "m1 - m0 = " in text
    assert "after Holm's correction for 1 comparisons" in text


@pytest.mark.parametrize("kind", ["agreement", "audit", "compare"])
def test_json_round_trip_gives_the_same_report(pointwise, pairwise, kind):
    build = {
        "agreement": lambda r: meta.agreement_report(r, by="model", settings=SETTINGS),
        "audit": lambda r: meta.bias_report(r, by="model", settings=SETTINGS),
        "compare": lambda r: meta.model_report(
            r, by="model", prompt_field="prompt", settings=SETTINGS
        ),
    }[kind]
    for results in (pointwise, pairwise):
        if kind == "compare" and results is pairwise:
            continue  # the pairs name no model per slot
        report = build(results)
        text = report.model_dump_json()
        again = type(report).model_validate_json(text)
        assert again == report
        assert again.model_dump_json() == text
        data = json.loads(text)
        # A section that was not computed is absent, not null.
        assert ("pairwise" in data) == (results is pairwise)
        assert ("criteria" in data) == (results is pointwise)


def test_compare_pairs_json_keeps_the_model_fields_key(tmp_path):
    judgments = [
        make_judgment(
            **{
                **_base(k),
                "metadata": {"model_a": "x", "model_b": "y" if k % 2 else "z"},
            },
            mode="pairwise",
            pair=PairVerdict(status="ok", verdict=v, verdict_ab=v, verdict_ba=v),
        )
        for k, v in enumerate(["A", "B", "A", "A", "tie", "A"])
    ]
    path = tmp_path / "games.jsonl"
    path.write_text("".join(j.model_dump_json() + "\n" for j in judgments))
    report = meta.model_report(meta.Results.load(path), by="model", settings=SETTINGS)
    data = json.loads(report.model_dump_json())
    assert data["pairwise"]["model_fields"] == ["model_a", "model_b"]
    assert meta.CompareReport.model_validate(data) == report
