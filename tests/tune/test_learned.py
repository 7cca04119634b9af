"""Learned estimators (LAGER, probe) inside nested CV, on synthetic feature arrays: an
outer fold's labels never reach their fit, and a fitted one round-trips through a profile
and applies to graded answers; a profile holding one is refused for another judge."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from jurist.core.completion import Completion
from jurist.core.errors import ConfigError
from jurist.core.judgment import CriterionScore, PointwiseJudgment
from jurist.tune import CriterionProfile, Profile, Provenance, Sample, group_folds, load_profile
from jurist.tune.cv import choose, fit_learned, fit_radii, nested_cv
from jurist.tune.learned import check_learned, learned_record, learned_score
from jurist.whitebox.cache import HiddenCache
from jurist.whitebox.fields import criterion_fields
from jurist.whitebox.lager import LagerWeights
from jurist.whitebox.learned import LagerEstimator, ProbeEstimator

POINTS = (1.0, 2.0, 3.0, 4.0, 5.0)
HONEST, LEAKY = 1, 2  # hidden layers: label plus noise everywhere; the label on one fold


def features(labels: np.ndarray, first: np.ndarray, rng: np.random.Generator) -> tuple:
    """Hidden states (items, 4 layers, 3 dims) and layer log-probs (items, 3, 5 points):
    the honest layer carries the label with noise on every item, the leaky one carries it
    exactly, and only on the first outer fold's items (noise elsewhere)."""
    n = labels.size
    hidden = rng.normal(size=(n, 4, 3)).astype(np.float32)
    hidden[:, HONEST, 0] += labels + rng.normal(0, 0.8, n)
    hidden[first, LEAKY, 0] = 5.0 * labels[first]
    centre = np.where(np.isin(np.arange(n), first), labels, rng.uniform(1, 5, n))
    logits = np.stack([-((np.asarray(POINTS) - c) ** 2) for c in centre])  # peaked at centre
    honest = np.stack([-((np.asarray(POINTS) - y) ** 2) / 4 for y in labels + rng.normal(0, 1, n)])
    layers = np.stack([rng.normal(size=(n, 5)), honest, logits], axis=1)
    return hidden, layers


def make_sample(
    labels: np.ndarray | None = None, steps: int = 100
) -> tuple[Sample, np.ndarray, dict]:
    rng = np.random.default_rng(0)
    n = 64
    groups = np.array([f"d{k // 4}" for k in range(n)], dtype=object)
    base = Sample({}, {"a": np.zeros(n)}, groups, {"a": (1.0, 5.0)})
    first = group_folds(base.group_codes(), 5, 0)[0]
    true = rng.integers(1, 6, n).astype(float)
    hidden, layers = features(true, first, rng)
    y = true if labels is None else labels
    noise = rng.uniform(1, 5, n)  # parsed and expected carry nothing
    raw = {"r": {"a": {"parsed": np.round(noise), "expected": noise}}}
    codes = base.group_codes()
    learned = {"r": {"a": {"lager": LagerEstimator(layers, y, POINTS, steps=steps),
                           "probe": ProbeEstimator(hidden, y, codes, folds=3)}}}  # fmt: skip
    sample = Sample(raw, {"a": y}, groups, {"a": (1.0, 5.0)}, learned=learned)
    return sample, first, {"hidden": hidden, "layers": layers, "true": true}


