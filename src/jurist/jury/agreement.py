"""How far a jury agrees with itself: Krippendorff's alpha among the jurors per criterion,
and the items split enough to be worth a human's look.

Read from the jury's judgments themselves (each keeps its jurors' scores), so a resumed
run's summary covers every item, and any results file can be tallied again later.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Unpack

import numpy as np
from numpy.typing import ArrayLike

from jurist.core.judgment import Judgment, PairwiseJudgment, PointwiseJudgment
from jurist.jury.aggregation import verdict_value
from jurist.jury.weights import PAIR
from jurist.stats.alpha import krippendorff_alpha
from jurist.stats.resampling import Resampling
from jurist.stats.results import Estimate

REVIEW_LISTED = 100  # item ids listed in the summary; the count covers them all


def inter_juror_alpha(ratings: ArrayLike, **options: Unpack[Resampling]) -> Estimate:
    """Ordinal Krippendorff's alpha of a (jurors, items) matrix, NaN where a juror gave no
    score; verdicts enter as A = 1, tie = ½, B = 0 (a tie lies between the two)."""
    return krippendorff_alpha(ratings, level="ordinal", **options)


def juror_values(judgment: Judgment) -> dict[str, tuple[dict[str, float | None], bool]]:
    """Per criterion (or `pair`): each juror's value and whether the item was flagged; empty
    for a judgment that is not a jury's."""
    found: dict[str, tuple[dict[str, float | None], bool]] = {}
    if isinstance(judgment, PointwiseJudgment):
        for cid, score in judgment.criteria.items():
            if score.jurors is not None:
                found[cid] = (dict(score.jurors), bool(score.review))
    elif isinstance(judgment, PairwiseJudgment) and judgment.pair is not None:
        pair = judgment.pair
        if pair.jurors is not None:
            values = {j: verdict_value(v) for j, v in pair.jurors.items()}
            found[PAIR] = (values, bool(pair.review))
    return found


def is_jury_judgment(judgment: Judgment) -> bool:
    return bool(juror_values(judgment))


@dataclass
class JuryTally:
    """Accumulates a jury's per-juror values, one judgment at a time, for the summary."""

    jurors: list[str] = field(default_factory=list)
    rows: dict[str, list[dict[str, float | None]]] = field(default_factory=dict)
    flagged: Counter[str] = field(default_factory=Counter)
    review_ids: list[str] = field(default_factory=list)
    review_total: int = 0
    asked: Counter[str] = field(default_factory=Counter)

    def add(self, judgment: Judgment) -> None:
        parts = juror_values(judgment)
        if not parts:
            return
        flagged = False
        asked: set[str] = set()
        for key, (values, review) in parts.items():
            for juror in values:
                if juror not in self.jurors:
                    self.jurors.append(juror)
            asked.update(values)
            self.rows.setdefault(key, []).append(values)
            if review:
                self.flagged[key] += 1
                flagged = True
        self.asked.update(asked)
        if flagged:
            self.review_total += 1
            if len(self.review_ids) < REVIEW_LISTED:
                self.review_ids.append(judgment.item_id)

    def matrix(self, key: str) -> np.ndarray:
        """(jurors, items) values for one criterion, NaN where a juror gave none."""
        rows = self.rows.get(key, [])
        out = np.full((len(self.jurors), len(rows)), np.nan)
        for col, values in enumerate(rows):
            for row, juror in enumerate(self.jurors):
                value = values.get(juror)
                if value is not None:
                    out[row, col] = value
        return out

    def build(self, **options: Unpack[Resampling]) -> dict[str, Any]:
        criteria = {
            key: {
                "items": len(rows),
                "alpha_ordinal": inter_juror_alpha(self.matrix(key), **options).to_dict(),
                "review": self.flagged[key],
            }
            for key, rows in self.rows.items()
        }
        return {
            "jurors": list(self.jurors),
            "asked": {juror: self.asked[juror] for juror in self.jurors},
            "criteria": criteria,
            "review_items": self.review_total,
            "review_ids": list(self.review_ids),
        }


def tally(judgments: Iterable[Judgment], **options: Unpack[Resampling]) -> dict[str, Any]:
    """The jury figures of a set of judgments (e.g. a results file read back)."""
    counter = JuryTally()
    for judgment in judgments:
        counter.add(judgment)
    return counter.build(**options)
