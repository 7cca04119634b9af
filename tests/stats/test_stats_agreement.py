"""Agreement statistics checked against reference implementations on real data."""

from __future__ import annotations

import krippendorff
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score

import jurist.stats as S
from jurist.stats import agreement, alpha
from jurist.stats.bootstrap import resample_indices, tally, weighted_pearson

TOL = 1e-9
SCALE5 = [1, 2, 3, 4, 5]
SCALE4 = [1, 2, 3, 4]

REFERENCE = {
    "pearson": (S.pearson, lambda x, y: stats.pearsonr(x, y).statistic),
    "spearman": (S.spearman, lambda x, y: stats.spearmanr(x, y).statistic),
    "kendall": (S.kendall, lambda x, y: stats.kendalltau(x, y, variant="b").statistic),
}


def _with_missing(x: np.ndarray, every: int) -> np.ndarray:
    out = x.astype(float).copy()
    out[::every] = np.nan
    return out


@pytest.mark.parametrize("name", list(REFERENCE))
def test_correlations_match_scipy_on_summeval(summeval, name):
    ours, ref = REFERENCE[name]
    est = ours(summeval.coherence, summeval.relevance, n_resamples=200)
    assert est.value == pytest.approx(ref(summeval.coherence, summeval.relevance), abs=TOL)
    assert est.n == summeval.coherence.size and est.n_excluded == 0


@pytest.mark.parametrize("name", list(REFERENCE))
def test_correlations_match_scipy_for_a_real_judge_with_missing(llm_rubric, name):
    ours, ref = REFERENCE[name]
    judge = _with_missing(llm_rubric.judge_expected, 7)
    est = ours(judge, llm_rubric.human, n_resamples=200)
    keep = ~np.isnan(judge)
    assert est.value == pytest.approx(ref(judge[keep], llm_rubric.human[keep]), abs=TOL)
    assert est.n_excluded == int((~keep).sum()) and est.n == int(keep.sum())


@pytest.mark.parametrize("matrix_max", [agreement._KENDALL_MATRIX_MAX, 0])
@pytest.mark.parametrize(
    "kernel,ref",
    [
        (agreement.weighted_spearman, lambda x, y: stats.spearmanr(x, y).statistic),
        (agreement.weighted_kendall, lambda x, y: stats.kendalltau(x, y).statistic),
        (weighted_pearson, lambda x, y: stats.pearsonr(x, y).statistic),
    ],
)
def test_resample_kernels_equal_reference_on_each_resample(
    llm_rubric, summeval, monkeypatch, matrix_max, kernel, ref
):
    """Each bootstrap replicate (computed from counts) equals the reference statistic of
    the explicitly resampled data: ranks really are recomputed within each resample."""
    monkeypatch.setattr(agreement, "_KENDALL_MATRIX_MAX", matrix_max)
    for x, y in [
        (llm_rubric.judge_expected, llm_rubric.human),
        (summeval.coherence[:400], summeval.fluency[:400]),
    ]:
        (ux, uy), codes = agreement.merge_rows(x, y)
        idx = resample_indices(x.size, 6, seed=3)
        got = kernel(tally(codes[idx], ux.size), ux, uy)
        want = [ref(x[row], y[row]) for row in idx]
        np.testing.assert_allclose(got, want, atol=TOL, rtol=0)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_kappa_matches_sklearn_on_scale(summeval, weights):
    judge, human = summeval.coherence, summeval.relevance
    est = S.cohen_kappa(judge, human, scale=SCALE5, weights=weights, n_resamples=200)
    a, b = agreement.snap(judge, SCALE5), agreement.snap(human, SCALE5)
    want = cohen_kappa_score(a, b, labels=list(range(5)), weights=weights)
    assert est.value == pytest.approx(want, abs=TOL)
    assert est.low <= est.value <= est.high


@pytest.mark.parametrize("weights", [None, "quadratic"])
def test_cohen_kappa_without_scale_matches_sklearn_default(llm_rubric, weights):
    est = S.cohen_kappa(
        llm_rubric.judge_sampled, llm_rubric.human, weights=weights, n_resamples=100
    )
    want = cohen_kappa_score(llm_rubric.judge_sampled, llm_rubric.human, weights=weights)
    assert est.value == pytest.approx(want, abs=TOL)


def test_cohen_kappa_replicates_match_sklearn(llm_rubric):
    a = agreement.snap(llm_rubric.judge_expected, SCALE4)
    b = agreement.snap(llm_rubric.human, SCALE4)
    cells = a * 4 + b
    uniq, codes = np.unique(cells, return_inverse=True)
    idx = resample_indices(a.size, 5, seed=11)
    counts = tally(codes[idx], uniq.size)
    conf = np.zeros((5, 16))
    conf[:, uniq] = counts
    got = agreement.kappa_from_confusion(
        conf.reshape(-1, 4, 4), agreement.kappa_weights(4, "quadratic")
    )
    want = [cohen_kappa_score(a[r], b[r], labels=range(4), weights="quadratic") for r in idx]
    np.testing.assert_allclose(got, want, atol=TOL, rtol=0)


