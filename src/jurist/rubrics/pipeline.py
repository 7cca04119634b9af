"""Rubric authoring wired to the grading engine.

The authoring functions take their judge as a callback (`refine_rubric(grade_fn=...)`,
`generate_contrastive(judge_prefers=...)`) so they can be tested without one. Here those
callbacks are the real thing: the judges of `jurist.judges`, asked through a `JudgeSession`
(cache, retries, adaptive limits, as grading uses), so every call is cached like a grading
run's, and a re-run (or a second command over the same responses) makes no model calls.
Rubric-writing calls go through the same layers via `pipeline.backend`.

A pair is decided by grading each response alone under the rubric (pointwise) and
comparing, so a rubric's weights, scale descriptors and required checklist items all take
part; a session whose setup has `mode="pairwise"` asks the judge to compare the two directly.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from jurist.backends.base import Backend, CallStats
from jurist.core.data import Item
from jurist.core.judgment import Judgment, Status, Verdict, combined_status
from jurist.core.rubric import Rubric
from jurist.rubrics.contrastive import preference_label
from jurist.rubrics.refine import pair_sides
from jurist.session import JudgeSession
from jurist.stats import Estimate, pairwise_accuracy
from jurist.store import Store

Mode = Literal["pointwise", "pairwise"]

# Two combined scores closer than this are a tie: float noise must not pick a winner.
TIE_TOLERANCE = 1e-9


Usage = CallStats  # calls made, answers from the cache, retries: over all a pipeline ran


@dataclass(frozen=True)
class ResponseScore:
    """One response under one rubric: the combined score in [0, 1] (None unless every part
    was judged), how many required checklist items it failed, and each part's score on its
    own scale (expected values where used, 1 / 0 or P(yes) for checklist items)."""

    status: Status
    value: float | None
    required_failed: int
    parts: dict[str, float]
    judgments: tuple[Judgment, ...]

    @property
    def error(self) -> str | None:
        for judgment in self.judgments:
            parts = [*getattr(judgment, "criteria", {}).values()]
            parts += getattr(judgment, "checklist", {}).values()
            for part in parts:
                if part.error:
                    return part.error
        return None


@dataclass
class PairScores:
    """Verdicts on labelled pairs and the judge's accuracy against the labels."""

    ids: list[str]
    verdicts: list[Verdict | None]
    labels: list[Verdict | None]
    accuracy: Estimate
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def correct(self) -> np.ndarray:
        """1 where the verdict matches a decisive label, 0 where it does not (a judge tie
        included), NaN where there is no verdict or the label is a tie or missing."""
        out = np.full(len(self.ids), np.nan)
        for index, (verdict, label) in enumerate(zip(self.verdicts, self.labels, strict=True)):
            if verdict is not None and label in ("A", "B"):
                out[index] = float(verdict == label)
        return out

    def counts(self) -> dict[str, int]:
        decided = [v for v in self.verdicts if v is not None]
        return {
            "pairs": len(self.ids),
            "verdicts": len(decided),
            "judge_ties": sum(v == "tie" for v in decided),
            "no_verdict": len(self.ids) - len(decided),
            "label_ties": sum(label == "tie" for label in self.labels),
        }


def _weighted(parts: list[tuple[float, float]]) -> float | None:
    total = sum(weight for weight, _ in parts)
    if total <= 0:
        return None
    return sum(weight * value for weight, value in parts) / total


