"""`jurist meta` on a run graded with a judge profile: the intervals' empirical coverage of
the labels and their width, and `--review-width` listing the items wider than it."""

from __future__ import annotations

import json

import numpy as np
from rich.console import Console
from typer.testing import CliRunner

from judgment_builders import judgment, write_results
from jurist.cli import app
from jurist.cli.meta import register
from jurist.core.judgment import CriterionScore
from jurist.meta import Inputs, run_agreement

register(app)


def profiled_run(tmp_path, n: int = 40):
    """Items whose interval has radius 0.5 (every 4th: 1.5); the label is inside the
    interval on every item but those with index % 5 == 0."""
    rng = np.random.default_rng(0)
    human = rng.integers(1, 6, n).astype(float)
    js = []
    for i in range(n):
        centre = human[i] + (2.0 if i % 5 == 0 else 0.2)
        radius = 1.5 if i % 4 == 0 else 0.5
        extras = {"calibrated": centre, "interval": [centre - radius, centre + radius]}
        score = CriterionScore(status="ok", score=3, expected=3.1, extras=extras)
        js.append(judgment(f"i{i}", i, criteria={"q": score}, labels={"q": human[i]}))
    return write_results(tmp_path / "results.jsonl", js), human


def test_meta_reports_the_intervals_coverage_and_width(tmp_path):
    path, _ = profiled_run(tmp_path)
    block = run_agreement(Inputs(results=path)).criteria["q"].intervals
    assert block is not None and block.run_items == 40
    # Misses: index % 5 == 0, whose centre is 2.0 off (wider than either radius).
    missed = [i for i in range(40) if i % 5 == 0]
    assert block.coverage.n == 40 and block.coverage.value == (40 - len(missed)) / 40
    widths = [3.0 if i % 4 == 0 else 1.0 for i in range(40)]
    assert block.width.value == np.mean(widths)
    assert block.review is None  # listed only when asked for


def test_review_width_lists_the_wide_items_in_the_json_and_the_table(tmp_path):
    path, _ = profiled_run(tmp_path)
    report = run_agreement(Inputs(results=path), review_width=2.0)
    block = report.criteria["q"].intervals
    assert block is not None and block.review == [f"i{i}" for i in range(0, 40, 4)]
    console = Console(width=200, record=True)
    console.print(report.render())
    assert "10 items wider than 2 for human review: i0, i4" in console.export_text()
    result = CliRunner().invoke(app, ["meta", str(path), "--review-width", "2", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["criteria"]["q"]["intervals"]
    assert data["review"][:2] == ["i0", "i4"] and data["coverage"]["n"] == 40


def test_a_run_without_a_profile_has_no_interval_section(tmp_path):
    js = [
        judgment(f"i{i}", i, criteria={"q": CriterionScore(status="ok", score=i % 5 + 1)},
                 labels={"q": float(i % 5 + 1)})
        for i in range(10)
    ]  # fmt: skip
    path = write_results(tmp_path / "results.jsonl", js)
    report = run_agreement(Inputs(results=path), review_width=1.0)
    assert report.criteria["q"].intervals is None
    assert "intervals" not in report.to_dict()["criteria"]["q"]