def test_exact_within_one_and_mae_match_direct_computation(llm_rubric):
    judge = _with_missing(llm_rubric.judge_expected, 5)
    keep = ~np.isnan(judge)
    j = np.clip(np.floor(judge[keep] + 0.5), 1, 4)  # nearest point, halves up
    h = llm_rubric.human[keep]
    exact = S.exact_agreement(judge, llm_rubric.human, scale=SCALE4, n_resamples=200)
    within = S.within_one(judge, llm_rubric.human, scale=SCALE4, n_resamples=200)
    mae = S.mean_absolute_error(judge, llm_rubric.human, n_resamples=200)
    assert exact.value == pytest.approx(np.mean(j == h), abs=TOL)
    assert within.value == pytest.approx(np.mean(np.abs(j - h) <= 1), abs=TOL)
    assert mae.value == pytest.approx(np.mean(np.abs(judge[keep] - h)), abs=TOL)
    assert exact.n_excluded == within.n_excluded == mae.n_excluded == int((~keep).sum())
    assert exact.value <= within.value


def test_snap_sends_halves_up_and_clips():
    got = agreement.snap([0.2, 1.49, 1.5, 2.5, 3.51, 9.0], SCALE4)
    np.testing.assert_array_equal(np.asarray(SCALE4)[got], [1, 1, 2, 3, 4, 4])


@pytest.mark.parametrize("level", ["ordinal", "interval"])
def test_alpha_matches_krippendorff_package_on_sparse_annotators(annotators, level):
    est = S.krippendorff_alpha(annotators, level=level, n_resamples=200)
    want = krippendorff.alpha(reliability_data=annotators, level_of_measurement=level)
    assert est.value == pytest.approx(want, abs=TOL)
    rated = (~np.isnan(annotators)).sum(axis=0)
    assert est.n == int((rated >= 2).sum()) and est.n_excluded == int((rated < 2).sum())


@pytest.mark.parametrize("level", ["ordinal", "interval"])
def test_alpha_with_continuous_judge_matches_package(llm_rubric, level):
    data = np.stack([llm_rubric.judge_expected, llm_rubric.human])
    est = S.krippendorff_alpha(data, level=level, n_resamples=200)
    want = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    assert est.value == pytest.approx(want, abs=TOL)


@pytest.mark.parametrize("level", ["ordinal", "interval"])
def test_alpha_replicates_match_package_on_resampled_units(annotators, level):
    setup = alpha._alpha_setup(annotators)
    kernel = alpha._alpha_kernel(setup, level)
    rated = (~np.isnan(annotators)).sum(axis=0) >= 2
    units = annotators[:, rated]
    idx = resample_indices(units.shape[1], 4, seed=5)
    got = kernel(tally(idx, units.shape[1]))
    want = [krippendorff.alpha(units[:, r], level_of_measurement=level) for r in idx]
    np.testing.assert_allclose(got, want, atol=TOL, rtol=0)


def test_judge_alpha_against_each_annotator_and_ceiling(annotators):
    rng = np.random.default_rng(0)
    consensus = np.nanmean(annotators, axis=0)
    judge = np.clip(np.round(consensus + rng.normal(0, 0.7, consensus.size)), 1, 4)
    busiest = np.argsort((~np.isnan(annotators)).sum(axis=1))[-4:]
    ann = annotators[busiest]
    res = S.judge_alpha(judge, ann, level="ordinal", n_resamples=100)
    assert len(res.judge_vs_annotator) == ann.shape[0]
    for est, row in zip(res.judge_vs_annotator, ann, strict=True):
        want = krippendorff.alpha(np.stack([judge, row]), level_of_measurement="ordinal")
        assert est.value == pytest.approx(want, abs=TOL)
    assert res.among_annotators.value == pytest.approx(
        krippendorff.alpha(ann, level_of_measurement="ordinal"), abs=TOL
    )
    assert res.judge_with_annotators.value == pytest.approx(
        krippendorff.alpha(np.vstack([judge, ann]), level_of_measurement="ordinal"), abs=TOL
    )
    assert res.to_dict()["level"] == "ordinal"


def _half_credit(v: str, lab: str) -> float:
    if v == lab:
        return 1.0
    return 0.5 if "tie" in (v, lab) else 0.0


