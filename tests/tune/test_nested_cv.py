"""Nested grouped CV: groups never straddle a split, and an outer fold's labels never
reach the choice or the fit that predicts it."""

from __future__ import annotations

import numpy as np

from jurist.tune import Cost, Sample, choose, group_folds, nested_cv

CRITERIA = ("a", "b")


def make_sample(seed: int = 0, groups: int = 30, per_group: int = 4) -> tuple[Sample, np.ndarray]:
    """Two readings: `honest` scores labels with noise; `leaky` is noise except on the
    first outer fold's items, where it *is* the label (a planted leak)."""
    rng = np.random.default_rng(seed)
    n = groups * per_group
    group_names = np.array([f"doc{k // per_group}" for k in range(n)], dtype=object)
    labels = {c: rng.integers(1, 6, n).astype(float) for c in CRITERIA}
    sample = Sample({}, labels, group_names, dict.fromkeys(CRITERIA, (1.0, 5.0)))
    first = group_folds(sample.group_codes(), 5, 0)[0]
    raw = {}
    for reading in ("honest", "leaky"):
        raw[reading] = {}
        for c in CRITERIA:
            noisy = labels[c] + rng.normal(0, 1.0, n)
            if reading == "leaky":
                noisy = rng.uniform(1, 5, n)
                noisy[first] = labels[c][first]
            raw[reading][c] = {"parsed": np.round(noisy), "expected": noisy}
    return Sample(raw, labels, group_names, sample.bounds), first


def test_group_folds_keep_each_group_whole():
    codes = np.repeat(np.arange(10), 3)
    folds = group_folds(codes, 4, seed=1)
    assert sorted(np.concatenate(folds).tolist()) == list(range(30))
    for i, fold in enumerate(folds):
        for other in folds[i + 1 :]:
            assert not set(codes[fold]) & set(codes[other])


def test_an_outer_folds_labels_never_reach_its_choice_or_fit():
    sample, first = make_sample()
    result = nested_cv(sample, outer=5, inner=4, seed=0)
    fold = result.folds[0]
    assert sorted(fold.test.tolist()) == sorted(first.tolist())
    # The leak is perfect on exactly these items: had they reached the choice, `leaky` would win.
    assert fold.choice.reading == "honest"
    scrambled = {c: v.copy() for c, v in sample.labels.items()}
    rng = np.random.default_rng(9)
    for c in CRITERIA:
        scrambled[c][first] = rng.permutation(scrambled[c][first]) + rng.uniform(-1, 1, first.size)
    again = nested_cv(
        Sample(sample.raw, scrambled, sample.groups, sample.bounds), outer=5, inner=4, seed=0
    )
    other = again.folds[0]
    assert other.choice == fold.choice
    assert other.maps == fold.maps and other.radii == fold.radii
    for c in CRITERIA:  # and so its held-out predictions are the same numbers
        np.testing.assert_array_equal(again.tuned[c][first], result.tuned[c][first])


def test_a_budget_takes_the_cheapest_reading_as_good_as_the_best():
    rng = np.random.default_rng(3)
    n = 120
    groups = np.array([f"d{k // 4}" for k in range(n)], dtype=object)
    labels = {"a": rng.integers(1, 6, n).astype(float)}
    dear = labels["a"] + rng.normal(0, 0.8, n)
    cheap = dear + rng.normal(0, 0.4, n)  # a little worse, well inside the best's interval
    raw = {
        name: {"a": {"parsed": values, "expected": values}}
        for name, values in (("dear", dear), ("cheap", cheap))
    }
    costs = {"dear": Cost(calls=1, seconds=9.0), "cheap": Cost(calls=1, seconds=1.0)}
    sample = Sample(raw, labels, groups, {"a": (1.0, 5.0)}, costs)
    everyone = np.arange(n)
    assert choose(sample, everyone).reading == "dear"
    assert choose(sample, everyone, budget=True).reading == "cheap"
