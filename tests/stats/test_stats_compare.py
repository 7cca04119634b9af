"""Model comparison: clustered means, paired differences, Bradley-Terry, LC win rates."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

import jurist.stats as S
from jurist.stats import compare

TOL = 1e-9


def test_cluster_se_equals_naive_se_for_singleton_clusters(summeval):
    y = summeval.coherence
    naive = S.mean_estimate(y)
    singleton = S.mean_estimate(y, clusters=np.arange(y.size))
    assert naive.se == pytest.approx(y.std(ddof=1) / math.sqrt(y.size), abs=1e-12)
    assert singleton.se == pytest.approx(naive.se, abs=1e-12)
    assert (singleton.low, singleton.high) == pytest.approx((naive.low, naive.high), abs=1e-12)


def test_cluster_se_follows_the_sandwich_formula_on_prompts(summeval):
    """16 summaries per document share the document: compare with a direct pandas
    computation of G/(G-1) sum_g (sum_i e_i)^2 / n^2."""
    y = summeval.relevance
    est = S.mean_estimate(y, clusters=summeval.doc)
    resid = pd.Series(y - y.mean()).groupby(summeval.doc).sum()
    g, n = resid.size, y.size
    want = math.sqrt(g / (g - 1) * (resid**2).sum()) / n
    assert est.se == pytest.approx(want, abs=1e-12)
    assert est.se > S.mean_estimate(y).se  # documents differ, so clustering matters
    half = stats.t.ppf(0.975, g - 1) * want
    assert (est.low, est.high) == pytest.approx((y.mean() - half, y.mean() + half), abs=1e-12)


def test_model_means_per_system(summeval):
    means = S.model_means(summeval.coherence, summeval.system, prompts=summeval.doc)
    assert set(means) == set(summeval.system.tolist())
    for name, est in means.items():
        values = summeval.coherence[summeval.system == name]
        assert est.value == pytest.approx(values.mean(), abs=TOL)
        assert est.n == values.size


def test_paired_difference_matches_ttest_rel(summeval):
    frame = pd.DataFrame(
        {"doc": summeval.doc, "sys": summeval.system, "y": summeval.coherence}
    ).pivot(index="doc", columns="sys", values="y")
    x, y = frame["M11"].to_numpy(), frame["M10"].to_numpy()
    diff = S.paired_difference(x, y, name_x="M11", name_y="M10")
    ref = stats.ttest_rel(x, y)
    assert diff.value == pytest.approx((x - y).mean(), abs=TOL)
    assert diff.t == pytest.approx(ref.statistic, abs=TOL)
    assert diff.p_value == pytest.approx(ref.pvalue, abs=TOL)
    assert diff.se_paired == pytest.approx(diff.value / ref.statistic, abs=TOL)
    assert diff.se_naive == pytest.approx(
        math.sqrt(x.var(ddof=1) / x.size + y.var(ddof=1) / y.size), abs=TOL
    )
    ci = ref.confidence_interval(0.95)
    assert (diff.low, diff.high) == pytest.approx((ci.low, ci.high), abs=TOL)
    assert diff.significant == (ref.pvalue < 0.05)
    words = "significant" if diff.significant else "not significant"
    assert diff.sentence().startswith("M11 - M10 = ")
    assert f"n={x.size} prompts: {words} at α=0.05" in diff.sentence()


@pytest.mark.full_data
def test_compare_models_aligns_prompts_and_counts_unshared(summeval):
    keep = ~((summeval.system == "M0") & (np.arange(summeval.doc.size) % 10 == 0))
    args = (summeval.coherence[keep], summeval.system[keep], summeval.doc[keep])
    diff = S.compare_models(*args, "M0", "M1")
    frame = pd.DataFrame({"doc": args[2], "sys": args[1], "y": args[0]})
    wide = frame.pivot_table(index="doc", columns="sys", values="y")[["M0", "M1"]].dropna()
    ref = S.paired_difference(wide["M0"], wide["M1"], name_x="M0", name_y="M1")
    assert diff.value == pytest.approx(ref.value, abs=TOL)
    assert diff.se_paired == pytest.approx(ref.se_paired, abs=TOL)
    assert diff.n == len(wide) and diff.n_excluded == 100 - len(wide)


def test_not_significant_sentence_when_interval_covers_zero():
    rng = np.random.default_rng(3)
    base = rng.normal(size=40)
    diff = S.paired_difference(base + rng.normal(0, 1, 40), base, name_x="a", name_y="b")
    assert (diff.low < 0 < diff.high) == (not diff.significant)
    assert ("not significant" in diff.sentence()) == (not diff.significant)
    assert diff.to_dict()["sentence"] == diff.sentence()


def _simulate_games(true_elo: np.ndarray, n_games: int, seed: int):
    rng = np.random.default_rng(seed)
    m = true_elo.size
    a = rng.integers(0, m, n_games)
    b = (a + rng.integers(1, m, n_games)) % m
    p_a = 1.0 / (1.0 + 10 ** ((true_elo[b] - true_elo[a]) / 400))
    u = rng.random(n_games)
    winner = np.where(u < p_a, "A", "B").astype(object)
    winner[rng.random(n_games) < 0.05] = "tie"
    names = np.array([f"model{i}" for i in range(m)])
    return names[a], names[b], winner


def test_bradley_terry_recovers_ordering_and_gaps():
    true = np.array([0.0, 60.0, 150.0, 300.0])
    a, b, w = _simulate_games(true, 6000, seed=0)
    ratings = S.bradley_terry(a, b, w, n_resamples=200)
    order = [name for name, _ in ratings.ranked()]
    assert order == ["model3", "model2", "model1", "model0"]
    values = np.array([ratings.ratings[f"model{i}"].value for i in range(4)])
    assert values.mean() == pytest.approx(1000.0, abs=1e-6)
    est_gap = values[3] - values[0]
    assert 0.7 * 300 < est_gap < 1.1 * 300  # random ties shrink gaps a little
    for est in ratings.ratings.values():
        assert est.low <= est.value <= est.high and est.n > 0


def test_bradley_terry_mm_is_the_maximum_likelihood_fit():
    a, b, w = _simulate_games(np.array([0.0, 100.0, 50.0]), 900, seed=1)
    fit = S.bradley_terry(a, b, w, prior=0.0, n_resamples=20, anchor="model0", base=0.0)
    names = ["model0", "model1", "model2"]
    ia = np.array([names.index(v) for v in a])
    ib = np.array([names.index(v) for v in b])
    s = np.array([{"A": 1.0, "B": 0.0, "tie": 0.5}[v] for v in w])

    def nll(theta):
        full = np.r_[0.0, theta]
        d = full[ia] - full[ib]
        return -(s * -np.logaddexp(0, -d) + (1 - s) * -np.logaddexp(0, d)).sum()

    res = optimize.minimize(nll, np.zeros(2), method="BFGS", options={"gtol": 1e-10})
    want = 400 / math.log(10) * res.x
    got = [fit.ratings["model1"].value, fit.ratings["model2"].value]
    np.testing.assert_allclose(got, want, atol=1e-4)
    assert fit.ratings["model0"].value == pytest.approx(0.0, abs=1e-9)


def test_bradley_terry_stays_finite_when_a_model_never_wins():
    a = np.array(["x", "x", "y", "z", "y"] * 20)
    b = np.array(["y", "z", "z", "x", "x"] * 20)
    w = np.array(["B", "B", "A", "A", "A"] * 20)  # x loses every game
    ratings = S.bradley_terry(a, b, w, n_resamples=50)
    assert all(np.isfinite([e.value, e.low, e.high]).all() for e in ratings.ratings.values())
    assert ratings.ranked()[-1][0] == "x"


def test_win_rates_count_ties_as_half():
    a, b, w = _simulate_games(np.array([0.0, 200.0, 100.0]), 1500, seed=2)
    w[::97] = None
    rates = S.win_rates(a, b, w, n_resamples=100)
    ok = np.array([v is not None for v in w])
    for name, est in rates.items():
        as_a = ok & (a == name)
        as_b = ok & (b == name)
        points = (w[as_a] == "A").sum() + (w[as_b] == "B").sum()
        points += 0.5 * ((w[as_a] == "tie").sum() + (w[as_b] == "tie").sum())
        assert est.value == pytest.approx(points / (as_a.sum() + as_b.sum()), abs=TOL)
        assert est.n == as_a.sum() + as_b.sum()


def test_length_controlled_win_rate_removes_a_pure_length_effect():
    """Model and baseline are equally good; the judge only likes length. The raw win rate
    is inflated, the length-controlled one sits near 1/2."""
    rng = np.random.default_rng(5)
    n = 1500
    length_model = rng.normal(900, 250, n)
    length_base = rng.normal(600, 250, n)
    z = np.tanh((length_model - length_base) / (length_model - length_base).std())
    wins = (rng.random(n) < 1 / (1 + np.exp(-2.0 * z))).astype(float)
    res = S.length_controlled_win_rate(wins, length_model, length_base, n_resamples=300)
    assert res.raw.value > 0.6 and res.raw.low > 0.55
    assert res.lc.low < 0.5 < res.lc.high
    assert res.length_coef == pytest.approx(2.0, abs=0.4)
    assert "length-controlled win rate" in res.sentence("m", "base")


def test_logistic_fit_matches_direct_likelihood_maximisation():
    rng = np.random.default_rng(8)
    x = np.tanh(rng.normal(size=300))
    y = rng.random(300) < 1 / (1 + np.exp(-(0.3 + 1.2 * x)))
    target = np.where(rng.random(300) < 0.1, 0.5, y.astype(float))  # some ties
    features = np.stack([np.ones(300), x], axis=1)
    theta = compare.fit_logistic(np.ones((1, 300)), features, target, ridge=0.0)[0]

    def nll(t):
        eta = features @ t
        return -(target * -np.logaddexp(0, -eta) + (1 - target) * -np.logaddexp(0, eta)).sum()

    ref = optimize.minimize(nll, np.zeros(2), method="BFGS", options={"gtol": 1e-10}).x
    np.testing.assert_allclose(theta, ref, atol=1e-5)


def test_verdict_preference_maps_slots():
    v = ["A", "B", "tie", None]
    np.testing.assert_array_equal(S.verdict_preference(v), [1, 0, 0.5, np.nan])
    np.testing.assert_array_equal(S.verdict_preference(v, model_slot="B"), [0, 1, 0.5, np.nan])
