"""Criterion weights and juries as `tune` candidates: the whitening matches a reference
eigendecomposition, nothing of an outer fold's test items reaches its weights, a noise
juror is not weighted up, and `jurist tune --judge A --judge B --overall-field F` reaches
the jury and weighting candidates through the CLI (real servers on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
from typer.testing import CliRunner

from jurist.cli import app
from jurist.core.errors import ConfigError
from jurist.core.rubric import load_rubric
from jurist.session import JudgeSetup
from jurist.tune import Profile, Provenance, Sample, load_profile, nested_cv
from jurist.tune.combine import (
    Juror,
    OverallTarget,
    fit_jury_weights,
    jury_heldout,
    jury_profile,
    overall_heldout,
    tune_jury,
    tune_overall,
)
from jurist.tune.weights import fit_weights, inverse_sqrt, whitened_weights
from scripted_server import ScriptedServer

CRITERIA = ("a", "b", "c")
BOUNDS = {c: (1.0, 4.0) for c in CRITERIA}


def labelled(n: int = 60, seed: int = 0) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Criterion labels on 1-4, the overall label on [0, 1] (their mean) and groups of 3."""
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, len(CRITERIA)))
    labels = {c: np.clip(np.round(2.5 + latent[:, j]), 1, 4) for j, c in enumerate(CRITERIA)}
    overall = np.mean([(labels[c] - 1) / 3 for c in CRITERIA], axis=0)
    groups = np.array([f"g{i // 3}" for i in range(n)], dtype=object)
    return labels, overall, groups


def judge_sample(labels: dict[str, np.ndarray], groups: np.ndarray, noise: float | None,
                 seed: int) -> Sample:  # fmt: skip
    """A judge's raw scores: the label plus noise, or (noise None) pure noise."""
    rng = np.random.default_rng(seed)
    n = len(groups)
    raw = {}
    for c, y in labels.items():
        score = rng.uniform(1, 4, n) if noise is None else y + rng.normal(scale=noise, size=n)
        raw[c] = {"parsed": np.clip(np.round(score), 1, 4), "expected": score}
    return Sample({"r": raw}, {c: y.copy() for c, y in labels.items()}, groups, dict(BOUNDS))


def test_whitening_matches_a_reference_eigendecomposition() -> None:
    rng = np.random.default_rng(1)
    mixing = rng.normal(size=(4, 4))
    scores = rng.normal(size=(300, 4)) @ mixing
    sigma = np.cov(scores, rowvar=False)
    reference = np.real(scipy.linalg.sqrtm(np.linalg.inv(sigma)))
    assert np.allclose(inverse_sqrt(sigma), reference, atol=1e-8)
    values, vectors = np.linalg.eigh(sigma)
    by_hand = vectors @ np.diag(values**-0.5) @ vectors.T @ np.ones(4)
    assert np.allclose(whitened_weights(scores), by_hand, atol=1e-8)
    # Whitened scores are uncorrelated with unit variance.
    white = (scores - scores.mean(axis=0)) @ inverse_sqrt(sigma)
    assert np.allclose(np.cov(white, rowvar=False), np.eye(4), atol=1e-8)


def test_weights_do_not_count_a_duplicated_criterion_twice() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(2, 200))
    scores = np.column_stack([a, a, b])
    for kind in ("inverse-correlation", "whitened"):
        w = fit_weights(kind, scores, [1, 1, 1])
        assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
        assert w[0] == pytest.approx(w[1], abs=1e-6)
        assert w[0] + w[1] < 2 * w[2]  # equal weights would give the copies twice b's say
    assert np.allclose(fit_weights("rubric", scores, [1, 0, 1]), [0.5, 0.0, 0.5])
    assert np.allclose(fit_weights("equal", scores, [1, 0, 1]), [1 / 3] * 3)


