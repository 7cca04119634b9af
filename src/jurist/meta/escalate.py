"""Abstain or escalate, measured on a labelled run (`jurist meta --escalate-target 0.9`).

The judge's confidence in a verdict is the probability it gave that verdict: for a score,
the share of its score distribution on the score it chose (else the share of its samples
that agree); for a pair, P(A) + P(tie)/2 for A and its complement for B. A merged tie is
the two orders disagreeing, not a confident verdict, so it always escalates, as does
any verdict whose confidence is unknown. The threshold comes from
`jurist.jury.escalate.trust_threshold`: kept verdicts agree with people at least
`target` of the time with probability 1 - alpha; the rest go to the next juror of a
cascade or to a person.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from rich.console import RenderableType

from jurist.core.judgment import PairwiseJudgment, PointwiseJudgment
from jurist.jury.escalate import DEFAULT_GRID, Escalation, trust_threshold
from jurist.meta.figures import Figure, Part
from jurist.meta.join import CriterionData, PairData, Results
from jurist.meta.text import est, line
from jurist.stats.arrays import FloatArray


class EscalationBlock(Part):
    """Where the judge should stop trusting itself for this criterion or these pairs."""

    _OPTIONAL = frozenset({"tolerance", "note"})

    target: float
    alpha: float
    threshold: float | None  # None: no threshold passed, every verdict escalates
    kept: Figure  # share of the labelled items kept
    agreement: Figure  # agreement with people on the kept ones
    lower_bound: float  # one-sided (1 - alpha) Clopper-Pearson bound on that agreement
    thresholds_tested: int
    run_items: int  # every item of the run the judge answered
    run_kept: int  # of those, how many the threshold keeps
    tolerance: float | None = None
    note: str | None = None

    @classmethod
    def of(
        cls, found: Escalation, run_confidence: FloatArray, tolerance: float | None = None
    ) -> EscalationBlock:
        known = ~np.isnan(run_confidence)
        return cls(
            target=found.target,
            alpha=found.alpha,
            threshold=None if math.isinf(found.threshold) else found.threshold,
            kept=Figure.of(found.kept),
            agreement=Figure.of(found.agreement),
            lower_bound=found.lower_bound,
            thresholds_tested=len(found.tests),
            run_items=int(known.sum()),
            run_kept=int((run_confidence[known] >= found.threshold).sum()),
            tolerance=tolerance,
            note=None if found.tests else "too few labelled items to test any threshold",
        )

    def render(self, name: str = "") -> list[RenderableType]:
        aim = f"  escalation for agreement ≥ {self.target:g} with probability {1 - self.alpha:.0%}"
        if self.threshold is None:
            reason = self.note or f"no threshold passed ({self.thresholds_tested} tested)"
            return [line(f"{aim}: escalate every verdict; {reason}")]
        sent = self.run_items - self.run_kept
        return [
            line(
                f"{aim}: keep confidence ≥ {self.threshold:g}; kept {est(self.kept)} of the "
                f"labelled items, agreeing {est(self.agreement)} (one-sided lower bound "
                f"{self.lower_bound:.3f})"
            ),
            line(
                f"  on the whole run: {self.run_kept} of {self.run_items} verdicts kept, "
                f"{sent} to the next juror or to review"
            ),
        ]


def score_confidence(results: Results, criterion: str) -> FloatArray:
    """Per judgment, the judge's probability for the score it gave (NaN: unknown)."""
    out = np.full(len(results), np.nan)
    for i, j in enumerate(results.judgments):
        cs = j.criteria.get(criterion) if isinstance(j, PointwiseJudgment) else None
        if cs is None or cs.status != "ok" or cs.score is None:
            continue
        if cs.distribution:
            total = sum(cs.distribution.values())
            mass = sum(p for k, p in cs.distribution.items() if _number(k) == cs.score)
            out[i] = mass / total if total > 0 else np.nan
        elif cs.agreement is not None:
            out[i] = cs.agreement
    return out


def _number(key: str) -> float | None:
    try:
        return float(key)
    except ValueError:
        return None


def pair_confidence(results: Results) -> FloatArray:
    """Per pair, P(the merged verdict): p_a for A, 1 - p_a for B; NaN for ties and
    verdicts without probabilities."""
    out = np.full(len(results), np.nan)
    for i, j in enumerate(results.judgments):
        pair = j.pair if isinstance(j, PairwiseJudgment) else None
        if pair is None or j.status != "ok" or pair.p_a is None:
            continue
        if pair.verdict == "A":
            out[i] = pair.p_a
        elif pair.verdict == "B":
            out[i] = 1.0 - pair.p_a
    return out


def criterion_escalation(
    results: Results,
    data: CriterionData,
    target: float,
    *,
    alpha: float = 0.1,
    tolerance: float = 0.5,
    grid: Sequence[float] = DEFAULT_GRID,
) -> EscalationBlock | None:
    """The escalation threshold for one labelled criterion: a parsed score agrees when it
    is within `tolerance` of the people's mean (0.5: the same scale point)."""
    if data.label_field is None or not (~np.isnan(data.human)).any():
        return None
    confidence = score_confidence(results, data.criterion)
    with np.errstate(invalid="ignore"):
        close = (np.abs(data.score - data.human) <= tolerance).astype(float)
    agree = np.where(np.isnan(data.score) | np.isnan(data.human), np.nan, close)
    found = trust_threshold(confidence, agree, target, alpha=alpha, grid=grid)
    return EscalationBlock.of(found, confidence, tolerance)


def pair_escalation(
    results: Results,
    data: PairData,
    target: float,
    *,
    alpha: float = 0.1,
    grid: Sequence[float] = DEFAULT_GRID,
) -> EscalationBlock | None:
    """The escalation threshold for pairwise verdicts against the people's preference."""
    labelled = np.array([v is not None for v in data.label.tolist()], dtype=bool)
    if not labelled.any():
        return None
    answered = np.array([v is not None for v in data.verdict.tolist()], dtype=bool)
    agree = np.full(len(data.label), np.nan)
    both = labelled & answered
    agree[both] = (data.verdict[both] == data.label[both]).astype(float)
    confidence = pair_confidence(results)
    found = trust_threshold(confidence, agree, target, alpha=alpha, grid=grid)
    return EscalationBlock.of(found, confidence)
