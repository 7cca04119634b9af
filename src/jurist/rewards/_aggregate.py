"""Reward arithmetic: one judgment in, one number (or None) out.

Kept free of judging and I/O so each aggregation can be checked against hand-computed values.
A part the judge did not answer gives None, never a default: a made-up 0 would teach the
policy that the judge's failures are bad answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from jurist.core.errors import ConfigError
from jurist.core.judgment import (
    ChecklistDecision,
    ChecklistJudgment,
    CriterionScore,
    Judgment,
    PointwiseJudgment,
    Status,
)
from jurist.core.rubric import Criterion, Rubric

Part = Literal["checklist", "criteria"]
HOLISTIC_ID = "overall"


def resolve_part(rubric: Rubric, part: Part | None) -> Part:
    """Which half of the rubric a reward judges: the one it has, or the one named."""
    if part is not None:
        if not getattr(rubric, part):
            raise ConfigError(f"rubric {rubric.name!r} has no {part} to reward")
        return part
    if rubric.checklist and rubric.criteria:
        raise ConfigError(
            f"rubric {rubric.name!r} has both checklist items and Likert criteria; "
            "pass part='checklist' or part='criteria'"
        )
    return "checklist" if rubric.checklist else "criteria"


def mode_of(part: Part) -> str:
    return "checklist" if part == "checklist" else "pointwise"


def decision_value(decision: ChecklistDecision | None, use_probabilities: bool) -> float | None:
    """c_i: P(yes) where the backend read it, else 1 for yes and 0 for no."""
    if decision is None or decision.status != "ok" or decision.answer is None:
        return None
    if use_probabilities and decision.p_yes is not None:
        return decision.p_yes
    return 1.0 if decision.answer == "yes" else 0.0


def checklist_reward(weights: Sequence[float], values: Sequence[float]) -> float:
    """r = sum_i w_i c_i / sum_{w_i > 0} w_i (Rubrics as Rewards, explicit aggregation).

    Not floored at zero: a response that hits pitfalls and meets nothing scores below one
    that merely meets nothing, and the policy should feel that difference."""
    positive = sum(w for w in weights if w > 0)
    if positive <= 0:
        raise ConfigError("a checklist reward needs at least one item with a positive weight")
    return sum(w * c for w, c in zip(weights, values, strict=True)) / positive


def criterion_value(
    score: CriterionScore | None, criterion: Criterion, use_probabilities: bool
) -> float | None:
    """A Likert score on [0, 1]: the expected score where probabilities are known."""
    if score is None or score.status != "ok" or score.score is None:
        return None
    raw = score.expected if use_probabilities and score.expected is not None else score.score
    return criterion.normalise(raw)


def likert_reward(weights: Sequence[float], values: Sequence[float]) -> float:
    """The weighted mean of normalised criterion scores."""
    total = sum(weights)
    if total <= 0:
        raise ConfigError("a Likert reward needs at least one criterion with a positive weight")
    return sum(w * v for w, v in zip(weights, values, strict=True)) / total


def explicit_value(judgment: Judgment, rubric: Rubric, use_probabilities: bool) -> float | None:
    """Every part judged separately, combined by the rubric's weights; None if any part
    has no answer (a sum over the answered parts would reward the judge's silence)."""
    if isinstance(judgment, ChecklistJudgment):
        values = [
            decision_value(judgment.checklist.get(c.id), use_probabilities)
            for c in rubric.checklist
        ]
        if any(v is None for v in values):
            return None
        return checklist_reward([c.weight for c in rubric.checklist], [v or 0.0 for v in values])
    if isinstance(judgment, PointwiseJudgment):
        scores = [
            criterion_value(judgment.criteria.get(c.id), c, use_probabilities)
            for c in rubric.criteria
        ]
        if any(v is None for v in scores):
            return None
        return likert_reward([c.weight for c in rubric.criteria], [v or 0.0 for v in scores])
    raise ConfigError(f"a {judgment.mode} judgment cannot be turned into a rubric reward")


def part_outcome(
    judgment: Judgment, rubric: Rubric, part_id: str, use_probabilities: bool
) -> tuple[Status, float | None]:
    """One checklist item's c_i or one criterion's normalised score, with its status."""
    if isinstance(judgment, ChecklistJudgment):
        decision = judgment.checklist.get(part_id)
        if decision is None:
            return "failed", None
        return decision.status, decision_value(decision, use_probabilities)
    if isinstance(judgment, PointwiseJudgment):
        score = judgment.criteria.get(part_id)
        if score is None:
            return "failed", None
        return score.status, criterion_value(score, rubric.criterion(part_id), use_probabilities)
    raise ConfigError(f"a {judgment.mode} judgment cannot be turned into a rubric reward")


def part_weights(rubric: Rubric, part: Part) -> dict[str, float]:
    """Weights for one reward function per part, normalised so that the trainer's weighted
    sum of the parts equals the explicit reward (TRL's `reward_weights`)."""
    if part == "checklist":
        positive = sum(c.weight for c in rubric.checklist if c.weight > 0)
        return {c.id: c.weight / positive for c in rubric.checklist}
    total = sum(c.weight for c in rubric.criteria)
    if total <= 0:
        raise ConfigError(f"rubric {rubric.name!r}: criteria weights sum to zero")
    return {c.id: c.weight / total for c in rubric.criteria}


def passed(judgment: Judgment, rubric: Rubric) -> dict[str, float]:
    """What each answered part contributes to the step's pass rates: 1 when a checklist
    item's requirement holds (yes to a positive item, no to a pitfall), else 0; a Likert
    criterion's normalised score."""
    found: dict[str, float] = {}
    if isinstance(judgment, ChecklistJudgment):
        for check in rubric.checklist:
            decision = judgment.checklist.get(check.id)
            if decision is not None and decision.status == "ok" and decision.answer is not None:
                found[check.id] = float((decision.answer == "yes") == (check.weight > 0))
    elif isinstance(judgment, PointwiseJudgment):
        for criterion in rubric.criteria:
            value = criterion_value(judgment.criteria.get(criterion.id), criterion, False)
            if value is not None:
                found[criterion.id] = value
    return found


def first_error(judgment: Judgment) -> str | None:
    """The first reason a part has no answer, for the message when too many failed."""
    parts: list[ChecklistDecision | CriterionScore] = []
    if isinstance(judgment, ChecklistJudgment):
        parts = list(judgment.checklist.values())
    elif isinstance(judgment, PointwiseJudgment):
        parts = list(judgment.criteria.values())
    for part in parts:
        if part.status != "ok":
            return part.error or f"{part.status} (raw answer: {(part.raw or '')[:80]!r})"
    return None


def holistic_rubric(rubric: Rubric, scale: tuple[int, int]) -> Rubric:
    """One Likert criterion that shows the judge every part with its weight (RaR's implicit
    aggregation): the judge weighs the parts itself and answers once."""
    low, high = scale
    if high - low < 1:
        raise ConfigError(f"implicit reward scale {scale} needs at least two points")
    lines = [f"- [weight {c.weight:g}] {c.text}" for c in rubric.checklist]
    lines += [f"- [weight {c.weight:g}] {c.question}" for c in rubric.criteria]
    pitfalls = any(c.weight < 0 for c in rubric.checklist)
    question = (
        "Taking all of the following criteria together, how well does the response do? "
        "Criteria with a larger weight matter more"
        + ("; a negative weight marks a pitfall the response must avoid" if pitfalls else "")
        + ".\n"
        + "\n".join(lines)
    )
    descriptors = {
        low: "meets none of the criteria" + (", or falls into the pitfalls" if pitfalls else "")
    }
    for point in range(low + 1, high):
        share = round(100 * (point - low) / (high - low))
        descriptors[point] = f"meets about {share}% of what the criteria ask, by weight"
    descriptors[high] = "meets every criterion" + (" and avoids every pitfall" if pitfalls else "")
    criterion = Criterion(id=HOLISTIC_ID, question=question, range=scale, scale=descriptors)
    return Rubric(name=rubric.name, description=rubric.description, criteria=[criterion])


def holistic_value(judgment: Judgment, rubric: Rubric, use_probabilities: bool) -> float | None:
    """The implicit reward: the one holistic score mapped onto [0, 1]."""
    if not isinstance(judgment, PointwiseJudgment):
        raise ConfigError("an implicit reward reads a pointwise judgment")
    criterion = rubric.criteria[0]
    return criterion_value(judgment.criteria.get(criterion.id), criterion, use_probabilities)


def _status(judgment: Judgment, value: float | None) -> Status:
    if value is not None:
        return "ok"
    return judgment.status if judgment.status != "ok" else "failed"


@dataclass(frozen=True)
class Explicit:
    """Each checklist item (or Likert criterion) judged on its own, combined by weight."""

    part: Part | None = None
    use_probabilities: bool = True

    def judged(self, rubric: Rubric) -> tuple[str, Rubric]:
        return mode_of(resolve_part(rubric, self.part)), rubric

    def outcome(self, judgment: Judgment, rubric: Rubric) -> tuple[Status, float | None]:
        value = explicit_value(judgment, rubric, self.use_probabilities)
        return _status(judgment, value), value

    def passes(self, judgment: Judgment, rubric: Rubric) -> dict[str, float]:
        return passed(judgment, rubric)


@dataclass(frozen=True)
class Implicit:
    """The judge sees every criterion at once and gives one Likert score. The default
    scale has one token per point, so a backend's probabilities give an expected score
    (on RaR's 1-10, "1" and "10" begin with the same token and cannot be told apart)."""

    scale: tuple[int, int] = (1, 9)
    use_probabilities: bool = True

    def judged(self, rubric: Rubric) -> tuple[str, Rubric]:
        return "pointwise", holistic_rubric(rubric, self.scale)

    def outcome(self, judgment: Judgment, rubric: Rubric) -> tuple[Status, float | None]:
        value = holistic_value(judgment, rubric, self.use_probabilities)
        return _status(judgment, value), value

    def passes(self, judgment: Judgment, rubric: Rubric) -> dict[str, float]:
        return {}


@dataclass(frozen=True)
class OnePart:
    """One checklist item's c_i (or one criterion's normalised score) as its own reward."""

    part_id: str
    part: Part
    use_probabilities: bool = True

    def judged(self, rubric: Rubric) -> tuple[str, Rubric]:
        return mode_of(self.part), rubric

    def outcome(self, judgment: Judgment, rubric: Rubric) -> tuple[Status, float | None]:
        return part_outcome(judgment, rubric, self.part_id, self.use_probabilities)

    def passes(self, judgment: Judgment, rubric: Rubric) -> dict[str, float]:
        found = passed(judgment, rubric)
        return {self.part_id: found[self.part_id]} if self.part_id in found else {}


Aggregation = Explicit | Implicit | OnePart