class RubricPipeline:
    """Judges responses under rubrics through one session's stack; supplies `grade` (a
    refine `grade_fn`), `prefers` (a contrastive `judge_prefers`) and `score_pairs`.

    The session has no rubric of its own (rubrics come and go); its setup's mode, pointwise
    or pairwise, decides how a pair is judged. `expected` uses the score expected from token
    probabilities (and P(yes) for checklist items) where the backend gives them, for
    verdicts and for refinement alike: a small judge that writes the same integer for every
    response often still leans one way, and without that lean no pair is decided and no
    criterion's alignment can be judged. A criterion that separates nothing is still found,
    by the spread of its scores. Closing the session is its opener's job.
    """

    def __init__(self, session: JudgeSession, *, expected: bool = True) -> None:
        self.session = session
        self.expected = expected

    @property
    def backend(self) -> Backend:
        """The layered stack, for rubric-writing calls."""
        return self.session.backend

    @property
    def store(self) -> Store | None:
        return self.session.store

    @property
    def usage(self) -> Usage:
        return self.session.stats

    @property
    def mode(self) -> Mode:
        return "pairwise" if self.session.setup.mode == "pairwise" else "pointwise"

    async def _judge_with(self, mode: str, rubric: Rubric, item: Item) -> Judgment:
        return await self.session.with_options(rubric=rubric, mode=mode).judge_item(item, 0)

    async def judge(self, rubric: Rubric, item: Item) -> ResponseScore:
        """Grade one response: Likert criteria pointwise, checklist items yes/no."""
        judgments: list[Judgment] = []
        parts: dict[str, float] = {}
        combined: list[tuple[float, float]] = []
        complete = True
        if rubric.criteria:
            judgment = await self._judge_with("pointwise", rubric, item)
            judgments.append(judgment)
            likert: list[tuple[float, float]] = []
            for criterion in rubric.criteria:
                score = judgment.criteria[criterion.id]
                if score.status != "ok" or score.score is None:
                    complete = False
                    continue
                use = score.score
                if self.expected and score.expected is not None:
                    use = score.expected
                parts[criterion.id] = use
                likert.append((criterion.weight, criterion.normalise(use)))
            if complete and (value := _weighted(likert)) is not None:
                combined.append((sum(c.weight for c in rubric.criteria), value))
        required_failed = 0
        if rubric.checklist:
            judgment = await self._judge_with("checklist", rubric, item)
            judgments.append(judgment)
            for check_id, decision in judgment.checklist.items():
                if self.expected and decision.p_yes is not None:
                    parts[check_id] = decision.p_yes
                elif decision.answer is not None:
                    parts[check_id] = 1.0 if decision.answer == "yes" else 0.0
            required_failed = len(judgment.required_failed)
            value = judgment.checklist_score
            if self.expected and judgment.checklist_expected is not None:
                value = judgment.checklist_expected
            if value is None:
                complete = False
            else:
                positive = sum(c.weight for c in rubric.checklist if c.weight > 0)
                combined.append((positive, value))
        status = combined_status([j.status for j in judgments])
        total = _weighted(combined) if complete and status == "ok" else None
        return ResponseScore(
            status=status,
            value=total,
            required_failed=required_failed,
            parts=parts,
            judgments=tuple(judgments),
        )

    async def grade(self, rubric: Rubric, items: Sequence[Item]) -> dict[str, np.ndarray]:
        """Scores per criterion / checklist id on their own scales, one per item, NaN where
        not judged: the `grade_fn` that `refine_rubric` calls."""
        results = await asyncio.gather(*(self.judge(rubric, item) for item in items))
        ids = [c.id for c in rubric.criteria] + [c.id for c in rubric.checklist]
        return {
            part: np.array([result.parts.get(part, math.nan) for result in results], dtype=float)
            for part in ids
        }

    async def verdict(self, rubric: Rubric, pair: Item) -> Verdict | None:
        """'A' (`response` better), 'B' or 'tie' under the rubric; None when the judge gave no
        usable answer for either response."""
        return (await self.decide(rubric, pair))[0]

    async def decide(self, rubric: Rubric, pair: Item) -> tuple[Verdict | None, str | None]:
        """The verdict, or None and the reason there is none."""
        if self.mode == "pairwise":
            judgment = await self._judge_with("pairwise", rubric, pair)
            if judgment.status != "ok" or judgment.pair is None:
                error = judgment.pair.error if judgment.pair else None
                return None, f"pairwise {judgment.status}: {error}"
            p_a = judgment.pair.p_a
            if self.expected and p_a is not None:
                return ("A" if p_a > 0.5 else "B" if p_a < 0.5 else "tie"), None
            return judgment.pair.verdict, None
        first, second = pair_sides(pair)
        a = await self.judge(rubric, first)
        b = await self.judge(rubric, second)
        for side, score in (("A", a), ("B", b)):
            if score.value is None:
                return None, f"response {side}: {score.status} ({score.error})"
        assert a.value is not None and b.value is not None
        # A failed required item outranks any score difference: it makes a response
        # unacceptable whatever else it does well.
        if a.required_failed != b.required_failed:
            return ("A" if a.required_failed < b.required_failed else "B"), None
        if abs(a.value - b.value) <= TIE_TOLERANCE:
            return "tie", None
        return ("A" if a.value > b.value else "B"), None

    async def prefers(self, rubric: Rubric, pair: Item) -> bool | None:
        """Whether the judge, under the rubric, prefers the response people preferred:
        `judge_prefers` for `generate_contrastive`. None on a tie or no verdict."""
        label = preference_label(pair)
        if label not in ("A", "B"):
            raise ValueError(f"item {pair.id!r} has no 'A' / 'B' preference label")
        verdict = await self.verdict(rubric, pair)
        if verdict is None or verdict == "tie":
            return None
        return verdict == label

    async def score_pairs(
        self,
        rubrics: Rubric | Sequence[Rubric | None],
        pairs: Sequence[Item],
        *,
        label: str | None = None,
        n_resamples: int = 2000,
        seed: int = 0,
    ) -> PairScores:
        """Verdicts on labelled pairs under one rubric, or one rubric per pair (None: that
        pair has no rubric, and counts as excluded), and accuracy with a bootstrap 95% CI.
        Pairs labelled 'tie' are left out of accuracy; a judge tie on a decided pair is
        wrong."""
        per_pair = [rubrics] * len(pairs) if isinstance(rubrics, Rubric) else list(rubrics)
        if len(per_pair) != len(pairs):
            raise ValueError(f"{len(per_pair)} rubrics for {len(pairs)} pairs")

        async def one(rubric: Rubric | None, pair: Item) -> tuple[Verdict | None, str | None]:
            return (None, "no rubric") if rubric is None else await self.decide(rubric, pair)

        decided = await asyncio.gather(
            *(one(rubric, pair) for rubric, pair in zip(per_pair, pairs, strict=True))
        )
        verdicts = [verdict for verdict, _ in decided]
        labels = [preference_label(pair, label) for pair in pairs]
        accuracy = pairwise_accuracy(verdicts, labels, n_resamples=n_resamples, seed=seed)
        errors = {
            pair.id: reason
            for pair, (_, reason) in zip(pairs, decided, strict=True)
            if reason is not None
        }
        return PairScores(
            ids=[pair.id for pair in pairs],
            verdicts=verdicts,
            labels=labels,
            accuracy=accuracy,
            errors=errors,
        )
