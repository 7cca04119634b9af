"""Learned heads: grouped folds never split a document; ridge and logistic match sklearn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from jurist.whitebox.probe import ProbeFile, cross_validated, fit_probe, grouped_folds


def test_grouped_folds_never_put_a_document_on_both_sides() -> None:
    rng = np.random.default_rng(0)
    groups = [f"doc{int(g)}" for g in rng.integers(0, 13, size=200)]
    folds = grouped_folds(groups, 5, seed=3)
    seen = np.zeros(len(groups), dtype=int)
    for train, test in folds:
        assert not {groups[i] for i in train} & {groups[i] for i in test}
        assert set(train) | set(test) == set(range(len(groups)))
        seen[test] += 1
    assert (seen == 1).all()  # every item is tested exactly once
    with pytest.raises(ValueError):
        grouped_folds(["a", "b"], 3)


def test_ridge_matches_sklearn_on_standardised_features() -> None:
    sklearn = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(1)
    for n, d in ((50, 8), (20, 60)):  # primal and dual forms
        x = rng.normal(size=(n, d)) * rng.uniform(0.5, 3.0, size=d) + 2.0
        y = x[:, 0] - 0.5 * x[:, 1] + rng.normal(size=n)
        probe = fit_probe(x, y, kind="ridge", alpha=5.0)
        z = (x - x.mean(axis=0)) / x.std(axis=0)
        ref = sklearn.Ridge(alpha=5.0).fit(z, y)
        np.testing.assert_allclose(probe.coef, ref.coef_, rtol=1e-6, atol=1e-8)
        np.testing.assert_allclose(probe.predict(x), ref.predict(z), rtol=1e-6, atol=1e-8)


def test_logistic_matches_sklearn() -> None:
    sklearn = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(2)
    x = rng.normal(size=(120, 5))
    y = (x[:, 0] + 0.5 * rng.normal(size=120) > 0).astype(float)
    probe = fit_probe(x, y, kind="logistic", alpha=2.0)
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    ref = sklearn.LogisticRegression(C=1 / 2.0, tol=1e-10, max_iter=5000).fit(z, y)
    np.testing.assert_allclose(probe.coef, ref.coef_[0], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(probe.predict(x), ref.predict_proba(z)[:, 1], atol=1e-4)


def test_cross_validation_finds_signal_only_from_other_documents(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    groups = np.repeat(np.arange(12), 10)
    x = rng.normal(size=(120, 20))
    y = x[:, :3].sum(axis=1) + 0.3 * rng.normal(size=120)
    predicted = cross_validated(x, y, list(groups), n_folds=4, alpha=1.0)
    assert not np.isnan(predicted).any()
    assert stats.spearmanr(predicted, y).statistic > 0.8
    noise = cross_validated(x, rng.normal(size=120), list(groups), n_folds=4, alpha=1.0)
    assert abs(stats.spearmanr(noise, y).statistic) < 0.3
    saved = ProbeFile("m", {"coherence": fit_probe(x, y, layer=7)}, {"coherence": {"rho": 0.9}})
    loaded = ProbeFile.load(saved.save(tmp_path / "probe.json"))
    assert loaded == saved
