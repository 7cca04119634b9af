"""Prediction-powered inference: on synthetic runs with a biased judge the PPI++ interval
covers the people's mean about 95% of the time while the judge-only one does not, it is
narrower than labels alone when the judge is informative, and `jurist meta` reports it
beside the labels-only and judge-only figures, with advice on more labels."""

from __future__ import annotations

import json
import sys

import numpy as np
import ppi_py
import pytest
from rich.console import Console
from scipy import stats
from typer.testing import CliRunner

from judgment_builders import judgment, write_results
from jurist.cli import app
from jurist.cli.meta import register
from jurist.core.errors import ConfigError
from jurist.core.judgment import CriterionScore
from jurist.meta import Inputs, Results, criterion_data, criterion_ppi, ppi_mean, run_agreement
from jurist.meta.ppi import ppi_module, tuned_lambda

register(app)
TRUE_MEAN = 3.0


def _run(rng: np.random.Generator, n_items: int = 1000, n_labelled: int = 100):
    """People's scores around TRUE_MEAN; the judge follows them, half a point too high."""
    human = rng.normal(TRUE_MEAN, 1.0, n_items)
    judge = human + 0.5 + rng.normal(0.0, 0.5, n_items)
    labelled = np.zeros(n_items, dtype=bool)
    labelled[rng.choice(n_items, n_labelled, replace=False)] = True
    return human, judge, labelled


def _band(hits: int, n: int, p: float) -> bool:
    """Whether `hits` of `n` is within the 99.8% binomial band around p."""
    return stats.binom.ppf(0.001, n, p) <= hits <= stats.binom.ppf(0.999, n, p)


def test_ppi_covers_the_true_mean_where_the_biased_judge_alone_does_not():
    rng = np.random.default_rng(20250)
    simulations = 300
    covered = {"ppi": 0, "judge_only": 0, "labels_only": 0}
    widths: dict[str, list[float]] = {k: [] for k in covered}
    for _ in range(simulations):
        human, judge, labelled = _run(rng)
        figures = ppi_mean(human[labelled], judge[labelled], judge[~labelled], narrow_to=None)
        for key in covered:
            figure = getattr(figures, key)
            covered[key] += figure.low <= TRUE_MEAN <= figure.high
            widths[key].append(figure.high - figure.low)
    assert _band(covered["ppi"], simulations, 0.95), covered
    assert _band(covered["labels_only"], simulations, 0.95), covered
    assert covered["judge_only"] < 0.05 * simulations, covered
    # An informative judge buys width: PPI is narrower than labels alone, every time.
    assert np.mean(widths["ppi"]) < 0.7 * np.mean(widths["labels_only"])
    assert all(p < lab for p, lab in zip(widths["ppi"], widths["labels_only"], strict=True))


def test_an_uninformative_judge_costs_almost_nothing():
    rng = np.random.default_rng(3)
    human = rng.normal(TRUE_MEAN, 1.0, 1000)
    judge = rng.normal(5.0, 1.0, 1000)  # unrelated to the people, and far off
    labelled = np.arange(1000) < 150
    figures = ppi_mean(human[labelled], judge[labelled], judge[~labelled], narrow_to=None)
    assert figures.lhat < 0.2
    labels_width = figures.labels_only.high - figures.labels_only.low
    assert figures.ppi.high - figures.ppi.low < 1.05 * labels_width
    assert figures.ppi.low <= TRUE_MEAN <= figures.ppi.high


def test_the_reported_lambda_is_the_one_ppi_python_tunes():
    human, judge, labelled = _run(np.random.default_rng(7))
    y, yhat, rest = human[labelled], judge[labelled], judge[~labelled]
    lam = tuned_lambda(y, yhat, rest)
    assert 0.0 < lam <= 1.0
    own = ppi_py.ppi_mean_ci(y, yhat, rest, alpha=0.05)
    given = ppi_py.ppi_mean_ci(y, yhat, rest, alpha=0.05, lam=lam)
    np.testing.assert_allclose(np.ravel(own), np.ravel(given), rtol=1e-9)
    figures = ppi_mean(y, yhat, rest)
    assert figures.ppi.low == pytest.approx(float(np.ravel(given[0])[0]))
    assert figures.lhat == pytest.approx(lam)


def test_label_advice_halves_the_interval_when_followed():
    rng = np.random.default_rng(11)
    human, judge, labelled = _run(rng, n_items=4000, n_labelled=60)
    figures = ppi_mean(human[labelled], judge[labelled], judge[~labelled])
    advice = figures.advice
    assert advice is not None and advice.reachable
    assert advice.more_labels == advice.labelled_needed - 60 > 0
    assert 0.0 < advice.ppi_corr < 1.0
    # Label as many as advised (the first ones plus more at random) and measure the width.
    extra = rng.choice(np.flatnonzero(~labelled), advice.more_labels, replace=False)
    more = labelled.copy()
    more[extra] = True
    after = ppi_mean(human[more], judge[more], judge[~more], narrow_to=None)
    ratio = (after.ppi.high - after.ppi.low) / (figures.ppi.high - figures.ppi.low)
    assert 0.35 < ratio < 0.65


