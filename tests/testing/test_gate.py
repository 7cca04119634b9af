"""`jurist gate` and `jurist.testing.gate.gate` on synthetic runs with a known shift:
decisions, intervals against a direct numpy paired bootstrap, Holm across rows, unpaired
items, refused judges, pairwise and checklist runs, and the CLI's formats and exit codes."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from judgment_builders import judgment, write_results
from jurist.cli import app
from jurist.core.errors import EXIT_INPUT
from jurist.core.judgment import Judgment
from jurist.core.rubric import rubric_from_dict
from jurist.stats.multiple import holm
from jurist.testing.gate import (
    JudgeMismatch,
    compare_arrays,
    gate,
    load_run,
    paired_differences,
    row_values,
    spreads_for,
)
from jurist.testing.sequential import gate_sequential

runner = CliRunner()
CRITERIA = ("accuracy", "clarity")


def scored_run(
    scores: np.ndarray, ids: list[str] | None = None, judge: str = "test-judge"
) -> list[Judgment]:
    """One pointwise judgment per row of `scores` (items x criteria, 1-5)."""
    ids = ids or [f"item-{i}" for i in range(len(scores))]
    out = []
    for i, (item_id, row) in enumerate(zip(ids, scores, strict=True)):
        values = zip(CRITERIA, row, strict=True)
        criteria = {c: {"status": "ok", "score": float(v)} for c, v in values}
        overall = float(np.mean((row - 1) / 4))
        out.append(judgment(item_id, i, criteria=criteria, overall=overall, judge=judge))
    return out


def shifted(n: int, shift: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Baseline Likert scores and a candidate whose every score moves by `shift` on
    average (integer steps, so the scores stay on the scale's points)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(2, 5, size=(n, len(CRITERIA))).astype(float)
    whole = np.floor(shift)
    step = whole + (rng.random(base.shape) < shift - whole)
    return base, base + step


@pytest.mark.parametrize(
    ("shift", "expected"),
    [(-1.0, "regressed"), (0.0, "pass"), (1.0, "improved"), (-0.5, "regressed")],
)
def test_known_shift_decides(shift: float, expected: str) -> None:
    base, cand = shifted(200, shift, seed=1)
    report = gate(scored_run(base), scored_run(cand), max_drop=0.2, max_drop_share=0.05)
    assert [r.name for r in report.rows] == [*CRITERIA, "overall"]
    assert report.decision == expected
    assert report.exit_code == (1 if expected == "regressed" else 0)
    for row in report.rows:
        assert row.difference.n == 200
        assert row.difference.low <= row.difference.value <= row.difference.high


def test_small_noisy_difference_is_inconclusive_with_items_to_decide() -> None:
    base, cand = shifted(30, -0.2, seed=4)
    report = gate(scored_run(base), scored_run(cand), max_drop=0.2, criteria=["accuracy"])
    (row,) = report.rows
    assert report.decision == row.decision == "inconclusive"
    assert row.difference.low < -0.2 < row.difference.high
    assert row.items_to_decide is None or row.items_to_decide > 30
    assert "inconclusive" in row.sentence()


def test_items_to_decide_grows_as_one_over_sqrt_n() -> None:
    base = np.full((40, 2), 3.0)
    cand = base.copy()
    cand[::2, 0] += 1  # mean difference +0.5, one point either way
    cand[1::4, 0] -= 2  # ... brought down to 0: an interval around 0
    rows = compare_arrays(base, cand, ["a", "b"], [0.2, 0.2], resamples=2000, seed=0)
    a = rows[0]
    assert a.decision == "inconclusive" and a.items_to_decide is not None
    half = a.difference.value - a.difference.low
    distance = a.difference.value + 0.2
    # Holm's worst case over two rows widens the half-width by z(1-.025/2)/z(1-.025)
    widen = 2.2414 / 1.9600
    expected = 40 * (half * widen / distance) ** 2
    assert a.items_to_decide == pytest.approx(expected, rel=0.02, abs=1)


def test_intervals_match_a_direct_paired_bootstrap() -> None:
    base, cand = shifted(300, -0.3, seed=2)  # 300 items: the draws come in several batches
    report = gate(scored_run(base), scored_run(cand), resamples=2000, seed=7)
    rng = np.random.default_rng(7)
    index = rng.integers(0, 300, size=(2000, 300))
    for j, name in enumerate(CRITERIA):
        diff = cand[:, j] - base[:, j]
        low, high = np.quantile(diff[index].mean(axis=1), [0.025, 0.975])
        row = next(r for r in report.rows if r.name == name)
        assert row.difference.value == pytest.approx(diff.mean(), abs=1e-12)
        assert (row.difference.low, row.difference.high) == pytest.approx((low, high), abs=1e-12)
        b_low, b_high = np.quantile(base[:, j][index].mean(axis=1), [0.025, 0.975])
        assert (row.baseline.low, row.baseline.high) == pytest.approx((b_low, b_high), abs=1e-12)


def test_decisions_use_holm_adjusted_one_sided_p_values() -> None:
    base, cand = shifted(60, -0.35, seed=3)
    report = gate(scored_run(base), scored_run(cand), resamples=1000, seed=5, max_drop=0.2)
    rng = np.random.default_rng(5)
    index = rng.integers(0, 60, size=(1000, 60))
    raw = []
    for j in range(len(CRITERIA)):
        reps = (cand[:, j] - base[:, j])[index].mean(axis=1)
        raw.append(float(np.mean(reps >= -0.2)))
    overall = scored_run(cand)[0].overall  # share row: its own limit
    assert overall is not None
    diffs = np.array(
        [
            c.overall - b.overall
            for b, c in zip(scored_run(base), scored_run(cand), strict=True)
            if b.overall is not None and c.overall is not None
        ]
    )
    raw.append(float(np.mean(diffs[index].mean(axis=1) >= -0.05)))
    adjusted = holm(raw)
    for row, p in zip(report.rows, adjusted, strict=True):
        assert row.p_regressed == pytest.approx(p)
        assert (row.decision == "regressed") == (p < 0.025)


def test_unpaired_items_are_counted_and_named() -> None:
    base, cand = shifted(50, 0.0, seed=6)
    ids = [f"item-{i}" for i in range(50)]
    baseline = scored_run(base[:45], ids[:45])
    candidate = scored_run(cand[3:], ids[3:])
    report = gate(baseline, candidate)
    assert report.n_paired == 42
    assert report.only_in_baseline == ["item-0", "item-1", "item-2"]
    assert report.only_in_candidate == ["item-45", "item-46", "item-47", "item-48", "item-49"]
    text = report.to_markdown()
    assert "3 items only in the baseline, left unpaired: item-0, item-1, item-2" in text
    assert "5 items only in the candidate" in text


def test_unscored_items_are_excluded_per_row() -> None:
    base, cand = shifted(20, 0.0, seed=8)
    candidate = scored_run(cand)
    broken = (
        candidate[4]
        .criteria["accuracy"]
        .model_copy(update={"status": "parse_error", "score": None})
    )
    candidate[4] = candidate[4].model_copy(
        update={"criteria": {**candidate[4].criteria, "accuracy": broken}, "overall": None}
    )
    report = gate(scored_run(base), candidate)
    by_name = {r.name: r for r in report.rows}
    assert by_name["accuracy"].difference.n == 19
    assert by_name["accuracy"].difference.n_excluded == 1
    assert by_name["clarity"].difference.n == 20


def test_another_judge_or_rubric_is_refused_unless_allowed() -> None:
    base, cand = shifted(20, 0.0, seed=9)
    other = scored_run(cand, judge="another-judge")
    with pytest.raises(JudgeMismatch, match="allow-different-judge") as refused:
        gate(scored_run(base), other)
    assert refused.value.exit_code == EXIT_INPUT
    rehashed = [j.model_copy(update={"rubric_hash": "1" * 16}) for j in scored_run(cand)]
    with pytest.raises(JudgeMismatch, match="rubric"):
        gate(scored_run(base), rehashed)
    report = gate(scored_run(base), other, allow_different_judge=True)
    assert report.different_judge and "another-judge" in report.notes[0]


def test_pairwise_runs_compare_win_rates() -> None:
    def pairs(verdicts: list[str]) -> list[Judgment]:
        return [
            judgment(f"p{i}", i, mode="pairwise", pair={"status": "ok", "verdict": v})
            for i, v in enumerate(verdicts)
        ]

    base = pairs(["A"] * 60 + ["B"] * 40)
    cand = pairs(["B"] * 30 + ["A"] * 30 + ["B"] * 30 + ["tie"] * 10)
    report = gate(base, cand)
    (row,) = report.rows
    assert row.name == "win_rate" and row.max_drop == 0.05
    assert row.baseline.value == pytest.approx(0.6)
    assert row.candidate.value == pytest.approx(0.35)
    assert report.decision == "regressed"


def test_checklist_runs_compare_the_checklist_score() -> None:
    base = [judgment(f"c{i}", i, mode="checklist", checklist_score=0.8) for i in range(30)]
    cand = [judgment(f"c{i}", i, mode="checklist", checklist_score=0.8) for i in range(30)]
    report = gate(base, cand)
    assert [r.name for r in report.rows] == ["checklist_score"]
    assert report.rows[0].difference.value == 0.0


def test_mixed_modes_and_unknown_criteria_are_errors() -> None:
    base, cand = shifted(10, 0.0, seed=10)
    pairwise = [
        judgment(f"item-{i}", i, mode="pairwise", pair={"status": "ok", "verdict": "A"})
        for i in range(10)
    ]
    with pytest.raises(ValueError, match="mode"):
        gate(scored_run(base), pairwise)
    with pytest.raises(ValueError, match="no such criterion in the runs: fluency"):
        gate(scored_run(base), scored_run(cand), criteria=["fluency"])


def test_row_values_read_expected_scores_when_asked() -> None:
    one = judgment(
        "x",
        0,
        criteria={
            "a": {"status": "ok", "score": 4.0, "expected": 3.6},
            "b": {"status": "parse_error", "score": None},
        },
        overall=None,
    )
    assert row_values(one) == {"a": 4.0, "b": None, "overall": None}
    assert row_values(one, "expected")["a"] == 3.6


def write_runs(tmp_path: Path, shift: float, seed: int = 11) -> tuple[Path, Path]:
    base, cand = shifted(150, shift, seed=seed)
    first = tmp_path / "base"
    first.mkdir()
    write_results(first / "results.jsonl", scored_run(base))
    second = write_results(tmp_path / "candidate.jsonl", scored_run(cand))
    return first, second


def test_load_run_reads_folders_and_files(tmp_path: Path) -> None:
    folder, file = write_runs(tmp_path, 0.0)
    assert len(load_run(folder).judgments) == 150
    assert load_run(file).source == str(file)


def test_cli_exit_codes_and_formats(tmp_path: Path) -> None:
    folder, file = write_runs(tmp_path, -1.0)
    result = runner.invoke(app, ["gate", str(folder), str(file), "--format", "json"])
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["decision"] == "regressed" and data["exit_code"] == 1
    assert [r["name"] for r in data["rows"]] == [*CRITERIA, "overall"]

    result = runner.invoke(app, ["gate", str(folder), str(folder), "--criterion", "accuracy"])
    assert result.exit_code == 0, result.output
    assert "pass" in result.stdout

    result = runner.invoke(app, ["gate", str(folder), str(file), "--format", "junit"])
    suite = ET.fromstring(result.stdout.split("?>", 1)[1])
    assert suite.get("failures") == "3" and len(suite.findall("testcase")) == 3

    result = runner.invoke(app, ["gate", str(folder), str(file), "--format", "markdown"])
    assert result.stdout.startswith("### jurist gate: **regressed**")


def test_cli_refuses_another_judge_with_exit_2(tmp_path: Path) -> None:
    base, cand = shifted(20, 0.0, seed=12)
    first = write_results(tmp_path / "a.jsonl", scored_run(base))
    second = write_results(tmp_path / "b.jsonl", scored_run(cand, judge="other"))
    result = runner.invoke(app, ["gate", str(first), str(second)])
    assert result.exit_code == 2
    assert "--allow-different-judge" in result.output
    allowed = runner.invoke(app, ["gate", str(first), str(second), "--allow-different-judge"])
    assert allowed.exit_code == 0, allowed.output


def test_table_render_names_the_decision_and_method() -> None:
    base, cand = shifted(40, 0.0, seed=13)
    report = gate(scored_run(base), scored_run(cand))
    console = Console(width=120, record=True)
    console.print(report.render())
    text = console.export_text()
    assert "paired bootstrap (2000 resamples, seed 0)" in text and "gate:" in text


def test_too_few_items_or_none_shared_decide_nothing() -> None:
    base, cand = shifted(9, -2.0, seed=14)
    report = gate(scored_run(base), scored_run(cand))
    assert {r.decision for r in report.rows} == {"inconclusive"}
    disjoint = scored_run(cand, [f"other-{i}" for i in range(9)])
    empty = gate(scored_run(base), disjoint)
    assert empty.rows == [] and empty.decision == "inconclusive" and empty.n_paired == 0
    assert "share no item ids" in empty.notes[0] and not empty.different_judge


def test_paired_differences_feed_the_sequential_gate() -> None:
    base, cand = shifted(200, -1.0, seed=15)
    batch = paired_differences(scored_run(base), scored_run(cand[:150]))
    assert list(batch) == [*CRITERIA, "overall"] and len(batch["accuracy"]) == 150
    assert batch["accuracy"][0] == cand[0, 0] - base[0, 0]
    rubric = rubric_from_dict(
        {
            "name": "r",
            "criteria": [
                {"id": c, "question": "?", "scale": {1: "a", 2: "b", 3: "c", 4: "d", 5: "e"}}
                for c in CRITERIA
            ],
        }
    )
    spreads = spreads_for(rubric)
    assert spreads == {"accuracy": 4.0, "clarity": 4.0, "overall": 1.0}
    assert spreads_for(rubric, "pairwise") == {"win_rate": 1.0}
    offered = iter([batch])
    report = gate_sequential(
        lambda size: next(offered, None), spreads=spreads, budget=500, max_drop={
            "accuracy": 0.2, "clarity": 0.2, "overall": 0.05,
        }, batch_size=500,
    )  # fmt: skip
    assert report.decision == "regressed" and report.n_paired == 150