def test_a_learned_fit_never_sees_an_outer_folds_labels():
    sample, first, _ = make_sample(steps=20)  # LAGER's fit quality is beside the point here
    probe = sample.learned["r"]["a"]["probe"]
    # The planted leak is found when its items are fitted on: they would pick the leaky layer.
    assert probe.fit(first).layer == LEAKY
    result = nested_cv(sample, outer=5, inner=3, seed=0)
    fold = result.folds[0]
    assert sorted(fold.test.tolist()) == sorted(first.tolist())
    assert fold.choice.criteria["a"].estimator in ("lager", "probe")
    assert set(fold.learned) == {"a"}
    if fold.choice.criteria["a"].estimator == "probe":
        assert fold.learned["a"].layer == HONEST
    # Scrambling the held-out fold's labels changes nothing that fold chose, fitted or predicted.
    scrambled = sample.labels["a"].copy()
    scrambled[first] = np.random.default_rng(9).permutation(scrambled[first]) + 0.5
    again_sample, _, _ = make_sample(scrambled, steps=20)
    again_result = nested_cv(again_sample, outer=5, inner=3, seed=0)
    again = again_result.folds[0]
    assert again.choice == fold.choice and again.learned == fold.learned
    assert again.radii == fold.radii
    np.testing.assert_array_equal(again_result.tuned["a"][first], result.tuned["a"][first])
    # Fitted on that fold's training items (the leak's items left out), it reads the honest one.
    assert probe.fit(np.setdiff1d(np.arange(sample.n), first)).layer == HONEST


@dataclass
class Spy:
    """A learned estimator that records every training set it is fitted on."""

    inner: Any
    seen: list[np.ndarray] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.inner.name)

    @property
    def labels(self) -> np.ndarray:
        return np.asarray(self.inner.labels)

    def fit(self, train: np.ndarray) -> Any:
        self.seen.append(np.asarray(train))
        return self.inner.fit(train)

    def predict(self, fitted: Any, index: np.ndarray) -> np.ndarray:
        return np.asarray(self.inner.predict(fitted, index))


def test_choosing_and_fitting_for_a_fold_fit_on_its_training_items_only():
    sample, first, _ = make_sample(steps=20)
    spies = {name: Spy(est) for name, est in sample.learned["r"]["a"].items()}
    spied = replace(sample, learned={"r": {"a": spies}})
    train = np.setdiff1d(np.arange(sample.n), first)
    choice = choose(spied, train, k=3, seed=0)
    fit_learned(spied, choice, train)
    fit_radii(spied, choice, train, 0.9, k=3, seed=0)
    for spy in spies.values():
        assert spy.seen and all(not np.isin(seen, first).any() for seen in spy.seen)


def test_learned_candidates_are_reported_and_beat_uninformative_readings():
    sample, _, _ = make_sample()
    result = nested_cv(sample, outer=5, inner=3, seed=0)
    assert {k[1:] for k in result.candidates} >= {("lager", "none"), ("probe", "none")}
    assert ("lager", "isotonic") not in {k[1:] for k in result.candidates}
    labels = sample.labels["a"]
    for name in ("lager", "probe"):
        held = result.candidates[("r", name, "none")]["a"]
        assert np.corrcoef(held, labels)[0, 1] > 0.4
    parsed = result.candidates[("r", "parsed", "none")]["a"]
    assert abs(np.corrcoef(parsed, labels)[0, 1]) < 0.3


def profile_with(records: dict[str, dict | None], judge: str = "hf:embedded") -> Profile:
    provenance = Provenance(rubric="r", rubric_hash="h", data_hash="d", n=10, groups=2)
    criteria = {
        c: CriterionProfile(estimator=record["kind"], calibration={"kind": "none"},
                            conformal={"coverage": 0.9, "radius": 1.0}, bounds=(1.0, 5.0),
                            points=list(POINTS), learned=record)
        for c, record in records.items() if record
    }  # fmt: skip
    return Profile(judge=judge, options={}, criteria=criteria, provenance=provenance)


