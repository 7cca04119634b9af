"""Judge biases: position, verbosity (incl. partial rank correlation), self-preference,
scale use."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

import jurist.stats as S
from jurist.stats import agreement
from jurist.stats.bootstrap import resample_indices, tally

TOL = 1e-9


def _partial_by_residuals(x, y, control):
    """Direct definition: correlate rank residuals after regressing on the control ranks."""
    rx, ry, rc = (stats.rankdata(v) for v in (x, y, control))
    design = np.stack([np.ones_like(rc), rc], axis=1)
    res_x = rx - design @ np.linalg.lstsq(design, rx, rcond=None)[0]
    res_y = ry - design @ np.linalg.lstsq(design, ry, rcond=None)[0]
    return stats.pearsonr(res_x, res_y).statistic


def test_partial_spearman_equals_residual_correlation(summeval):
    est = S.partial_spearman(
        summeval.coherence, summeval.length, summeval.relevance, n_resamples=200
    )
    want = _partial_by_residuals(summeval.coherence, summeval.length, summeval.relevance)
    assert est.value == pytest.approx(want, abs=TOL)
    assert est.low <= est.value <= est.high


def test_partial_spearman_replicates_rerank_each_resample(llm_rubric):
    x, y, c = llm_rubric.judge_expected, llm_rubric.human, llm_rubric.judge_sampled
    (ux, uy, uc), codes = agreement.merge_rows(x, y, c)
    idx = resample_indices(x.size, 4, seed=2)
    counts = tally(codes[idx], ux.size)
    rx, ry, rc = (agreement.weighted_midranks(counts, u) for u in (ux, uy, uc))
    r_xy = agreement.row_pearson(counts, rx, ry)
    r_xc = agreement.row_pearson(counts, rx, rc)
    r_yc = agreement.row_pearson(counts, ry, rc)
    got = (r_xy - r_xc * r_yc) / np.sqrt((1 - r_xc**2) * (1 - r_yc**2))
    want = [_partial_by_residuals(x[r], y[r], c[r]) for r in idx]
    np.testing.assert_allclose(got, want, atol=TOL, rtol=0)


def test_verbosity_bias_on_summeval_lengths(summeval):
    score = summeval.fluency.copy()
    score[::13] = np.nan
    res = S.verbosity_bias(score, summeval.length, labels=summeval.relevance, n_resamples=200)
    keep = ~np.isnan(score)
    want = stats.spearmanr(score[keep], summeval.length[keep]).statistic
    assert res.spearman.value == pytest.approx(want, abs=TOL)
    assert res.partial is not None
    assert res.partial.value == pytest.approx(
        _partial_by_residuals(score[keep], summeval.length[keep], summeval.relevance[keep]),
        abs=TOL,
    )
    assert res.spearman.n_excluded == res.partial.n_excluded == int((~keep).sum())
    assert set(res.to_dict()) == {"spearman", "partial"}


def _biased_orders(labels: np.ndarray, first_bias: float, seed: int):
    """Two presentation orders from a judge that, with probability `first_bias`, just
    picks whatever is shown first; `ba` is mapped back to the original labels."""
    rng = np.random.default_rng(seed)
    ab = np.where(rng.random(labels.size) < first_bias, "A", labels).astype(object)
    ba = np.where(rng.random(labels.size) < first_bias, "B", labels).astype(object)
    return ab, ba


def test_position_bias_counts_first_slot_across_orders(autoj):
    ab, ba = _biased_orders(autoj.labels, 0.3, seed=0)
    ba[::25] = None
    res = S.position_bias(ab, ba, n_resamples=200)
    ok = np.array([v is not None for v in ba])
    first = (ab[ok] == "A").sum() + (ba[ok] == "B").sum()
    decisive = (ab[ok] != "tie").sum() + (ba[ok] != "tie").sum()
    assert res.first_slot_rate.value == pytest.approx(first / decisive, abs=TOL)
    assert res.first_slot_rate.low > 0.5  # the simulated judge really prefers slot one
    consistency = S.position_consistency(ab, ba, n_resamples=10)
    assert res.flip_rate.value == pytest.approx(1 - consistency.value, abs=TOL)
    assert res.n == int(ok.sum()) and res.n_excluded == int((~ok).sum())


def test_consistent_judge_has_no_position_preference(autoj):
    """Every consistent pair puts its winner first exactly once across the two orders."""
    ab, ba = _biased_orders(autoj.labels, 0.0, seed=1)
    res = S.position_bias(ab, ba, n_resamples=100)
    assert res.first_slot_rate.value == res.first_slot_rate.low == 0.5
    assert res.flip_rate.value == 0.0


def test_noisy_unbiased_judge_first_slot_interval_covers_half(autoj, noisy_verdicts):
    ab = noisy_verdicts(autoj.labels, 0.5, seed=2)
    ba = noisy_verdicts(autoj.labels, 0.5, seed=3)
    res = S.position_bias(ab, ba, n_resamples=300)
    assert res.first_slot_rate.low < 0.5 < res.first_slot_rate.high
    assert res.flip_rate.value > 0.2


def test_longer_preference_for_judge_and_humans(autoj):
    longer_wins = np.where(autoj.length_a > autoj.length_b, "A", "B").astype(object)
    longer_wins[autoj.length_a == autoj.length_b] = "tie"
    res = S.longer_preference(
        longer_wins, autoj.length_a, autoj.length_b, labels=autoj.labels, n_resamples=200
    )
    assert res.judge.value == 1.0
    assert res.human is not None
    decisive = (autoj.labels != "tie") & (autoj.length_a != autoj.length_b)
    picked = np.where(autoj.length_a > autoj.length_b, "A", "B")
    assert res.human.value == pytest.approx(
        np.mean(autoj.labels[decisive] == picked[decisive]), abs=TOL
    )
    assert res.human.n == int(decisive.sum())
    assert res.human.n + res.human.n_excluded == autoj.labels.size


def test_self_preference_welch_against_scipy(llm_rubric):
    families = np.where(llm_rubric.annotator % 3 == 0, "gpt", "other")
    res = S.self_preference(llm_rubric.judge_expected, families, "gpt", n_resamples=300)
    mine = llm_rubric.judge_expected[families == "gpt"]
    rest = llm_rubric.judge_expected[families != "gpt"]
    ref = stats.ttest_ind(mine, rest, equal_var=False)
    assert res.gap.value == pytest.approx(mine.mean() - rest.mean(), abs=TOL)
    assert res.t == pytest.approx(ref.statistic, abs=TOL)
    assert res.p_value == pytest.approx(ref.pvalue, abs=TOL)
    assert res.df == pytest.approx(ref.df, abs=TOL)
    assert res.se == pytest.approx(res.gap.value / ref.statistic, abs=TOL)
    assert res.gap.low <= res.gap.value <= res.gap.high
    assert (res.n_self, res.n_other) == (mine.size, rest.size)


def test_self_preference_relative_to_humans_uses_the_gap(llm_rubric):
    families = np.where(llm_rubric.annotator % 2 == 0, "gpt", "other")
    res = S.self_preference(
        llm_rubric.judge_expected, families, "gpt", human=llm_rubric.human, n_resamples=100
    )
    gap = llm_rubric.judge_expected - llm_rubric.human
    want = gap[families == "gpt"].mean() - gap[families != "gpt"].mean()
    assert res.gap.value == pytest.approx(want, abs=TOL)
    assert res.relative_to_human and "judge - human gap" in res.sentence()


def _brute_tie_rate(points: np.ndarray, groups: np.ndarray) -> float:
    same = pairs = 0
    for i, j in itertools.combinations(range(points.size), 2):
        if groups[i] == groups[j]:
            pairs += 1
            same += points[i] == points[j]
    return same / pairs


def test_scale_use_histogram_share_and_ties(summeval):
    scores = summeval.consistency[:160]
    docs = summeval.doc[:160]
    res = S.scale_use(scores, [1, 2, 3, 4, 5], groups=docs)
    snapped = np.clip(np.floor(scores + 0.5), 1, 5)
    hist, _ = np.histogram(snapped, bins=np.arange(0.5, 6.5))
    assert list(res.counts) == hist.tolist()
    assert res.share_used == pytest.approx((hist > 0).mean(), abs=TOL)
    assert res.tie_rate == pytest.approx(_brute_tie_rate(snapped, docs), abs=TOL)
    everyone = S.scale_use(scores, [1, 2, 3, 4, 5])
    assert everyone.tie_rate == pytest.approx(_brute_tie_rate(snapped, np.zeros(160)), abs=TOL)
    assert res.n == 160 and res.to_dict()["counts"] == hist.tolist()
