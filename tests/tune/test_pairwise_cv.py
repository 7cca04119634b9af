"""Pairwise tuning on synthetic judges: an outer fold's labels never reach its choice or
fit, conformal verdict sets cover in their binomial band, and the tie band and the
calibration do what they say."""

from __future__ import annotations

import math

import numpy as np

from jurist.core.judgment import PairVerdict, PairwiseJudgment
from jurist.tune.cv import group_folds
from jurist.tune.pairwise import (
    KEY,
    PairMap,
    choose_pair,
    decide,
    fit_pair_map,
    nested_pairwise,
    pair_sample,
    tune_pairwise,
)


def synthetic(n: int, seed: int, per_group: int = 3, ties: float = 0.0):
    """True P(A better) per pair; labels drawn from it (a share `ties` of them ties); the
    judge's probability is that truth squeezed towards 0.5 with noise (a biased, weak
    judge), its parsed verdict a tie unless it is sure."""
    rng = np.random.default_rng(seed)
    truth = rng.uniform(0, 1, n)
    labels = (rng.uniform(0, 1, n) < truth).astype(float)
    labels[rng.uniform(0, 1, n) < ties] = 0.5
    probability = np.clip(0.5 + 0.1 * (truth - 0.5) + rng.normal(0, 0.02, n), 0, 1)
    parsed = decide(probability, 0.04)
    groups = [f"g{k // per_group}" for k in range(n)]
    return truth, labels, {"parsed": parsed, "probability": probability}, groups


def test_an_outer_folds_labels_never_reach_its_choice_or_fit():
    _, labels, honest, groups = synthetic(150, seed=1)
    sample = pair_sample({"honest": honest}, labels, groups)
    first = group_folds(sample.group_codes(), 5, 0)[0]
    rng = np.random.default_rng(2)
    leaky = {
        "parsed": rng.uniform(0, 1, labels.size).round(),
        "probability": rng.uniform(0, 1, labels.size),
    }
    leaky["probability"][first] = labels[first]  # a planted leak: perfect on fold 0 only
    leaky["parsed"][first] = labels[first]
    sample = pair_sample({"honest": honest, "leaky": leaky}, labels, groups)
    result = nested_pairwise(sample, outer=5, inner=4, seed=0)
    test, choice, fitted, radius = result.folds[0]
    assert sorted(test.tolist()) == sorted(first.tolist())
    assert choice.reading == "honest"
    assert choose_pair(sample, first).reading == "leaky"  # where the leak is seen, it wins
    scrambled = labels.copy()
    scrambled[first] = 1.0 - scrambled[first]
    again = nested_pairwise(pair_sample({"honest": honest, "leaky": leaky}, scrambled, groups),
                            outer=5, inner=4, seed=0)  # fmt: skip
    assert again.folds[0][1:] == (choice, fitted, radius)
    np.testing.assert_array_equal(again.probability[first], result.probability[first])
    np.testing.assert_array_equal(again.tuned[first], result.tuned[first])


def test_conformal_verdict_sets_cover_in_their_binomial_band():
    _, labels, raw, groups = synthetic(1500, seed=3)
    result = nested_pairwise(pair_sample({"r": raw}, labels, groups), coverage=0.9, seed=0)
    covered = result.covered[~np.isnan(result.covered)]
    n = covered.size
    calibration = n * 4 // 5  # each fold's radius comes from the other folds' pairs
    sd = math.sqrt(0.9 * 0.1 / n)
    assert n == 1500
    assert 0.9 - 3 * sd <= covered.mean() <= 0.9 + 1 / (calibration + 1) + 3 * sd
    # A weak judge cannot narrow many pairs to one verdict at 90%, but it narrows some.
    sizes = result.set_size[~np.isnan(result.set_size)]
    assert 1.0 < sizes.mean() < 2.0


def test_the_probability_beats_a_parsed_verdict_that_ties_and_calibration_spreads_it():
    _, labels, raw, groups = synthetic(600, seed=4)
    sample = pair_sample({"none/rubric-first/x1": raw}, labels, groups)
    choice, part, report = tune_pairwise(
        sample, group_field="g", label_field="preference", default="none/rubric-first/x1",
        resamples=200,
    )  # fmt: skip
    assert choice.estimator == "probability" and part.band < 0.05  # ties are always wrong here
    assert report.difference.accuracy.low > 0.05  # paired interval above zero
    assert not report.ties_in_labels and report.n == 600 and report.folds == 5
    assert 0.85 <= report.coverage.value <= 0.95
    # The judge squeezes P(A) into 0.45..0.55; a calibrated map spreads it back out.
    spread = PairMap.from_dict(part.calibration).apply(np.array([0.46, 0.54]))
    assert part.calibration["kind"] != "none" and spread[1] - spread[0] > 0.3


def test_a_tie_band_is_chosen_when_people_call_ties():
    truth, labels, raw, groups = synthetic(900, seed=5, ties=0.0)
    labels[np.abs(truth - 0.5) < 0.2] = 0.5  # people call close pairs a tie
    sample = pair_sample({"r": raw}, labels, groups)
    choice, part, report = tune_pairwise(
        sample, group_field="g", label_field="p", default="r", resamples=200
    )
    assert report.ties_in_labels and part.classes == ["A", "tie", "B"]
    assert choice.band > 0.0
    assert report.tuned.tie_aware.value >= report.tuned.accuracy.value


def test_maps_are_monotone_and_round_trip():
    rng = np.random.default_rng(6)
    x = rng.uniform(0.4, 0.6, 300)
    y = (rng.uniform(0, 1, 300) < (x - 0.4) * 5).astype(float)
    for kind in ("none", "isotonic", "platt"):
        fitted = fit_pair_map(kind, x, y)
        grid = np.linspace(0.4, 0.6, 50)
        out = fitted.apply(grid)
        assert np.all(np.diff(out) >= -1e-12) and np.all((out >= 0) & (out <= 1))
        np.testing.assert_allclose(fitted.apply(1.0 - grid), 1.0 - out, atol=1e-9)  # symmetric
        again = PairMap.from_dict(fitted.to_dict())
        np.testing.assert_allclose(again.apply(grid), out, atol=1e-5)


def test_the_profile_choice_adds_calibrated_verdict_and_set_to_a_judgment():
    _, labels, raw, groups = synthetic(300, seed=7)
    _, part, _ = tune_pairwise(pair_sample({"r": raw}, labels, groups), group_field="g",
                               label_field="p", default="r", resamples=50)  # fmt: skip
    pair = PairVerdict(status="ok", verdict="tie", verdict_ab="A", verdict_ba="B", p_a=0.53)
    judgment = PairwiseJudgment(item_id="i", index=0, status="ok", judge="local", rubric="r",
                                rubric_hash="h", pair=pair)  # fmt: skip
    applied = part.apply(judgment).pair
    assert applied is not None and applied.verdict == "tie"  # the raw verdict stays
    assert applied.calibrated is not None and applied.calibrated > 0.5
    assert applied.calibrated_verdict == "A" and applied.prediction_set
    line = part.apply(judgment).model_dump(mode="json")["pair"]
    assert line["calibrated_verdict"] == "A" and "prediction_set" in line
    assert "calibrated" not in judgment.model_dump(mode="json")["pair"]  # plain lines unchanged
    assert KEY == "verdict"
