"""What `jurist tune` chooses among: a reading (how the judge is asked) and, per criterion,
an estimator (which number of its answer is read) and a calibration (how that number is
mapped onto the people's scale).

With a white-box judge the learned estimators join in: LAGER layer weights and a ridge
probe on a hidden state, fitted on labelled items like a calibration map (and already on
the people's scale, so they take no further map).

A reading changes the prompts or the samples, so each costs a grading pass (cached); an
estimator or a calibration only changes how the same answers are read, so they are free.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from itertools import product
from typing import Literal

from jurist.core.judgment import CriterionScore, Judgment, PointwiseJudgment
from jurist.judges.base import Layout, Rationale
from jurist.session import JudgeSetup

__all__ = [
    "CALIBRATIONS",
    "DEFAULT_READING",
    "ESTIMATORS",
    "LEARNED",
    "CalibrationKind",
    "Candidate",
    "Cost",
    "Estimator",
    "Reading",
    "calibrations_for",
    "candidates",
    "measured_cost",
    "raw_score",
    "readings",
]

Estimator = Literal["parsed", "expected", "lager", "probe"]
CalibrationKind = Literal["none", "isotonic", "ordinal", "linear"]
# Read off every judge's answer; LEARNED ones need a white-box judge and a fit.
ESTIMATORS: tuple[Estimator, ...] = ("parsed", "expected")
LEARNED: tuple[Estimator, ...] = ("lager", "probe")
# What `tune` chooses among; `linear` serves maps applied beyond the scores they were
# fitted on (a built-in profile's general map), where a flat end would tie every item.
CALIBRATIONS: tuple[CalibrationKind, ...] = ("none", "isotonic", "ordinal")


def calibrations_for(estimator: str) -> tuple[CalibrationKind, ...]:
    """A learned estimator is fitted to the labels: a second map on the same items would
    be fitted on in-sample predictions, so it takes none."""
    return ("none",) if estimator in LEARNED else CALIBRATIONS


@dataclass(frozen=True)
class Reading:
    """How the judge is asked: rationale placement, prompt layout and samples per call."""

    rationale: Rationale = "before"
    layout: Layout = "rubric-first"
    samples: int = 1

    @property
    def name(self) -> str:
        return f"{self.rationale}/{self.layout}/x{self.samples}"

    def setup(self, base: JudgeSetup) -> JudgeSetup:
        """`base` asked this way (everything else, judge and call policy included, kept)."""
        options = replace(base.options, rationale=self.rationale, layout=self.layout)
        sampling = replace(base.sampling, samples=self.samples)
        return replace(base, options=options, sampling=sampling)

    @classmethod
    def of(cls, setup: JudgeSetup) -> Reading:
        options = setup.options
        return cls(options.rationale, options.layout, setup.sampling.samples)


DEFAULT_READING = Reading()


@dataclass(frozen=True)
class Candidate:
    """One way to score a criterion: a reading, an estimator and a calibration."""

    reading: Reading
    estimator: Estimator
    calibration: CalibrationKind

    @property
    def name(self) -> str:
        return f"{self.reading.name} {self.estimator} {self.calibration}"


@dataclass(frozen=True)
class Cost:
    """What one item costs under a reading: model calls, tokens and seconds. Tokens and
    seconds are NaN (not measured) when any of the reading's answers came from the cache:
    a cached answer costs nothing now, and says nothing about what it cost once."""

    calls: float = 0.0
    tokens: float = math.nan
    seconds: float = math.nan

    @property
    def measured(self) -> bool:
        return not math.isnan(self.seconds)


def readings(
    rationales: Sequence[Rationale] = ("before", "none"),
    layouts: Sequence[Layout] = ("rubric-first", "item-first"),
    samples: Sequence[int] = (1, 3),
) -> list[Reading]:
    """Every combination, the cheapest (score-only, one sample) first."""
    found = [Reading(r, lay, s) for s, r, lay in product(samples, rationales[::-1], layouts)]
    return sorted(found, key=lambda r: (r.samples, r.rationale != "none"))


def candidates(
    chosen: Iterable[Reading],
    estimators: Sequence[Estimator] = ESTIMATORS,
    calibrations: Sequence[CalibrationKind] = CALIBRATIONS,
) -> list[Candidate]:
    return [Candidate(r, e, c) for r in chosen for e in estimators for c in calibrations]


def raw_score(score: CriterionScore | None, estimator: Estimator) -> float:
    """The number an estimator reads (NaN: none). `expected` falls back to the parsed score
    where the judge gave no token probabilities; with several samples `parsed` is their
    mean, so both estimators use every sample."""
    if score is None or score.status != "ok":
        return math.nan
    parsed = score.mean if score.mean is not None else score.score
    value = score.expected if estimator == "expected" and score.expected is not None else parsed
    return math.nan if value is None else float(value)


def measured_cost(judgments: Sequence[Judgment], seconds: float) -> Cost:
    """Per-item cost of a graded sample that took `seconds` of wall time; calls count the
    answers an item needed, cached or not."""
    n = max(len(judgments), 1)
    calls = sum(j.calls + j.cache_hits for j in judgments) / n
    if any(j.cache_hits for j in judgments):
        return Cost(calls)
    tokens = sum(j.prompt_tokens + j.completion_tokens for j in judgments)
    return Cost(calls, tokens / n, seconds / n)


def criteria_of(judgments: Sequence[Judgment]) -> list[str]:
    """The criteria the pointwise judgments scored, in rubric order."""
    for judgment in judgments:
        if isinstance(judgment, PointwiseJudgment) and judgment.criteria:
            return list(judgment.criteria)
    return []
