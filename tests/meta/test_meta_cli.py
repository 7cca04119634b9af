"""`jurist meta`, `jurist audit` and `jurist compare` on small synthetic results files,
run through the Typer app with --format json and --plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from judgment_builders import judgment
from judgment_builders import write_results as _write
from jurist.cli import app
from jurist.cli.meta import register
from jurist.core.judgment import CriterionScore, Judgment, PairVerdict

register(app)
runner = CliRunner()
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


_judgment = judgment


def _invoke(*args: str) -> Any:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# 6 prompts x 3 systems; human quality rises with the system, the judge tracks it with
# noise, one item failed and one could not be parsed.
SYSTEMS = ("s1", "s2", "s3")
HUMAN = np.array([[2, 3, 4], [1, 3, 5], [2, 2, 4], [3, 4, 5], [1, 2, 3], [2, 4, 4]], dtype=float)
JUDGE = np.array([[2, 3, 5], [2, 3, 4], [1, 3, 4], [3, 3, 5], [1, 2, 4], [2, 3, 5]], dtype=float)
BROKEN = {(1, 1): "failed", (4, 2): "parse_error"}


@pytest.fixture
def pointwise_results(tmp_path):
    js = []
    for p in range(HUMAN.shape[0]):
        for s, system in enumerate(SYSTEMS):
            status = BROKEN.get((p, s), "ok")
            score = (
                CriterionScore(
                    status="ok",
                    score=JUDGE[p, s],
                    expected=JUDGE[p, s] - 0.25 + 0.1 * s,
                    distribution={str(k): 0.2 for k in range(1, 6)},
                )
                if status == "ok"
                else CriterionScore(status=status)
            )
            js.append(
                _judgment(
                    f"p{p}/{system}",
                    len(js),
                    status=status,
                    criteria={"quality": score},
                    labels={"quality": HUMAN[p, s]},
                    metadata={"prompt": f"p{p}", "system": system},
                    response_chars=100 + 40 * s + 7 * p,
                )
            )
    return _write(tmp_path / "results.jsonl", js), js


def _ok_pairs(js):
    ok = [j for j in js if j.status == "ok"]
    judge = np.array([j.criteria["quality"].score for j in ok])
    human = np.array([j.labels["quality"] for j in ok])
    return judge, human, len(js) - len(ok)


def test_meta_json_and_plots(pointwise_results, tmp_path):
    path, js = pointwise_results
    plots = tmp_path / "plots"
    report = _invoke("meta", path, "--format", "json", "--resamples", "200", "--plots", plots)
    entry = report["criteria"]["quality"]
    judge, human, excluded = _ok_pairs(js)
    assert entry["parsed"]["spearman"]["value"] == pytest.approx(
        stats.spearmanr(judge, human).statistic, abs=1e-9
    )
    assert entry["parsed"]["spearman"]["n"] == len(judge)
    assert entry["parsed"]["spearman"]["n_excluded"] == excluded == 2
    assert entry["status"] == {"ok": 16, "parse_error": 1, "failed": 1, "missing": 0}
    assert entry["parsed"]["exact"]["value"] == pytest.approx(np.mean(judge == human))
    assert "expected" in entry and entry["expected"]["pearson"]["n"] == 16
    names = {Path(p).name for p in report["plots"]}
    assert {"scatter_quality.png", "scatter_quality_expected.png", "hist_quality.png"} <= names
    assert "confusion_quality.png" in names
    for p in report["plots"]:
        assert Path(p).read_bytes()[:8] == PNG_MAGIC


def test_meta_table_output_states_n(pointwise_results):
    path, _ = pointwise_results
    result = runner.invoke(app, ["meta", str(path), "--resamples", "200"])
    assert result.exit_code == 0, result.output
    assert "Spearman" in result.output and "n=16" in result.output
    assert "parse_error 1" in result.output and "failed 1" in result.output


def test_meta_by_group_and_svg_plots(pointwise_results, tmp_path):
    path, _ = pointwise_results
    report = _invoke(
        "meta",
        path,
        "--by",
        "system",
        "--format",
        "json",
        "--resamples",
        "200",
        "--plots",
        tmp_path / "svg",
        "--plot-format",
        "svg",
    )
    groups = report["criteria"]["quality"]["groups"]
    assert set(groups) == set(SYSTEMS)
    assert [groups[s]["n_items"] for s in SYSTEMS] == [6, 6, 6]
    assert groups["s2"]["status"]["failed"] == 1
    assert all(p.endswith(".svg") for p in report["plots"])
    assert "<svg" in Path(report["plots"][0]).read_text()


def test_meta_with_labels_file_and_map(pointwise_results, tmp_path):
    path, js = pointwise_results
    labels = tmp_path / "labels.csv"
    lines = ["item,rater,overall"]
    for j in js:
        value = j.labels["quality"]
        lines += [f"{j.item_id},a,{value}", f"{j.item_id},b,{min(value + 1, 5)}"]
    labels.write_text("\n".join(lines) + "\n")
    report = _invoke(
        "meta",
        path,
        "--labels",
        labels,
        "--label-id-field",
        "item",
        "--label-field",
        "overall",
        "--annotator-field",
        "rater",
        "--map",
        "quality=overall",
        "--format",
        "json",
        "--resamples",
        "200",
    )
    entry = report["criteria"]["quality"]
    assert entry["label_field"] == "overall" and entry["annotators"] == 2
    ok = [j for j in js if j.status == "ok"]
    mean = np.array([(j.labels["quality"] + min(j.labels["quality"] + 1, 5)) / 2 for j in ok])
    judge = np.array([j.criteria["quality"].score for j in ok])
    assert entry["parsed"]["pearson"]["value"] == pytest.approx(
        stats.pearsonr(judge, mean).statistic, abs=1e-9
    )
    assert entry["parsed"]["alpha_ordinal"]["among_annotators"]["value"] is not None
    assert report["labels"]["matched"] == len(js)


def test_compare_pointwise_json_and_forest(pointwise_results, tmp_path):
    path, _ = pointwise_results
    report = _invoke(
        "compare",
        path,
        "--by",
        "system",
        "--prompt-field",
        "prompt",
        "--baseline",
        "s1",
        "--format",
        "json",
        "--resamples",
        "200",
        "--plots",
        tmp_path / "p",
    )
    entry = report["criteria"]["quality"]
    assert entry["ranking"] == ["s3", "s2", "s1"]
    s3 = [JUDGE[p, 2] for p in range(6) if (p, 2) not in BROKEN]
    assert entry["means"]["s3"]["value"] == pytest.approx(np.mean(s3))
    diffs = {(d["name_x"], d["name_y"]): d for d in entry["differences"]}
    assert set(diffs) == {("s3", "s1"), ("s2", "s1")}
    pairs = [(JUDGE[p, 2], JUDGE[p, 0]) for p in range(6) if (p, 2) not in BROKEN]
    test = stats.ttest_rel(*zip(*pairs, strict=True))
    d = diffs[("s3", "s1")]
    assert d["n"] == 5 and d["p_value"] == pytest.approx(test.pvalue, abs=1e-9)
    assert d["significant"] is True and "significant at α=0.05" in d["sentence"]
    assert d["se_paired"] < d["se_naive"]
    # Holm over the two comparisons: the smaller p doubles, the larger stays (step-down).
    other = diffs[("s2", "s1")]
    assert d["p_holm"] == pytest.approx(2 * d["p_value"])
    assert other["p_holm"] == pytest.approx(max(2 * d["p_value"], other["p_value"]))
    assert entry["multiple_comparisons"].startswith("2 of 2 differences significant")
    assert Path(report["plots"][0]).name == "forest_quality.png"
    assert Path(report["plots"][0]).read_bytes()[:8] == PNG_MAGIC


def test_compare_says_not_significant_in_words(pointwise_results):
    path, _ = pointwise_results
    # Paired p-values: s3-s1 0.0004, s3-s2 0.006, s2-s1 0.034; at α=0.01 only the last
    # is not significant.
    result = runner.invoke(
        app,
        [
            "compare",
            str(path),
            "--by",
            "system",
            "--prompt-field",
            "prompt",
            "--resamples",
            "200",
            "--all-pairs",
            "--alpha",
            "0.01",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = {
        line.split(" =")[0].strip(): line for line in result.output.splitlines() if " = " in line
    }
    assert "n=5 prompts: not significant at α=0.01" in lines["s2 - s1"]
    assert ": significant at α=0.01" in lines["s3 - s1"]
    assert ": significant at α=0.01" in lines["s3 - s2"]


def test_audit_pointwise_json(pointwise_results, tmp_path):
    path, js = pointwise_results
    report = _invoke(
        "audit",
        path,
        "--prompt-field",
        "prompt",
        "--judge-family",
        "s3",
        "--model-field",
        "system",
        "--format",
        "json",
        "--resamples",
        "200",
        "--plots",
        tmp_path / "a",
    )
    entry = report["criteria"]["quality"]
    judge, _, _ = _ok_pairs(js)
    assert entry["scale_use"]["counts"] == [int((judge == k).sum()) for k in range(1, 6)]
    assert entry["scale_use"]["n"] == 16
    assert entry["self_preference"]["n_self"] == 5
    assert entry["self_preference"]["relative_to_human"] is True
    assert Path(report["plots"][0]).name == "scale_use_quality.png"


# ---------------------------------------------------------------- pairwise


def _pairs(tmp_path: Path) -> tuple[Path, list[Judgment]]:
    # (label, verdict_ab, verdict_ba, bias, len_a, len_b)
    rows = [
        ("A", "A", "A", "length", 300, 100),
        ("B", "A", "B", "length", 400, 120),
        ("B", "A", "A", "length", 500, 90),
        ("A", "A", "A", "concreteness", 120, 110),
        ("B", "B", "B", "concreteness", 80, 200),
        ("tie", "A", "A", "concreteness", 100, 100),
        ("A", "B", "A", "empty", 50, 60),
        ("B", "B", "B", "empty", 90, 95),
    ]
    js = []
    for i, (label, ab, ba, bias, la, lb) in enumerate(rows):
        js.append(
            _judgment(
                f"x{i}",
                i,
                mode="pairwise",
                pair=PairVerdict(
                    status="ok",
                    verdict=ab if ab == ba else "tie",
                    verdict_ab=ab,
                    verdict_ba=ba,
                    consistent=ab == ba,
                ),
                labels={"preference": label},
                metadata={"bias": bias},
                response_chars=la,
                response_b_chars=lb,
            )
        )
    js.append(
        _judgment(
            "x8",
            8,
            mode="pairwise",
            status="failed",
            pair=PairVerdict(status="failed", error="timeout"),
            labels={"preference": "A"},
            metadata={"bias": "empty"},
        )
    )
    return _write(tmp_path / "pairs.jsonl", js), js


def test_meta_pairwise_json(tmp_path):
    path, _ = _pairs(tmp_path)
    report = _invoke(
        "meta",
        path,
        "--by",
        "bias",
        "--format",
        "json",
        "--resamples",
        "200",
        "--plots",
        tmp_path / "plots",
    )
    pair = report["pairwise"]
    # Merged verdicts: A, tie, A, A, B, A, tie, B against labels A, B, B, A, B, tie, A, B.
    assert pair["accuracy_excluding_ties"]["value"] == pytest.approx(4 / 7)
    assert pair["accuracy_excluding_ties"]["n"] == 7
    assert pair["accuracy_excluding_ties"]["n_excluded"] == 2  # the tie label, the failure
    assert pair["accuracy_ties_half"]["value"] == pytest.approx((4 + 0.5 * 3) / 8)
    assert pair["position_consistency"]["value"] == pytest.approx(6 / 8)
    # The AB order alone: A, A, A, A, B, (tie label), B, B -> 4 of 7 decisive labels.
    assert pair["accuracy_original_order_only"]["value"] == pytest.approx(4 / 7)
    assert pair["status"]["failed"] == 1
    assert pair["confusion"]["counts"] == [[2, 0, 1], [1, 2, 1], [1, 0, 0]]
    assert pair["groups"]["length"]["n_items"] == 3
    assert pair["groups"]["empty"]["status"]["failed"] == 1
    assert [Path(p).name for p in report["plots"]] == ["confusion.png"]


def test_audit_pairwise_by_bias_json(tmp_path):
    path, _ = _pairs(tmp_path)
    report = _invoke(
        "audit",
        path,
        "--by",
        "bias",
        "--format",
        "json",
        "--resamples",
        "200",
        "--plots",
        tmp_path / "plots",
    )
    pair = report["pairwise"]
    # First slot: ab picks A in 5 of 8, ba (first slot = B) picks B in 3 of 8; no ties.
    assert pair["position"]["first_slot_rate"]["value"] == pytest.approx(8 / 16)
    assert pair["position"]["flip_rate"]["value"] == pytest.approx(2 / 8)
    longer = pair["verbosity"]["longer_preferred"]
    # Decisive merged verdicts on unequal lengths: x0 A(longer), x2 A(longer), x3 A(longer),
    # x4 B(longer), x7 B(longer) -> 5 of 5.
    assert longer["judge"]["value"] == pytest.approx(1.0) and longer["judge"]["n"] == 5
    assert pair["groups"]["length"]["position"]["flip_rate"]["value"] == pytest.approx(1 / 3)
    assert Path(report["plots"][0]).name == "position_bias.png"


def test_bad_input_is_one_clear_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    good = _judgment("a", 0, criteria={"q": CriterionScore(status="ok", score=3.0)})
    path.write_text(good.model_dump_json() + "\n{oops\n")
    result = runner.invoke(app, ["meta", str(path)])
    assert result.exit_code == 2
    assert "bad.jsonl line 2: not valid JSON" in result.output
    result = runner.invoke(app, ["meta", str(tmp_path / "nope.jsonl")])
    assert result.exit_code == 2 and "file not found" in result.output
    _write(path, [good])
    result = runner.invoke(app, ["meta", str(path), "--by", "scenario"])
    assert result.exit_code == 2 and "field 'scenario'" in result.output


def test_single_criterion_takes_the_single_label_field(pointwise_results, tmp_path):
    _, js = pointwise_results
    renamed = [
        j.model_copy(update={"labels": {"human": j.labels["quality"], "other": 1.0}}) for j in js
    ]
    moved = _write(tmp_path / "renamed.jsonl", renamed)
    report = _invoke(
        "meta", moved, "--label-field", "human", "--format", "json", "--resamples", "200"
    )
    assert report["criteria"]["quality"]["label_field"] == "human"
    judge, human, _ = _ok_pairs(js)
    assert report["criteria"]["quality"]["parsed"]["kendall"]["value"] == pytest.approx(
        stats.kendalltau(judge, human).statistic, abs=1e-9
    )


def test_table_shows_the_human_ceiling_with_two_raters(pointwise_results, tmp_path, monkeypatch):
    from jurist.cli.output import console

    monkeypatch.setattr(console, "width", 200)
    path, js = pointwise_results
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        "".join(
            json.dumps({"id": j.item_id, "quality": [j.labels["quality"], 6 - j.labels["quality"]]})
            + "\n"
            for j in js
        )
    )
    result = runner.invoke(app, ["meta", str(path), "--labels", str(labels), "--resamples", "200"])
    assert result.exit_code == 0, result.output
    assert "among raters (human ceiling)" in result.output
    assert "at most 2 ratings per item" in result.output


def test_by_criterion_is_refused_for_pairs_and_mixed_modes_are_refused(tmp_path):
    path, js = _pairs(tmp_path)
    result = runner.invoke(app, ["meta", str(path), "--by", "criterion"])
    assert result.exit_code == 2 and "needs pointwise results" in result.output
    point = _judgment("p", 99, criteria={"q": CriterionScore(status="ok", score=2.0)})
    mixed = _write(tmp_path / "mixed.jsonl", [*js, point])
    result = runner.invoke(app, ["audit", str(mixed)])
    assert result.exit_code == 2
    assert (
        "mixes judging modes" in result.output and "pointwise (first on line 10)" in result.output
    )
