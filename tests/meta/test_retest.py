"""Test-retest agreement of two runs (`jurist meta RUN_A RUN_B`), checked against scipy and
direct computation on synthetic runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from typer.testing import CliRunner

from judgment_builders import judgment, write_results
from jurist.cli import app
from jurist.core.judgment import Judgment
from jurist.meta import MetaInputError, Settings
from jurist.meta.retest import RetestReport, run_retest


def _pointwise(item_id: str, index: int, scores: dict[str, float | None]) -> Judgment:
    criteria = {
        cid: (
            {"status": "ok", "score": score, "raw": f'{{"score": {score}}}'}
            if score is not None
            else {"status": "parse_error", "raw": "no idea"}
        )
        for cid, score in scores.items()
    }
    status = "ok" if all(s is not None for s in scores.values()) else "parse_error"
    return judgment(item_id, index, criteria=criteria, status=status)


def _runs(tmp_path: Path, seed: int = 3, n: int = 60) -> tuple[Path, Path, dict]:
    """Run A and run B of the same items: B's scores are A's with some moved by one point,
    one parse error in B, and one item only in each run."""
    rng = np.random.default_rng(seed)
    a_q = rng.integers(1, 6, size=n).astype(float)
    moved = rng.random(n) < 0.3
    b_q = np.clip(a_q + moved * rng.choice([-1, 1], size=n), 1, 5)
    a_c = rng.integers(1, 4, size=n).astype(float)
    b_c = a_c.copy()
    first = [_pointwise(f"i{k}", k, {"q": a_q[k], "c": a_c[k]}) for k in range(n)] + [
        _pointwise("only-a", n, {"q": 3.0, "c": 1.0})
    ]
    second = [
        _pointwise(f"i{k}", k, {"q": None if k == 0 else b_q[k], "c": b_c[k]}) for k in range(n)
    ] + [_pointwise("only-b", n, {"q": 3.0, "c": 1.0})]
    a = write_results(tmp_path / "a.jsonl", first)
    b = write_results(tmp_path / "b.jsonl", second)
    return a, b, {"q": (a_q[1:], b_q[1:]), "c": (a_c, b_c)}


def _wilson(hits: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def test_figures_match_scipy_and_direct_computation(tmp_path: Path) -> None:
    a, b, truth = _runs(tmp_path)
    report = run_retest(a, b, settings=Settings(n_resamples=500, seed=1))
    x, y = truth["q"]
    q = report.criteria["q"]
    assert (q.n_both, q.n_excluded) == (len(x), 1)
    assert q.spearman.value == pytest.approx(stats.spearmanr(x, y).statistic)
    assert q.spearman.low < q.spearman.value < q.spearman.high
    hits = int((x == y).sum())
    assert q.exact.value == pytest.approx(hits / len(x))
    assert (q.exact.low, q.exact.high) == pytest.approx(_wilson(hits, len(x)))
    assert q.changed == len(x) - hits
    assert q.mean_abs_change.value == pytest.approx(np.abs(x - y).mean())
    assert q.mean_abs_change.low <= q.mean_abs_change.value <= q.mean_abs_change.high
    assert q.identical_raw == hits


def test_a_criterion_that_never_moved_agrees_fully(tmp_path: Path) -> None:
    a, b, truth = _runs(tmp_path)
    c = run_retest(a, b).criteria["c"]
    assert c.n_both == len(truth["c"][0]) and c.changed == 0
    assert c.exact.value == 1.0 and c.mean_abs_change.value == 0.0
    assert c.spearman.value == pytest.approx(1.0)


def test_items_in_one_run_only_are_counted_and_named(tmp_path: Path) -> None:
    a, b, _ = _runs(tmp_path)
    report = run_retest(a, b)
    assert (report.n_first, report.n_second, report.n_shared) == (61, 61, 60)
    assert (report.only_in_first, report.only_in_second) == (1, 1)
    assert report.examples_only_in_first == ["only-a"]
    assert report.examples_only_in_second == ["only-b"]
    assert report.notes == []


def test_report_renders_and_round_trips_as_json(tmp_path: Path) -> None:
    a, b, _ = _runs(tmp_path)
    report = run_retest(a, b)
    again = RetestReport.model_validate_json(report.model_dump_json())
    assert again == report
    data = report.to_dict()
    assert set(data["criteria"]) == {"q", "c"}
    assert set(data["criteria"]["q"]["spearman"]) >= {"value", "low", "high", "n"}


def test_pairwise_runs_compare_verdicts(tmp_path: Path) -> None:
    def pair(k: int, verdict: str) -> Judgment:
        body = {"status": "ok", "verdict": verdict, "raw_ab": verdict}
        return judgment(f"p{k}", k, mode="pairwise", pair=body)

    first = [pair(k, v) for k, v in enumerate(["A", "A", "B", "B", "A", "tie"])]
    second = [pair(k, v) for k, v in enumerate(["A", "B", "B", "B", "A", "tie"])]
    report = run_retest(
        write_results(tmp_path / "a.jsonl", first), write_results(tmp_path / "b.jsonl", second)
    )
    verdict = report.criteria["verdict"]
    assert verdict.n_both == 6 and verdict.changed == 1
    assert verdict.exact.value == pytest.approx(5 / 6)
    assert verdict.mean_abs_change.value == pytest.approx(1 / 6)


def test_different_judges_are_noted(tmp_path: Path) -> None:
    a, _, _ = _runs(tmp_path)
    other = [judgment("i1", 0, judge="another-judge", criteria={"q": {"status": "ok", "score": 2}})]
    report = run_retest(a, write_results(tmp_path / "other.jsonl", other))
    assert any("different judges" in note for note in report.notes)


def test_a_missing_run_names_it(tmp_path: Path) -> None:
    a, _, _ = _runs(tmp_path)
    with pytest.raises(MetaInputError, match="nope"):
        run_retest(a, tmp_path / "nope", store=tmp_path / "s.sqlite")


def test_cli_meta_with_two_runs_reports_retest(tmp_path: Path) -> None:
    a, b, truth = _runs(tmp_path)
    result = CliRunner().invoke(app, ["meta", str(a), str(b), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["command"] == "retest" and data["only_in_first"] == 1
    x, y = truth["q"]
    assert data["criteria"]["q"]["spearman"]["value"] == pytest.approx(
        stats.spearmanr(x, y).statistic
    )
    table = CliRunner().invoke(app, ["meta", str(a), str(b)])
    assert table.exit_code == 0 and "test-retest" in table.output and "only-a" in table.output


def test_cli_meta_with_one_run_is_unchanged(tmp_path: Path) -> None:
    a, _, _ = _runs(tmp_path)
    result = CliRunner().invoke(app, ["meta", str(a), "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["command"] != "retest"