def test_outer_test_items_never_reach_weights_or_jury_choice() -> None:
    """Any labels planted on one outer fold's test items (criteria and overall alike)
    leave that fold's held-out scores unchanged: only its training items were used."""
    labels, overall, groups = labelled()
    good, noisy = judge_sample(labels, groups, 0.5, 3), judge_sample(labels, groups, 1.5, 4)
    target = OverallTarget("o", overall, list(CRITERIA), np.ones(3), dict(BOUNDS))

    def held(samples: list[Sample], target: OverallTarget) -> tuple[np.ndarray, dict]:
        nested = [nested_cv(s, outer=4, inner=3) for s in samples]
        weighted, tuned = overall_heldout(samples[0], nested[0], target, inner=3)
        jury, jury_tuned = jury_heldout(
            {f"j{k}": Juror(s, n) for k, (s, n) in enumerate(zip(samples, nested, strict=True))},
            3,
            0,
        )
        return np.vstack([tuned, *weighted.values()]), {**jury, "tuned": jury_tuned}

    before_overall, before_jury = held([good, noisy], target)
    test = nested_cv(good, outer=4, inner=3).folds[0].test
    rng = np.random.default_rng(9)
    planted = {c: y.copy() for c, y in labels.items()}
    for c in planted:  # the leak: test labels that the noisy juror's raw scores match
        planted[c][test] = noisy.raw["r"][c]["parsed"][test][::-1]
    leaked_overall = overall.copy()
    leaked_overall[test] = rng.uniform(0, 1, test.size)
    samples = [Sample(s.raw, planted, s.groups, s.bounds) for s in (good, noisy)]
    after_overall, after_jury = held(
        samples, OverallTarget("o", leaked_overall, list(CRITERIA), np.ones(3), dict(BOUNDS))
    )
    assert np.allclose(before_overall[:, test], after_overall[:, test], equal_nan=True)
    for name, scores in before_jury.items():
        for c in CRITERIA:
            assert np.allclose(scores[c][test], after_jury[name][c][test], equal_nan=True)
    # The planted labels did change what the other folds' training saw.
    others = np.setdiff1d(np.arange(len(groups)), test)
    assert not np.allclose(before_overall[:, others], after_overall[:, others], equal_nan=True)


def test_overall_weighting_is_chosen_and_reported_held_out() -> None:
    labels, overall, groups = labelled()
    sample = judge_sample(labels, groups, 0.5, 5)
    target = OverallTarget("o", overall, list(CRITERIA), np.array([1.0, 1.0, 0.0]), BOUNDS)
    report, profile = tune_overall(
        sample, nested_cv(sample, outer=4, inner=3), target, outer=4, inner=3, resamples=200
    )
    assert set(report.weightings) == {"equal", "rubric", "inverse-correlation", "whitened"}
    # The rubric's weights leave out c, which the overall label averages in.
    assert report.weightings["equal"].pooled.value > report.weightings["rubric"].pooled.value
    assert report.tuned.pooled.value > 0.6 and report.tuned.pooled.low is not None
    assert profile.weighting == report.chosen and sum(profile.weights.values()) == pytest.approx(1)
    calibrated = {"a": 4.0, "b": 1.0, "c": 4.0}
    expected = sum(profile.weights[c] * (v - 1) / 3 for c, v in calibrated.items())
    assert profile.combine(calibrated) == pytest.approx(expected, abs=1e-5)
    assert profile.combine({"a": 4.0, "b": 1.0}) is None or profile.weights["c"] == 0


def test_a_noise_juror_is_not_weighted_up() -> None:
    labels, _, groups = labelled(72, seed=6)
    good, noise = judge_sample(labels, groups, 0.6, 7), judge_sample(labels, groups, None, 8)
    jurors = {
        "good": Juror(good, nested_cv(good, outer=4, inner=3)),
        "noise": Juror(noise, nested_cv(noise, outer=4, inner=3)),
    }
    outcome = tune_jury(jurors, outer=4, inner=3, resamples=200)
    rows = {row.name: row for row in outcome.report.rows}
    assert set(rows) == {"good", "noise", "jury equal", "jury inverse-error", "jury stacked"}
    assert rows["good"].heldout.pooled.value > 0.6 > rows["noise"].heldout.pooled.value
    assert outcome.chosen != "noise" and outcome.chosen != "jury equal"
    assert outcome.report.tuned.pooled.value > rows["jury equal"].heldout.pooled.value
    for c in CRITERIA:
        scores = [j.nested.tuned[c] for j in jurors.values()]
        for kind in ("inverse-error", "stacked"):
            w = fit_jury_weights(kind, scores, labels[c])
            assert w[1] < 0.25 and w[0] > 0.75 and w.sum() == pytest.approx(1.0)


RUBRIC = """
name: three
criteria:
  - {id: a, question: "How good is the alpha?", scale: {1: bad, 2: poor, 3: fair, 4: good}}
  - {id: b, question: "How good is the beta?", scale: {1: bad, 2: poor, 3: fair, 4: good}}
  - {id: c, question: "How good is the gamma?", scale: {1: bad, 2: poor, 3: fair, 4: good}}
"""


def faithful(prompt: str, n: int) -> tuple[str, str]:
    """Reads the response's hidden quality of the criterion asked about."""
    asked = re.findall(r"How good is the (\w+)\?", prompt)
    found = re.findall(rf"{asked[-1]} (\d)", prompt) if asked else []
    return ("ok", json.dumps({"score": int(found[-1]) if found else 2}))


def noisy(prompt: str, n: int) -> tuple[str, str]:
    """A score that depends on nothing but the prompt's hash."""
    return ("ok", json.dumps({"score": 1 + hashlib.sha256(prompt.encode()).digest()[0] % 4}))


