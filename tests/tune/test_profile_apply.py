"""A profile's calibration and intervals on a judgment, and the summary that shows them."""

from __future__ import annotations

from jurist.core.judgment import CriterionScore, PointwiseJudgment
from jurist.engine.summary import GradeSummary, SummaryBuilder
from jurist.tune import CriterionProfile, Profile, Provenance


def profile() -> Profile:
    return Profile(
        judge="local",
        options={"rationale": "none"},
        criteria={
            "q": CriterionProfile(
                estimator="expected",
                calibration={"kind": "isotonic", "knots_x": [1, 5], "knots_y": [2, 4]},
                conformal={"coverage": 0.9, "radius": 0.5, "n": 50},
                bounds=(1, 5),
                points=[1, 2, 3, 4, 5],
            )
        },
        provenance=Provenance(rubric="r", rubric_hash="h", data_hash="d", n=50, groups=10),
    )


def judgment(expected: float) -> PointwiseJudgment:
    score = CriterionScore(status="ok", score=4, expected=expected)
    return PointwiseJudgment(
        item_id="i", index=0, status="ok", judge="local", rubric="r", rubric_hash="h",
        criteria={"q": score},
    )  # fmt: skip


def test_apply_puts_calibrated_score_interval_and_set_beside_the_raw_ones():
    applied = profile().apply(judgment(3.0))
    score = applied.criteria["q"]
    assert score.score == 4 and score.expected == 3.0  # the raw ones stay
    assert score.extras["calibrated"] == 3.0  # halfway between knots 2 and 4
    assert score.extras["interval"] == [2.5, 3.5]
    assert score.extras["prediction_set"] == [3]
    line = applied.model_dump(mode="json")["criteria"]["q"]
    assert line["calibrated"] == 3.0 and line["interval"] == [2.5, 3.5]


def test_summary_shows_calibrated_means_only_for_profiled_runs():
    plain, profiled = SummaryBuilder(), SummaryBuilder()
    for value in (2.0, 3.0, 4.0):
        plain.add(judgment(value))
        profiled.add(profile().apply(judgment(value)))
    assert "calibrated" not in plain.build()["criteria"]["q"]
    built = profiled.build()["criteria"]["q"]
    assert built["calibrated"]["mean"] == 3.0 and built["interval_width"]["mean"] == 1.0
    summary = GradeSummary.model_validate(profiled.build())
    assert "calibrated" in summary.as_dict()["criteria"]["q"]
    assert "calibrated" not in GradeSummary.model_validate(plain.build()).as_dict()["criteria"]["q"]
    table = summary.render()[1]
    assert [c.header for c in table.columns][-2:] == ["calibrated", "interval width"]