def test_advice_says_when_the_run_is_too_small_to_narrow_that_far():
    human, judge, labelled = _run(np.random.default_rng(5), n_items=200, n_labelled=120)
    advice = ppi_mean(human[labelled], judge[labelled], judge[~labelled]).advice
    assert advice is not None and not advice.reachable
    assert advice.more_labels is None and "the run has 200" in (advice.note or "")


def _results(tmp_path, n_items: int = 240, n_labelled: int = 80, seed: int = 1):
    """A Likert run: the judge scores every item one point high where people gave 1-4,
    people labelled a random sample; two items failed."""
    rng = np.random.default_rng(seed)
    human = rng.integers(1, 6, n_items).astype(float)
    judge = np.clip(human + (rng.uniform(size=n_items) < 0.6), 1, 5)
    labelled = set(rng.choice(n_items, n_labelled, replace=False).tolist())
    js = []
    for i in range(n_items):
        failed = i in (3, 4)
        p = 0.9 if i % 2 else 0.55
        rest = (1 - p) / 4
        dist = {str(k): (p if k == judge[i] else rest) for k in range(1, 6)}
        score = (
            CriterionScore(status="failed")
            if failed
            else CriterionScore(status="ok", score=judge[i], distribution=dist)
        )
        js.append(
            judgment(
                f"i{i}",
                i,
                status="failed" if failed else "ok",
                criteria={"quality": score},
                labels={"quality": human[i]} if i in labelled else {},
            )
        )
    return write_results(tmp_path / "results.jsonl", js), human, judge, labelled


def test_meta_reports_ppi_beside_labels_only_and_judge_only(tmp_path):
    path, human, judge, labelled = _results(tmp_path)
    report = run_agreement(Inputs(results=path), pass_threshold=4.0)
    block = report.criteria["quality"].ppi
    assert block is not None and block.score == "parsed"
    assert (block.n_labelled, block.n_unlabelled, block.n_excluded) == (
        len(labelled - {3, 4}),
        240 - 2 - len(labelled - {3, 4}),
        2,
    )
    ok = np.array([i not in (3, 4) for i in range(240)])
    lab = np.array([i in labelled for i in range(240)]) & ok
    assert block.mean.labels_only.value == pytest.approx(human[lab].mean())
    assert block.mean.judge_only.value == pytest.approx(judge[ok].mean())
    assert block.mean.judge_only.n == ok.sum()
    assert block.pass_threshold == 4.0
    assert block.pass_rate.labels_only.value == pytest.approx((human[lab] >= 4).mean())
    assert block.mean.advice is not None and block.pass_rate.advice is None
    text = json.dumps(report.to_dict())
    assert '"ppi"' in text and '"pass_rate"' in text
    console = Console(width=140, record=True)
    console.print(report.render())
    shown = console.export_text()
    assert "PPI++" in shown and "labels only" in shown and "judge only" in shown
    assert "pass rate (≥ 4)" in shown and "narrow to 50%" in shown


def test_fully_labelled_runs_get_no_ppi_section(tmp_path):
    path, *_ = _results(tmp_path, n_items=40, n_labelled=40)
    report = run_agreement(Inputs(results=path))
    assert report.criteria["quality"].ppi is None
    assert "ppi" not in report.to_dict()["criteria"]["quality"]


def test_too_few_labels_are_said_not_estimated(tmp_path):
    path, *_ = _results(tmp_path, n_items=60, n_labelled=6)
    block = run_agreement(Inputs(results=path)).criteria["quality"].ppi
    assert block is not None and block.mean is None and "at least 10" in block.note


def test_the_cli_prints_ppi_figures_as_json(tmp_path):
    path, *_ = _results(tmp_path)
    result = CliRunner().invoke(
        app, ["meta", str(path), "--pass-threshold", "4", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    block = json.loads(result.stdout)["criteria"]["quality"]["ppi"]
    assert set(block["mean"]) >= {"labels_only", "judge_only", "ppi", "lhat", "advice"}
    assert block["pass_threshold"] == 4.0


def test_without_ppi_python_the_report_says_how_to_install_it(tmp_path, monkeypatch):
    path, *_ = _results(tmp_path)
    monkeypatch.setitem(sys.modules, "ppi_py", None)
    with pytest.raises(ConfigError, match=r"jurist\[tune\]"):
        ppi_module()
    block = run_agreement(Inputs(results=path)).criteria["quality"].ppi
    assert block is not None and block.mean is None and "jurist[tune]" in block.note


def test_criterion_ppi_needs_a_label_field(tmp_path):
    path, *_ = _results(tmp_path)
    data = criterion_data(Results.load(path))[0]
    assert criterion_ppi(data) is not None
    unlabelled = data.__class__(**{**data.__dict__, "label_field": None})
    assert criterion_ppi(unlabelled) is None