def test_a_fitted_lager_and_probe_round_trip_and_apply(tmp_path: Path):
    sample, _, arrays = make_sample()
    everyone = np.arange(sample.n)
    lager_est = sample.learned["r"]["a"]["lager"]
    probe_est = sample.learned["r"]["a"]["probe"]
    lager, probe = lager_est.fit(everyone), probe_est.fit(everyone)
    records = {
        "a": learned_record(lager, "hf:embedded", POINTS),
        "b": learned_record(probe, "hf:embedded", POINTS),
    }
    assert records["a"]["kind"] == "lager" and records["b"]["head"]["layer"] == probe.layer
    assert records["a"]["model"] and records["a"]["model"] == records["b"]["model"]
    profile = profile_with(records)
    path = profile.save(tmp_path / "p.yaml")
    loaded = load_profile(path)
    assert loaded.criteria["a"].learned == profile.criteria["a"].learned
    cache = HiddenCache(tmp_path / "hidden")
    cache.put("k7", {"last": arrays["hidden"][7]})
    scores = {
        "a": CriterionScore(status="ok", score=3.0, layer_logprobs=arrays["layers"][7].tolist()),
        "b": CriterionScore(status="ok", score=3.0, hidden_key="k7"),
    }
    judgment = PointwiseJudgment(
        item_id="i7", index=7, status="ok", judge="hf:embedded", rubric="r", rubric_hash="h",
        criteria=scores,
    )  # fmt: skip
    applied = loaded.apply(judgment).criteria["a"].extras
    expected_lager = lager_est.predict(lager, np.array([7]))[0]
    assert applied["calibrated"] == pytest.approx(expected_lager, abs=1e-3)
    assert applied["interval"] == pytest.approx([max(1.0, applied["calibrated"] - 1.0),
                                                 min(5.0, applied["calibrated"] + 1.0)], abs=1e-3)  # fmt: skip
    expected_probe = probe_est.predict(probe, np.array([7]))[0]
    read = learned_score(loaded.criteria["b"].learned, scores["b"], cache)
    assert read == pytest.approx(expected_probe, rel=1e-4)
    # An answer without the white-box readings gets no calibrated score.
    bare = judgment.model_copy(update={"criteria": {"a": CriterionScore(status="ok", score=2.0)}})
    assert "calibrated" not in loaded.apply(bare).criteria["a"].extras


def test_a_learned_profile_is_refused_for_another_judge():
    sample, _, _ = make_sample()
    lager = sample.learned["r"]["a"]["lager"].fit(np.arange(sample.n))
    record = learned_record(lager, "hf:embedded", POINTS)
    for judge in ("local", None, "openai:gpt-4o-mini"):
        with pytest.raises(ConfigError, match="LAGER / probe estimators fitted on the white-box"):
            check_learned([record], judge)
    check_learned([record], "hf:embedded")  # its own model passes
    other = {**record, "model": "another-model#000000000000"}
    with pytest.raises(ConfigError, match="another-model"):
        check_learned([other], "hf:embedded")


def test_an_answer_keeps_each_layers_point_logprobs_and_lager_reads_them_as_logits():
    rng = np.random.default_rng(4)
    logits = rng.normal(size=(3, 5)) * 3  # 3 layers, 5 points; plus one token that is no point
    layers = [{**{str(p): float(v) for p, v in zip(range(1, 6), row, strict=True)}, "x": 9.0}
              for row in logits]  # fmt: skip
    completion = Completion(text="3", extras={"layer_logprobs": [layers]})
    rows = np.asarray(criterion_fields(completion, 0, [1, 2, 3, 4, 5])["layer_logprobs"])
    assert rows.shape == (3, 5)
    np.testing.assert_allclose(np.exp(rows).sum(axis=1), 1.0, atol=1e-3)
    weights = LagerWeights((0.2, 0.5, 0.3))
    # A per-layer shift of the logits is a shift of the mixture: the distribution is the same.
    assert weights.expected(rows[None], POINTS)[0] == pytest.approx(
        weights.expected(logits[None], POINTS)[0], abs=1e-3
    )
    layers[1].pop("4")
    assert "layer_logprobs" not in criterion_fields(completion, 0, [1, 2, 3, 4, 5])


def test_a_fold_with_too_few_labelled_items_gives_no_learned_fit_and_no_crash():
    sample = make_sample(steps=5)[0]
    lager = sample.learned["r"]["a"]["lager"]
    probe = sample.learned["r"]["a"]["probe"]
    empty, one = np.array([], dtype=np.intp), np.array([3])
    assert lager.fit(empty) is None and lager.fit(one) is None and probe.fit(one) is None
    assert np.isnan(lager.predict(lager.fit(empty), np.arange(4))).all()
    assert np.isnan(probe.predict(probe.fit(empty), np.arange(4))).all()