def test_pairwise_accuracy_rules_on_autoj(autoj, noisy_verdicts):
    verdicts = noisy_verdicts(autoj.labels, 0.6, seed=1)
    verdicts[::50] = None
    ok = np.array([v is not None for v in verdicts])
    excl = S.pairwise_accuracy(verdicts, autoj.labels, ties="exclude", n_resamples=200)
    half = S.pairwise_accuracy(verdicts, autoj.labels, ties="half", n_resamples=200)
    decisive = ok & (autoj.labels != "tie")
    assert excl.value == pytest.approx(
        np.mean(verdicts[decisive] == autoj.labels[decisive]), abs=TOL
    )
    assert excl.n == int(decisive.sum()) and excl.n_excluded == autoj.labels.size - excl.n
    pairs = zip(verdicts[ok], autoj.labels[ok], strict=True)
    want_half = np.mean([_half_credit(v, lab) for v, lab in pairs])
    assert half.value == pytest.approx(want_half, abs=TOL)
    assert half.n == int(ok.sum()) and half.n_excluded == int((~ok).sum())


def test_pairwise_kappa_and_confusion_match_references(autoj, noisy_verdicts):
    verdicts = noisy_verdicts(autoj.labels, 0.5, seed=2)
    verdicts[3::40] = None
    ok = np.array([v is not None for v in verdicts])
    est = S.pairwise_kappa(verdicts, autoj.labels, n_resamples=200)
    want = cohen_kappa_score(verdicts[ok].astype(str), autoj.labels[ok], labels=["A", "B", "tie"])
    assert est.value == pytest.approx(want, abs=TOL)
    cm = S.pairwise_confusion(verdicts, autoj.labels)
    table = pd.crosstab(
        pd.Categorical(autoj.labels[ok], categories=["A", "B", "tie"]),
        pd.Categorical(verdicts[ok].astype(str), categories=["A", "B", "tie"]),
        dropna=False,
    )
    np.testing.assert_array_equal(cm.as_array(), table.to_numpy())
    assert cm.n == int(ok.sum()) and cm.n_excluded == int((~ok).sum())


def test_position_consistency_is_share_of_equal_verdicts(autoj, noisy_verdicts):
    ab = noisy_verdicts(autoj.labels, 0.7, seed=3)
    ba = noisy_verdicts(autoj.labels, 0.7, seed=4)
    ba[::9] = None
    ok = np.array([v is not None for v in ba])
    est = S.position_consistency(ab, ba, n_resamples=200)
    assert est.value == pytest.approx(np.mean(ab[ok] == ba[ok]), abs=TOL)
    assert est.n_excluded == int((~ok).sum())


def test_by_group_equals_subset_computation(autoj, noisy_verdicts):
    verdicts = noisy_verdicts(autoj.labels, 0.6, seed=6)
    res = S.by_group(
        S.pairwise_accuracy, autoj.scenario, verdicts, autoj.labels, ties="half", n_resamples=50
    )
    assert list(res) == sorted(set(autoj.scenario.tolist()))
    assert sum(e.n for e in res.values()) == autoj.labels.size
    for key in list(res)[:5]:
        mask = autoj.scenario == key
        sub = S.pairwise_accuracy(verdicts[mask], autoj.labels[mask], ties="half", n_resamples=50)
        assert res[key] == sub
    assert set(S.results_to_dict(res)) == {str(k) for k in res}


def test_by_group_splits_annotator_matrices_along_items(annotators):
    groups = np.arange(annotators.shape[1]) % 2
    res = S.by_group(S.krippendorff_alpha, groups, annotators, n_resamples=50)
    for key, est in res.items():
        want = krippendorff.alpha(annotators[:, groups == key], level_of_measurement="ordinal")
        assert est.value == pytest.approx(want, abs=TOL)


def test_intervals_contain_estimate_and_shrink_with_n(summeval):
    small = S.spearman(summeval.coherence[:200], summeval.relevance[:200], seed=1)
    large = S.spearman(summeval.coherence, summeval.relevance, seed=1)
    for est in (small, large):
        assert est.low <= est.value <= est.high
    assert (large.high - large.low) < (small.high - small.low)


def test_seed_makes_intervals_reproducible(summeval):
    a = S.kendall(summeval.coherence, summeval.fluency, seed=7, n_resamples=300)
    b = S.kendall(summeval.coherence, summeval.fluency, seed=7, n_resamples=300)
    c = S.kendall(summeval.coherence, summeval.fluency, seed=8, n_resamples=300)
    assert a == b
    assert (a.low, a.high) != (c.low, c.high)


def test_too_few_items_give_nan_not_a_number_made_up():
    est = S.pearson([1.0, np.nan], [2.0, 3.0])
    assert np.isnan(est.value) and est.n == 1 and est.n_excluded == 1
    assert est.to_dict()["value"] is None
