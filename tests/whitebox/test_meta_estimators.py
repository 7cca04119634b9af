"""`jurist meta` shows a white-box judge's estimators side by side, through the same code
`jurist calibrate compare` uses; figures checked against scipy on synthetic results."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from jurist.cli import app
from jurist.cli.meta import register
from jurist.core.judgment import CriterionScore, PointwiseJudgment
from jurist.meta import Inputs, Settings, run_agreement
from jurist.meta.estimators import estimators_report

register(app)
runner = CliRunner()
N_ITEMS, N_DOCS = 48, 8
NAMES = ["parsed", "expected", "LAGER", "learned head"]


def _columns() -> dict[str, np.ndarray]:
    """Two annotators per item; LAGER and the head track their mean, parsed and expected
    hardly do."""
    rng = np.random.default_rng(7)
    raters = rng.integers(1, 6, size=(2, N_ITEMS)).astype(float)
    human = raters.mean(axis=0)
    return {
        "raters": raters,
        "human": human,
        "parsed": rng.integers(1, 6, size=N_ITEMS).astype(float),
        "expected": rng.uniform(1, 5, size=N_ITEMS),
        "LAGER": human + rng.normal(0, 1.5, size=N_ITEMS),
        "learned head": human + rng.normal(0, 0.7, size=N_ITEMS),
    }


def _write(path: Path, columns: dict[str, np.ndarray], *, whitebox: bool = True) -> Path:
    lines = []
    for i in range(N_ITEMS):
        extra = (
            {"expected_lager": columns["LAGER"][i], "probe": columns["learned head"][i]}
            if whitebox
            else {}
        )
        score = CriterionScore(
            status="ok",
            score=columns["parsed"][i],
            expected=columns["expected"][i],
            **extra,
        )
        judgment = PointwiseJudgment(
            item_id=f"item{i}",
            index=i,
            status="ok",
            judge="hf:embedded",
            rubric="r",
            rubric_hash="h",
            labels={"fluency": [float(r) for r in columns["raters"][:, i]]},
            metadata={"doc_id": f"doc{i % N_DOCS}"},
            criteria={"fluency": score},
        )
        lines.append(judgment.model_dump_json())
    path.write_text("\n".join(lines) + "\n")
    return path


def _within(scores: np.ndarray, human: np.ndarray) -> float:
    docs = np.arange(N_ITEMS) % N_DOCS
    rhos = [stats.spearmanr(scores[docs == d], human[docs == d]).statistic for d in range(N_DOCS)]
    return float(np.nanmean(rhos))


def test_meta_report_carries_every_estimator_matching_scipy(tmp_path: Path) -> None:
    columns = _columns()
    results = _write(tmp_path / "results.jsonl", columns)
    report = run_agreement(
        Inputs(results=results), within="doc_id", settings=Settings(n_resamples=300)
    )
    block = report.criteria["fluency"].estimators  # type: ignore[index]
    assert block is not None
    assert [row.name for row in block.estimators] == NAMES
    assert (block.baseline, block.n_items, block.n_groups) == ("expected", N_ITEMS, N_DOCS)
    human = columns["human"]
    pooled = {n: stats.spearmanr(columns[n], human).statistic for n in NAMES}
    for row in block.estimators:
        assert row.pooled.value == pytest.approx(pooled[row.name])
        assert row.within.value == pytest.approx(_within(columns[row.name], human))
        assert row.pooled.low <= row.pooled.value <= row.pooled.high  # type: ignore[operator]
        if row.name == "expected":
            assert row.pooled_diff is None
        else:
            assert row.pooled_diff is not None and row.within_diff is not None
            assert row.pooled_diff.value == pytest.approx(pooled[row.name] - pooled["expected"])
    head = block.estimators[3]
    assert head.pooled_diff is not None and head.pooled_diff.low > 0  # type: ignore[operator]
    exported = json.loads(report.model_dump_json())["criteria"]["fluency"]["estimators"]
    assert exported["group_field"] == "doc_id"
    assert [row["name"] for row in exported["estimators"]] == NAMES


def test_calibrate_compare_and_meta_give_the_same_figures(tmp_path: Path) -> None:
    results = _write(tmp_path / "results.jsonl", _columns())
    meta = run_agreement(Inputs(results=results), within="doc_id", settings=Settings(seed=3))
    block = meta.criteria["fluency"].estimators  # type: ignore[index]
    (comparison,) = estimators_report(results, group_field="doc_id", seed=3).comparisons
    assert block is not None
    for row, figure in zip(block.estimators, comparison.figures, strict=True):
        assert row.name == figure.name
        assert (row.within.low, row.within.high) == (figure.within.low, figure.within.high)
        assert row.pooled.low == figure.pooled.low


def test_without_a_group_field_every_item_is_its_own_group(tmp_path: Path) -> None:
    results = _write(tmp_path / "results.jsonl", _columns())
    report = run_agreement(Inputs(results=results), settings=Settings(n_resamples=200))
    block = report.criteria["fluency"].estimators  # type: ignore[index]
    assert block is not None and block.n_groups == N_ITEMS and block.group_field is None
    assert all(row.within.value is None for row in block.estimators)


def test_black_box_results_show_no_estimator_table(tmp_path: Path) -> None:
    results = _write(tmp_path / "results.jsonl", _columns(), whitebox=False)
    report = run_agreement(Inputs(results=results), settings=Settings(n_resamples=200))
    assert report.criteria["fluency"].estimators is None  # type: ignore[index]
    assert "estimators" not in json.loads(report.model_dump_json())["criteria"]["fluency"]


def _invoke(*args: Any) -> Any:
    return runner.invoke(app, [str(a) for a in args])


def test_cli_meta_renders_and_exports_the_estimators(tmp_path: Path) -> None:
    results = _write(tmp_path / "results.jsonl", _columns())
    shown = _invoke("meta", results, "--within", "doc_id", "--resamples", 200)
    assert shown.exit_code == 0, shown.output
    assert "estimators' Spearman" in shown.stdout and "learned head" in shown.stdout
    exported = _invoke("meta", results, "--within", "doc_id", "--format", "json")
    assert exported.exit_code == 0, exported.output
    block = json.loads(exported.stdout)["criteria"]["fluency"]["estimators"]
    assert block["n_groups"] == N_DOCS


def test_cli_meta_names_an_unknown_group_field(tmp_path: Path) -> None:
    results = _write(tmp_path / "results.jsonl", _columns())
    failed = _invoke("meta", results, "--within", "source")
    assert failed.exit_code != 0
    assert "source" in failed.output and "doc_id" in failed.output


def test_cli_calibrate_compare_prints_what_meta_exports(tmp_path: Path) -> None:
    results = _write(tmp_path / "results.jsonl", _columns())
    compared = _invoke("calibrate", "compare", results, "--group", "doc_id", "--json")
    assert compared.exit_code == 0, compared.output
    (criterion,) = json.loads(compared.stdout)["criteria"]
    meta = json.loads(_invoke("meta", results, "--within", "doc_id", "--format", "json").stdout)
    block = meta["criteria"]["fluency"]["estimators"]["estimators"]
    for ours, theirs in zip(criterion["figures"], block, strict=True):
        assert ours["name"] == theirs["name"]
        assert ours["pooled"] == pytest.approx(theirs["pooled"])
        assert ours["within_diff"] == theirs.get("within_diff")
