"""`jurist meta --escalate-target`: the judge's confidence read from its results (score
distributions, pairwise probabilities), the guaranteed threshold, the kept share on the
labelled items and on the whole run, rendered and in the JSON."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rich.console import Console
from typer.testing import CliRunner

from judgment_builders import judgment, write_results
from jurist.cli import app
from jurist.cli.meta import register
from jurist.core.judgment import CriterionScore, PairVerdict
from jurist.jury.escalate import trust_threshold
from jurist.meta import Inputs, Results, criterion_data, criterion_escalation, run_agreement
from jurist.meta.escalate import pair_confidence, score_confidence

register(app)


def _pointwise(tmp_path, n: int = 800, labelled_every: int = 2, seed: int = 0):
    """A 1-5 judge whose top probability is its chance of matching the people's score;
    every `labelled_every`-th item is labelled, one item failed."""
    rng = np.random.default_rng(seed)
    human = rng.integers(1, 6, n).astype(float)
    confidence = 0.5 + 0.5 * rng.beta(2.0, 1.0, n)
    right = rng.uniform(size=n) < confidence
    off = np.where(human < 5, human + 1, human - 1)
    judge = np.where(right, human, off)
    js = []
    for i in range(n):
        rest = (1 - confidence[i]) / 4
        dist = {str(k): (confidence[i] if k == judge[i] else rest) for k in range(1, 6)}
        score = (
            CriterionScore(status="failed")
            if i == 1
            else CriterionScore(status="ok", score=judge[i], distribution=dist)
        )
        js.append(
            judgment(
                f"i{i}",
                i,
                status="failed" if i == 1 else "ok",
                criteria={"quality": score},
                labels={"quality": human[i]} if i % labelled_every == 0 else {},
            )
        )
    path = write_results(tmp_path / "results.jsonl", js)
    return path, human, judge, confidence


def test_score_confidence_is_the_probability_of_the_chosen_score(tmp_path):
    path, _, _, confidence = _pointwise(tmp_path, n=20)
    found = score_confidence(Results.load(path), "quality")
    assert np.isnan(found[1])
    np.testing.assert_allclose(np.delete(found, 1), np.delete(confidence, 1))


def test_meta_reports_the_guaranteed_threshold_and_the_kept_share(tmp_path):
    path, human, judge, confidence = _pointwise(tmp_path)
    report = run_agreement(Inputs(results=path), escalate_target=0.9, escalate_alpha=0.1)
    block = report.criteria["quality"].escalation
    assert block is not None and block.threshold is not None
    # The same threshold as the library function on the labelled, scored items.
    keep = (np.arange(800) % 2 == 0) & (np.arange(800) != 1)
    agree = (judge == human).astype(float)
    direct = trust_threshold(confidence[keep], agree[keep], 0.9, alpha=0.1)
    assert block.threshold == direct.threshold
    assert block.kept.value == pytest.approx(direct.kept.value) and block.kept.n == keep.sum()
    assert block.agreement.value == pytest.approx(direct.agreement.value)
    assert block.lower_bound >= 0.9
    # On the whole run: every answered item, kept when its confidence reaches the threshold.
    ok = np.arange(800) != 1
    assert block.run_items == ok.sum()
    assert block.run_kept == int((confidence[ok] >= block.threshold).sum())
    data = report.to_dict()["criteria"]["quality"]["escalation"]
    assert data["target"] == 0.9 and data["tolerance"] == 0.5
    console = Console(width=160, record=True)
    console.print(report.render())
    shown = console.export_text()
    assert "escalation for agreement ≥ 0.9" in shown
    assert f"{block.run_kept} of {block.run_items} verdicts kept" in shown


def test_without_a_target_there_is_no_escalation_section(tmp_path):
    path, *_ = _pointwise(tmp_path, n=60)
    report = run_agreement(Inputs(results=path))
    assert report.criteria["quality"].escalation is None
    assert "escalation" not in report.to_dict()["criteria"]["quality"]


def test_an_unreachable_target_escalates_everything(tmp_path):
    path, *_ = _pointwise(tmp_path, n=80)
    block = (
        run_agreement(Inputs(results=path), escalate_target=0.999).criteria["quality"].escalation
    )
    assert block is not None and block.threshold is None and block.run_kept == 0
    console = Console(width=160, record=True)
    console.print(*block.render())
    assert "escalate every verdict" in console.export_text()


def _pairwise(tmp_path, n: int = 300, seed: int = 1):
    rng = np.random.default_rng(seed)
    truth = rng.choice(["A", "B"], n)
    sure = 0.5 + 0.5 * rng.beta(2.0, 1.0, n)
    right = rng.uniform(size=n) < sure
    js = []
    for i in range(n):
        verdict = truth[i] if right[i] else {"A": "B", "B": "A"}[truth[i]]
        if i % 10 == 3:
            verdict = "tie"
        p_a = sure[i] if verdict == "A" else 1 - sure[i] if verdict == "B" else 0.5
        pair = PairVerdict(
            status="ok", verdict=verdict, verdict_ab=verdict, verdict_ba=verdict, p_a=p_a
        )
        js.append(
            judgment(f"p{i}", i, mode="pairwise", pair=pair, labels={"preference": str(truth[i])})
        )
    return write_results(tmp_path / "pairs.jsonl", js), sure


def test_pairwise_confidence_and_escalation(tmp_path):
    path, sure = _pairwise(tmp_path)
    results = Results.load(path)
    found = pair_confidence(results)
    ties = np.arange(300) % 10 == 3
    assert np.isnan(found[ties]).all()
    np.testing.assert_allclose(found[~ties], sure[~ties])
    report = run_agreement(Inputs(results=path), escalate_target=0.85)
    block = report.pairwise.escalation
    assert block is not None and block.threshold is not None and block.kept.n == 300
    assert block.run_kept <= (~ties).sum()
    assert "tolerance" not in report.to_dict()["pairwise"]["escalation"]


def test_the_cli_takes_the_target(tmp_path):
    path, *_ = _pointwise(tmp_path)
    result = CliRunner().invoke(
        app, ["meta", str(path), "--escalate-target", "0.9", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    block = json.loads(result.stdout)["criteria"]["quality"]["escalation"]
    assert block["threshold"] is not None and 0 < block["kept"]["value"] <= 1


def test_unlabelled_criteria_get_no_escalation(tmp_path):
    path, *_ = _pointwise(tmp_path, n=40)
    data = criterion_data(Results.load(path))[0]
    unlabelled = data.__class__(**{**data.__dict__, "label_field": None})
    assert criterion_escalation(Results.load(path), unlabelled, 0.9) is None
