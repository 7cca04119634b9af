"""Inter-juror alpha against the `krippendorff` package, and the jury's tally of results."""

import krippendorff
import numpy as np
import pytest

from judgment_builders import judgment
from jurist.core.judgment import PairVerdict
from jurist.jury import JuryTally, inter_juror_alpha, tally


def test_inter_juror_alpha_matches_krippendorff_with_missing_scores():
    rng = np.random.default_rng(0)
    truth = rng.integers(1, 6, size=40)
    jurors = np.stack([np.clip(truth + rng.integers(-1, 2, size=40), 1, 5) for _ in range(3)])
    ratings = jurors.astype(float)
    ratings[1, 3] = ratings[2, 7] = ratings[0, 11] = np.nan
    ours = inter_juror_alpha(ratings, n_resamples=200)
    reference = krippendorff.alpha(reliability_data=ratings, level_of_measurement="ordinal")
    assert ours.value == pytest.approx(reference, abs=1e-9)
    assert ours.low <= ours.value <= ours.high
    assert ours.n == 40


def test_verdict_alpha_matches_krippendorff_ordinal():
    verdicts = np.array([[1, 0, 0.5, 1, 0, 1, 1, 0], [1, 0, 1, 1, 0, 0.5, 1, 0]])
    reference = krippendorff.alpha(reliability_data=verdicts, level_of_measurement="ordinal")
    assert inter_juror_alpha(verdicts, n_resamples=100).value == pytest.approx(reference)


def _jury_pointwise(item: str, index: int, scores: dict[str, float | None], review: bool):
    criterion = {"status": "ok", "score": 3.0, "jurors": scores, "review": review}
    return judgment(item, index, criteria={"c": criterion})


def test_tally_builds_the_matrix_flags_and_alpha():
    judgments = [
        _jury_pointwise("a", 0, {"x": 1.0, "y": 1.0}, False),
        _jury_pointwise("b", 1, {"x": 5.0, "y": 2.0}, True),
        _jury_pointwise("c", 2, {"x": 3.0, "y": None}, False),
        _jury_pointwise("d", 3, {"x": 4.0, "y": 4.0}, False),
        judgment("plain", 4, criteria={"c": {"status": "ok", "score": 2.0}}),  # not a jury's
    ]
    counter = JuryTally()
    for j in judgments:
        counter.add(j)
    matrix = counter.matrix("c")
    np.testing.assert_array_equal(matrix, [[1, 5, 3, 4], [1, 2, np.nan, 4]])
    built = counter.build(n_resamples=100)
    assert built["jurors"] == ["x", "y"]
    assert built["asked"] == {"x": 4, "y": 4}
    assert built["review_items"] == 1 and built["review_ids"] == ["b"]
    part = built["criteria"]["c"]
    assert part["items"] == 4 and part["review"] == 1
    reference = krippendorff.alpha(reliability_data=matrix, level_of_measurement="ordinal")
    assert part["alpha_ordinal"]["value"] == pytest.approx(reference)
    assert tally(judgments, n_resamples=100)["criteria"]["c"]["items"] == 4


def test_tally_reads_pair_verdicts():
    pairs = [
        judgment(
            str(i),
            i,
            mode="pairwise",
            pair=PairVerdict(status="ok", verdict="A", jurors={"x": vx, "y": vy}, review=rv),
        )
        for i, (vx, vy, rv) in enumerate([("A", "A", False), ("A", "B", True), ("B", "tie", False)])
    ]
    built = tally(pairs, n_resamples=100)
    assert built["criteria"]["pair"]["review"] == 1
    reference = krippendorff.alpha(
        reliability_data=[[1, 1, 0], [1, 0, 0.5]], level_of_measurement="ordinal"
    )
    assert built["criteria"]["pair"]["alpha_ordinal"]["value"] == pytest.approx(reference)
