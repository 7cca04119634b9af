"""Jurors' judgments of one item combined into the jury's, and a juror's confidence."""

import pytest

from judgment_builders import judgment
from jurist.core.judgment import CriterionScore, PairVerdict
from jurist.core.rubric import rubric_from_dict
from jurist.jury import JuryRule, cascade_judgment, combine_judgments, confidence

SCALE = {1: "bad", 2: "poor", 3: "fair", 4: "good", 5: "great"}
RUBRIC = rubric_from_dict(
    {
        "name": "r",
        "criteria": [
            {"id": "a", "question": "A?", "scale": SCALE, "weight": 1},
            {"id": "b", "question": "B?", "scale": SCALE, "weight": 3},
        ],
    }
)


def pointwise(a: float | None, b: float | None, calls: int = 2, **extra):
    def score(value):
        if value is None:
            return {"status": "parse_error", "error": "no score"}
        return {"status": "ok", "score": value, **extra}

    return judgment(
        "item", 0, criteria={"a": score(a), "b": score(b)}, calls=calls, labels={"a": 3}
    )


def test_mean_jury_keeps_each_jurors_scores_and_sums_usage():
    jurors = {"x": pointwise(2, 5), "y": pointwise(4, 5), "z": pointwise(3, 1, calls=3)}
    jury = combine_judgments(jurors, RUBRIC, JuryRule("mean"))
    assert jury.status == "ok"
    assert jury.criteria["a"].score == pytest.approx(3.0)
    assert jury.criteria["b"].score == pytest.approx(11 / 3)
    assert jury.criteria["a"].jurors == {"x": 2, "y": 4, "z": 3}
    assert jury.calls == 7 and jury.labels == {"a": 3} and jury.item_id == "item"
    # overall: (1 * (3-1)/4 + 3 * (11/3-1)/4) / 4
    assert jury.overall == pytest.approx((0.5 + 3 * (8 / 3) / 4) / 4, abs=1e-6)
    # both criteria spread beyond the default threshold of 1 point (2 and 4)
    assert jury.criteria["a"].review is True and jury.criteria["b"].review is True
    assert jury.criteria["a"].agreement == pytest.approx(1 / 3)
    assert jury.judge == "jury[mean](x, y, z)"


def test_review_threshold_and_median():
    jurors = {"x": pointwise(3, 4), "y": pointwise(4, 4), "z": pointwise(4, 5)}
    jury = combine_judgments(jurors, RUBRIC, JuryRule("median", disagreement=1.0))
    assert jury.criteria["a"].score == 4.0 and jury.criteria["a"].review is False
    strict = combine_judgments(jurors, RUBRIC, JuryRule("median", disagreement=0.5))
    assert strict.criteria["a"].review is True


def test_weighted_jury_uses_per_criterion_weights():
    jurors = {"x": pointwise(2, 2), "y": pointwise(5, 5)}
    rule = JuryRule("weighted", weights={"x": {"a": 0.9, "b": 0.1}, "y": {"a": 0.3, "*": 0.3}})
    jury = combine_judgments(jurors, RUBRIC, rule)
    assert jury.criteria["a"].score == pytest.approx((0.9 * 2 + 0.3 * 5) / 1.2)
    assert jury.criteria["b"].score == pytest.approx((0.1 * 2 + 0.3 * 5) / 0.4)


def test_a_criterion_needs_more_than_half_the_jurors():
    two_of_three = {"x": pointwise(2, None), "y": pointwise(4, None), "z": pointwise(None, 3)}
    jury = combine_judgments(two_of_three, RUBRIC, JuryRule("mean"))
    assert jury.criteria["a"].status == "ok" and jury.criteria["a"].score == 3.0
    assert jury.criteria["a"].jurors == {"x": 2, "y": 4, "z": None}
    assert jury.criteria["b"].status == "parse_error" and jury.criteria["b"].score is None
    assert jury.status == "parse_error" and jury.overall is None


def test_expected_scores_are_combined_when_every_answering_juror_has_one():
    jurors = {"x": pointwise(2, 2, expected=2.5), "y": pointwise(4, 4, expected=3.5)}
    jury = combine_judgments(jurors, RUBRIC, JuryRule("mean"))
    assert jury.criteria["a"].expected == pytest.approx(3.0)


def pair(verdict, p_a=None, status="ok"):
    return judgment(
        "p",
        0,
        mode="pairwise",
        pair=PairVerdict(status=status, verdict=verdict, p_a=p_a),
        status=status,
    )


def test_pairwise_jury_votes_on_one_line():
    jurors = {"x": pair("A", 0.8), "y": pair("B", 0.3), "z": pair("A", 0.7)}
    jury = combine_judgments(jurors, RUBRIC, JuryRule("majority"))
    assert jury.pair.verdict == "A" and jury.pair.jurors == {"x": "A", "y": "B", "z": "A"}
    assert jury.pair.p_a == pytest.approx(0.6)  # majority of 0.8, 0.3, 0.7: no repeat, mean
    assert jury.pair.review is True  # A against B
    split = combine_judgments({"x": pair("A"), "y": pair("B")}, RUBRIC, JuryRule("mean"))
    assert split.pair.verdict == "tie" and split.pair.p_a is None
    mild = combine_judgments({"x": pair("A"), "y": pair("tie")}, RUBRIC, JuryRule("mean"))
    assert mild.pair.verdict == "A" and mild.pair.review is False


def test_cascade_judgment_is_the_deciders_with_the_jurors_asked():
    cheap, strong = pointwise(2, 2, calls=2), pointwise(4, 5, calls=2)
    decided = cascade_judgment({"cheap": cheap, "strong": strong}, "cascade")
    assert decided.criteria["a"].score == 4 and decided.calls == 4
    assert decided.criteria["a"].jurors == {"cheap": 2, "strong": 4}
    alone = cascade_judgment({"cheap": cheap}, "cascade")
    assert alone.criteria["a"].jurors == {"cheap": 2} and alone.judge == "cascade"


def test_confidence_from_samples_distribution_or_orders():
    sampled = judgment(
        "i",
        0,
        criteria={
            "a": CriterionScore(status="ok", score=3, samples=[3, 3, 2], agreement=2 / 3),
            "b": CriterionScore(status="ok", score=4, distribution={"4": 0.9, "5": 0.1}),
        },
    )
    assert confidence(sampled) == pytest.approx(2 / 3)
    assert confidence(pointwise(3, 3)) is None  # neither samples nor probabilities
    assert confidence(pair("B", 0.2)) == pytest.approx(0.8)
    unsure = judgment(
        "p", 0, mode="pairwise", pair=PairVerdict(status="ok", verdict="tie", consistent=False)
    )
    assert confidence(unsure) == 0.5
    assert confidence(pair(None, status="failed")) is None
