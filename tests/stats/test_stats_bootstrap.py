"""The bootstrap helper: counts equal gathered resamples, intervals behave, and it is fast."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy import stats

from jurist.stats import bootstrap as B


def test_counts_statistic_equals_gathered_statistic_for_same_seed(summeval):
    x, y = summeval.coherence, summeval.relevance

    def gathered(a, b):
        return np.array([stats.pearsonr(ra, rb).statistic for ra, rb in zip(a, b, strict=True)])

    a = B.bootstrap_ci(gathered, x, y, n_resamples=200, seed=4)
    b = B.bootstrap_counts(lambda c: B.weighted_pearson(c, x, y), x.size, n_resamples=200, seed=4)
    assert a.value == pytest.approx(b.value, abs=1e-12)
    assert a.low == pytest.approx(b.low, abs=1e-12)
    assert a.high == pytest.approx(b.high, abs=1e-12)


def test_merging_items_by_code_keeps_the_bootstrap_distribution(summeval):
    """Merging equal items before resampling draws the same resamples (same seed)."""
    x = summeval.fluency
    uniq, codes = np.unique(x, return_inverse=True)
    plain = B.count_replicates(lambda c: B.weighted_mean(c, x), x.size, n_resamples=100, seed=9)
    merged = B.count_replicates(
        lambda c: B.weighted_mean(c, uniq), x.size, n_resamples=100, seed=9, codes=codes
    )
    np.testing.assert_allclose(plain, merged, atol=1e-12)


def test_percentile_interval_matches_numpy_quantiles():
    reps = np.random.default_rng(0).normal(size=(999, 3))
    low, high = B.percentile_interval(reps, 0.9)
    np.testing.assert_allclose(low, np.quantile(reps, 0.05, axis=0))
    np.testing.assert_allclose(high, np.quantile(reps, 0.95, axis=0))


def test_percentile_interval_is_nan_when_most_resamples_are_undefined():
    reps = np.full(100, np.nan)
    reps[:30] = 1.0
    low, high = B.percentile_interval(reps)
    assert np.isnan(low) and np.isnan(high)


def test_cluster_counts_keep_clusters_together(summeval):
    n = summeval.doc.size
    for counts in B.iter_counts(n, 20, seed=1, clusters=summeval.doc):
        for doc in np.unique(summeval.doc)[:5]:
            block = counts[:, summeval.doc == doc]
            assert (block == block[:, :1]).all()
        assert counts.shape[1] == n
        np.testing.assert_allclose(counts.sum(axis=1) % 16, 0)


def test_cluster_counts_with_codes_sum_items_of_each_code(summeval):
    uniq, codes = np.unique(summeval.coherence, return_inverse=True)
    per_item = next(B.iter_counts(summeval.doc.size, 5, seed=2, clusters=summeval.doc))
    per_code = next(B.iter_counts(summeval.doc.size, 5, seed=2, clusters=summeval.doc, codes=codes))
    want = np.stack([per_item[:, codes == k].sum(axis=1) for k in range(uniq.size)], axis=1)
    np.testing.assert_allclose(per_code, want)


def test_percentile_interval_coverage_is_near_nominal():
    """Sanity, not precision: 95% intervals for a normal mean cover the truth in most of
    200 simulated samples of 60."""
    rng = np.random.default_rng(12)
    hits = 0
    reps = 200
    for i in range(reps):
        x = rng.normal(1.0, 2.0, 60)
        est = B.bootstrap_counts(
            lambda c, x=x: B.weighted_mean(c, x), x.size, n_resamples=400, seed=i
        )
        assert est.low <= est.value <= est.high
        hits += est.low <= 1.0 <= est.high
    assert 0.88 <= hits / reps <= 0.99


def test_width_shrinks_with_n():
    rng = np.random.default_rng(1)
    x = rng.normal(size=4000)
    widths = []
    for n in (100, 400, 1600):
        est = B.bootstrap_counts(lambda c, n=n: B.weighted_mean(c, x[:n]), n, seed=0)
        widths.append(est.high - est.low)
    assert widths[0] > widths[1] > widths[2]


@pytest.mark.parametrize("kind", ["mean", "pearson"])
def test_ten_thousand_items_thousand_resamples_under_five_seconds(kind):
    rng = np.random.default_rng(0)
    x = rng.normal(size=10_000)
    y = x + rng.normal(size=10_000)
    start = time.perf_counter()
    if kind == "mean":
        est = B.bootstrap_counts(lambda c: B.weighted_mean(c, x), x.size, n_resamples=1000)
    else:
        est = B.bootstrap_counts(lambda c: B.weighted_pearson(c, x, y), x.size, n_resamples=1000)
    elapsed = time.perf_counter() - start
    assert est.low < est.value < est.high
    assert elapsed < 5.0, f"{kind}: {elapsed:.2f}s"


def test_estimate_to_dict_is_json_ready():
    est = B.Estimate(0.5, float("nan"), 0.7, n=10, n_excluded=2)
    d = est.to_dict()
    assert d == {
        "value": 0.5,
        "low": None,
        "high": 0.7,
        "n": 10,
        "n_excluded": 2,
        "se": None,
        "confidence": 0.95,
    }
