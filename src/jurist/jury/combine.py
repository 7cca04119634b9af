"""One jury judgment from its jurors' judgments of an item, and a juror's confidence.

The jury's judgment has the shape of its mode (so `jurist meta`, `compare` and the summary
read it as any other) with each criterion's aggregated score, and keeps every juror's own
score beside it in `jurors`. A criterion is decided once more than half the jurors
answered it; otherwise it keeps the worst status among them, with no made-up score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jurist.core.judgment import (
    CriterionScore,
    Judgment,
    PairVerdict,
    PairwiseJudgment,
    PointwiseJudgment,
    Status,
    combined_status,
)
from jurist.core.rubric import Rubric
from jurist.judges.pointwise import overall_score
from jurist.jury.aggregation import (
    Method,
    aggregate,
    majority_share,
    spread,
    verdict_of,
    verdict_value,
)
from jurist.jury.weights import PAIR

USAGE = ("prompt_tokens", "completion_tokens", "latency_s", "calls", "cache_hits")


@dataclass(frozen=True)
class JuryRule:
    """How a jury's values are combined and when it is split enough to need a human.

    `weights[juror][criterion]` (criterion `pair` for verdicts, `*` for any) is used by
    `weighted`; a juror or criterion missing there weighs 1.
    """

    method: Method = "mean"
    trim: float = 0.2
    weights: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    disagreement: float | None = None

    def weight(self, juror: str, key: str) -> float:
        given = self.weights.get(juror, {})
        return float(given.get(key, given.get("*", 1.0)))

    def threshold(self, pairwise: bool) -> float:
        if self.disagreement is not None:
            return self.disagreement
        return 0.5 if pairwise else 1.0

    def combine(
        self, values: Sequence[float | None], jurors: Sequence[str], key: str
    ) -> float | None:
        weights = [self.weight(j, key) for j in jurors] if self.method == "weighted" else None
        return aggregate(values, self.method, weights=weights, trim=self.trim)


def jury_name(rule_name: str, jurors: Sequence[str]) -> str:
    return f"jury[{rule_name}]({', '.join(jurors)})"


def combine_judgments(
    judgments: Mapping[str, Judgment], rubric: Rubric, rule: JuryRule, name: str | None = None
) -> Judgment:
    """The jury's judgment from each juror's judgment of one item (all of the same mode)."""
    jurors = list(judgments)
    first = judgments[jurors[0]]
    base = _base_fields(first, judgments, name or jury_name(rule.method, jurors))
    if isinstance(first, PointwiseJudgment):
        criteria = {c.id: _criterion(c.id, jurors, judgments, rule) for c in rubric.criteria}
        return PointwiseJudgment(
            status=combined_status([s.status for s in criteria.values()]),
            criteria=criteria,
            overall=overall_score(rubric, criteria),
            **base,
        )
    if isinstance(first, PairwiseJudgment):
        pair = _pair(jurors, judgments, rule)
        return PairwiseJudgment(
            status=pair.status, pair=pair, response_b_chars=first.response_b_chars, **base
        )
    raise ValueError(f"a jury judges pointwise or pairwise, not {first.mode}")


def _base_fields(first: Judgment, judgments: Mapping[str, Judgment], name: str) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "item_id": first.item_id,
        "index": first.index,
        "judge": name,
        "rubric": first.rubric,
        "rubric_hash": first.rubric_hash,
        "labels": first.labels,
        "metadata": first.metadata,
        "response_chars": first.response_chars,
    }
    for usage in USAGE:
        fields[usage] = sum(getattr(j, usage) for j in judgments.values())
    return fields


def _quorum(statuses: list[Status]) -> bool:
    return 2 * statuses.count("ok") > len(statuses)


def _criterion(
    cid: str, jurors: list[str], judgments: Mapping[str, Judgment], rule: JuryRule
) -> CriterionScore:
    scores = [_juror_score(judgments[j], cid) for j in jurors]
    statuses: list[Status] = [s.status if s is not None else "failed" for s in scores]
    values = [s.score if s is not None and s.status == "ok" else None for s in scores]
    by_juror = dict(zip(jurors, values, strict=True))
    if not _quorum(statuses):
        problems = [s for s in scores if s is not None and s.status != "ok"]
        error = next((s.error for s in problems if s.error), None)
        return CriterionScore(status=combined_status(statuses), jurors=by_juror, error=error)
    expected = [s.expected if s is not None else None for s in scores]
    answered = [e for e, v in zip(expected, values, strict=True) if v is not None]
    distance = spread(values)
    return CriterionScore(
        status="ok",
        score=rule.combine(values, jurors, cid),
        expected=rule.combine(expected, jurors, cid) if None not in answered else None,
        agreement=majority_share(values),
        std=_std(values),
        jurors=by_juror,
        review=distance is not None and distance > rule.threshold(pairwise=False),
    )


def _juror_score(judgment: Judgment, cid: str) -> CriterionScore | None:
    if isinstance(judgment, PointwiseJudgment):
        return judgment.criteria.get(cid)
    return None


def _std(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    if len(present) < 2:
        return None
    mean = sum(present) / len(present)
    return round((sum((v - mean) ** 2 for v in present) / (len(present) - 1)) ** 0.5, 6)


def _pair(jurors: list[str], judgments: Mapping[str, Judgment], rule: JuryRule) -> PairVerdict:
    pairs = [j.pair if isinstance(j, PairwiseJudgment) else None for j in judgments.values()]
    statuses: list[Status] = [p.status if p is not None else "failed" for p in pairs]
    verdicts = [p.verdict if p is not None and p.status == "ok" else None for p in pairs]
    by_juror = dict(zip(jurors, verdicts, strict=True))
    if not _quorum(statuses):
        error = next((p.error for p in pairs if p is not None and p.error), None)
        return PairVerdict(status=combined_status(statuses), jurors=by_juror, error=error)
    values = [verdict_value(v) for v in verdicts]
    p_a = [
        p.p_a if p is not None else None
        for p, v in zip(pairs, values, strict=True)
        if v is not None
    ]
    answering = [j for j, v in zip(jurors, values, strict=True) if v is not None]
    distance = spread(values)
    return PairVerdict(
        status="ok",
        verdict=verdict_of(rule.combine(values, jurors, PAIR)),
        p_a=rule.combine(p_a, answering, PAIR) if None not in p_a else None,
        jurors=by_juror,
        review=distance is not None and distance > rule.threshold(pairwise=True),
    )


def confidence(judgment: Judgment) -> float | None:
    """How sure a juror is of an item: its weakest criterion's sample agreement (with
    several samples) or top-score probability; for a pair, the probability of the side it
    chose, or whether both presentation orders agreed. None when it cannot say."""
    if isinstance(judgment, PointwiseJudgment):
        found = [_criterion_confidence(s) for s in judgment.criteria.values()]
        if not found or None in found:
            return None
        return min(c for c in found if c is not None)
    if isinstance(judgment, PairwiseJudgment) and judgment.pair is not None:
        pair = judgment.pair
        if pair.status != "ok":
            return None
        if pair.p_a is not None:
            return max(pair.p_a, 1.0 - pair.p_a)
        if pair.consistent is not None:
            return 1.0 if pair.consistent else 0.5
    return None


def _criterion_confidence(score: CriterionScore) -> float | None:
    if score.status != "ok":
        return None
    if len(score.samples) > 1 and score.agreement is not None:
        return score.agreement
    if score.distribution:
        return max(score.distribution.values())
    return None


def cascade_judgment(judgments: Mapping[str, Judgment], name: str) -> Judgment:
    """A cascade's judgment: the last juror asked decides; the jurors asked before it are
    kept beside its scores (so escalations show), and every juror's calls are counted."""
    jurors = list(judgments)
    decider = judgments[jurors[-1]]
    usage = {u: sum(getattr(j, u) for j in judgments.values()) for u in USAGE}
    if isinstance(decider, PointwiseJudgment):
        criteria = {
            cid: score.model_copy(
                update={"jurors": {j: _score_value(judgments[j], cid) for j in jurors}}
            )
            for cid, score in decider.criteria.items()
        }
        return decider.model_copy(update={"judge": name, "criteria": criteria, **usage})
    if isinstance(decider, PairwiseJudgment) and decider.pair is not None:
        verdicts = {
            j: p.pair.verdict if isinstance(p, PairwiseJudgment) and p.pair else None
            for j, p in judgments.items()
        }
        pair = decider.pair.model_copy(update={"jurors": verdicts})
        return decider.model_copy(update={"judge": name, "pair": pair, **usage})
    return decider.model_copy(update={"judge": name, **usage})


def _score_value(judgment: Judgment, cid: str) -> float | None:
    score = _juror_score(judgment, cid)
    return score.score if score is not None and score.status == "ok" else None
