import numpy as np
import pytest

from jurist.rubrics.weighting import correlation_aware_weights, correlation_matrix


def direct(matrix: np.ndarray) -> np.ndarray:
    raw = np.linalg.pinv(np.corrcoef(matrix, rowvar=False)) @ np.ones(matrix.shape[1])
    raw = np.clip(raw, 0, None)
    return raw / raw.sum()


def test_matches_a_direct_numpy_computation():
    rng = np.random.default_rng(7)
    base = rng.normal(size=(80, 1))
    matrix = base + rng.normal(scale=[0.5, 1.0, 2.0, 3.0], size=(80, 4))
    weights = correlation_aware_weights(matrix)
    np.testing.assert_allclose(weights, direct(matrix), atol=1e-10)
    assert weights.sum() == pytest.approx(1.0)


def test_uncorrelated_criteria_get_equal_weights():
    rng = np.random.default_rng(1)
    centred = rng.normal(size=(50, 3))
    centred -= centred.mean(axis=0)
    matrix = np.linalg.qr(centred)[0]  # centred, mutually orthogonal columns
    np.testing.assert_allclose(correlation_aware_weights(matrix), 1 / 3, atol=1e-10)


def test_duplicated_column_shares_the_weight_of_one():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=60), rng.normal(size=60)
    single = correlation_aware_weights(np.column_stack([a, b]))
    tripled = correlation_aware_weights(np.column_stack([a, a, a, b]))
    assert tripled[:3].sum() == pytest.approx(single[0])
    assert tripled[3] == pytest.approx(single[1])
    np.testing.assert_allclose(tripled[:3], tripled[0])


def test_negative_solutions_are_clipped_and_renormalised():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=200), rng.normal(size=200)
    matrix = np.column_stack([a, b, a + b + 0.3 * rng.normal(size=200)])
    raw = np.linalg.pinv(np.corrcoef(matrix, rowvar=False)) @ np.ones(3)
    assert raw[2] < 0  # the sum of the other two gets a negative raw weight
    weights = correlation_aware_weights(matrix)
    assert (weights >= 0).all() and weights[2] == 0
    assert weights.sum() == pytest.approx(1.0)


def test_constant_column_gets_no_weight():
    rng = np.random.default_rng(5)
    matrix = np.column_stack([rng.normal(size=30), np.full(30, 3.0), rng.normal(size=30)])
    weights = correlation_aware_weights(matrix)
    assert weights[1] == 0 and weights.sum() == pytest.approx(1.0)


def test_missing_scores_use_pairwise_complete_rows():
    rng = np.random.default_rng(9)
    matrix = rng.normal(size=(40, 3))
    matrix[:5, 0] = np.nan
    matrix[10:12, 2] = np.nan
    correlations = correlation_matrix(matrix)
    both = ~np.isnan(matrix[:, 0]) & ~np.isnan(matrix[:, 1])
    expected = np.corrcoef(matrix[both, 0], matrix[both, 1])[0, 1]
    assert correlations[0, 1] == pytest.approx(expected)
    weights = correlation_aware_weights(matrix)
    assert np.isfinite(weights).all() and weights.sum() == pytest.approx(1.0)


def test_no_varying_column_is_an_error():
    with pytest.raises(ValueError, match="vary"):
        correlation_aware_weights(np.ones((10, 2)))