def rows(n: int = 36) -> list[dict[str, object]]:
    rng = np.random.default_rng(10)
    out = []
    for k in range(n):
        q = {c: int(v) for c, v in zip(CRITERIA, rng.integers(1, 5, 3), strict=True)}
        text = " ".join(
            f"{name} {q[c]}" for name, c in zip(("alpha", "beta", "gamma"), CRITERIA, strict=True)
        )
        out.append({"id": f"i{k}", "input": f"question {k}", "response": f"answer: {text}",
                    **q, "overall": (q["a"] + q["b"] + q["c"]) / 3, "doc": f"d{k // 3}"})  # fmt: skip
    return out


def test_cli_tune_with_two_judges_reaches_juries_and_weights(tmp_path: Path) -> None:
    rubric, data = tmp_path / "r.yaml", tmp_path / "d.jsonl"
    rubric.write_text(RUBRIC, encoding="utf-8")
    data.write_text("\n".join(json.dumps(r) for r in rows()), encoding="utf-8")
    runner = CliRunner()
    with ScriptedServer(faithful) as good, ScriptedServer(noisy) as bad:
        judges = [f"openai:{good.url}#m", f"openai:{bad.url}#m"]
        fields = [x for c in CRITERIA for x in ("--label-field", f"{c}={c}")]
        result = runner.invoke(app, [
            "tune", str(rubric), str(data), "--judge", judges[0], "--judge", judges[1],
            *fields, "--overall-field", "overall", "--group-field", "doc", "--rationale", "none",
            "--store", str(tmp_path / "s.sqlite"), "-o", str(tmp_path / "p.yaml"),
        ])  # fmt: skip
        assert result.exit_code == 0, result.output
        shown = " ".join(result.output.split())  # tables wrap in a narrow terminal
        assert "judges and juries" in shown and "jury equal" in shown and "jury choice" in shown
        assert "overall score vs overall" in shown and "whitened" in shown
        profile = load_profile(tmp_path / "p.yaml")
        assert profile.judge == JudgeSetup(judge=judges[0]).label  # the faithful judge alone
        assert profile.overall is not None and profile.overall.field == "overall"
        graded = runner.invoke(app, [
            "grade", str(rubric), str(data), "--judge", judges[0], "--profile",
            str(tmp_path / "p.yaml"), "-o", str(tmp_path / "out"), "--no-progress",
            "--store", str(tmp_path / "s.sqlite"),
        ])  # fmt: skip
    assert graded.exit_code == 0, graded.output
    first = json.loads((tmp_path / "out" / "results.jsonl").read_text().splitlines()[0])
    calibrated = {c: first["criteria"][c]["calibrated"] for c in CRITERIA}
    assert first["overall"] == pytest.approx(profile.overall.combine(calibrated), abs=1e-4)
    raw_scores = {c: first["criteria"][c]["score"] for c in CRITERIA}  # the rubric's own
    assert first["overall_raw"] == pytest.approx(
        load_rubric(rubric).combine(raw_scores, digits=6), abs=1e-6
    )
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["overall"]["n"] == len(rows())


def test_a_jury_profile_is_refused_by_grade_with_what_to_run(tmp_path: Path) -> None:
    labels, _, groups = labelled(36, seed=11)
    samples = [judge_sample(labels, groups, 0.7, 12), judge_sample(labels, groups, 0.7, 13)]
    jurors = {f"j{k}": Juror(s, nested_cv(s, outer=4, inner=3)) for k, s in enumerate(samples)}
    outcome = tune_jury(jurors, outer=4, inner=3, resamples=100)
    outcome.weighting, outcome.weights = "inverse-error", {c: [0.5, 0.5] for c in CRITERIA}
    rubric = tmp_path / "r.yaml"
    rubric.write_text(RUBRIC, encoding="utf-8")
    base = load_profile_like(rubric)
    profile = jury_profile({"j0": base, "j1": base.model_copy(update={"judge": "other"})}, outcome)
    path = profile.save(tmp_path / "jury.yaml")
    (tmp_path / "d.jsonl").write_text(json.dumps(rows(1)[0]), encoding="utf-8")
    assert load_profile(path) == profile.model_copy(update={"name": None})
    with pytest.raises(ConfigError, match="jurist grade --jury"):
        load_profile(path).check(load_rubric(rubric), JudgeSetup())
    result = CliRunner().invoke(app, [
        "grade", str(rubric), str(tmp_path / "d.jsonl"), "--profile", str(path),
        "-o", str(tmp_path / "out"), "--no-progress",
    ])  # fmt: skip
    assert result.exit_code == 2 and "chose a jury" in result.output


def load_profile_like(rubric: Path) -> Profile:
    """A minimal one-judge profile for `rubric` (what a juror's tuning would save)."""
    made = load_rubric(rubric)
    provenance = Provenance(rubric=made.name, rubric_hash=made.content_hash, data_hash="x",
                            n=36, groups=12)  # fmt: skip
    return Profile(judge="local", options={}, criteria={}, provenance=provenance)
