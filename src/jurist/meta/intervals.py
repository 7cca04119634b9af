"""A judge profile's per-item intervals, checked on a labelled run (`jurist meta`).

A run graded with a profile carries, per criterion, an `interval` [low, high] that should
hold the people's score at the profile's coverage (0.9 unless tuned otherwise). Here that
promise is measured: the share of labelled items whose label lies inside (Wilson 95%
interval), the mean width, and, with `--review-width W`, the items whose interval is wider
than W: where the judge is least sure, the ones to send to a person.
"""

from __future__ import annotations

import numpy as np
from rich.console import RenderableType

from jurist.core.judgment import PointwiseJudgment
from jurist.meta.figures import Figure, Part
from jurist.meta.join import CriterionData, Results
from jurist.meta.text import est, line
from jurist.stats.arrays import FloatArray

__all__ = ["IntervalBlock", "criterion_intervals", "item_intervals"]

_REVIEW_SHOWN = 20  # item ids printed; the JSON lists them all


class IntervalBlock(Part):
    """How a profile's intervals did on this run's labels, and what needs a person."""

    _OPTIONAL = frozenset({"review_width", "review"})

    coverage: Figure  # share of labelled items whose label is inside its interval
    width: Figure  # mean interval width over the run's items that have one
    run_items: int  # items with an interval
    review_width: float | None = None
    review: list[str] | None = None  # ids of the items whose interval is wider

    def render(self, name: str = "") -> list[RenderableType]:
        out = [
            line(
                f"  profile intervals: cover {est(self.coverage)} of labelled items; mean "
                f"width {est(self.width)} over {self.run_items} items"
            )
        ]
        if self.review is not None:
            shown = ", ".join(self.review[:_REVIEW_SHOWN])
            more = len(self.review) - _REVIEW_SHOWN
            out.append(
                line(
                    f"  {len(self.review)} items wider than {self.review_width:g} for human "
                    f"review{': ' + shown if shown else ''}"
                    + (f" (+{more} more; --format json lists all)" if more > 0 else "")
                )
            )
        return out


def item_intervals(results: Results, criterion: str) -> tuple[FloatArray, FloatArray]:
    """Per judgment, the criterion's interval (NaN where it has none)."""
    low, high = np.full(len(results), np.nan), np.full(len(results), np.nan)
    for i, j in enumerate(results.judgments):
        cs = j.criteria.get(criterion) if isinstance(j, PointwiseJudgment) else None
        bounds = None if cs is None else cs.extras.get("interval")
        if bounds is not None:
            low[i], high[i] = float(bounds[0]), float(bounds[1])
    return low, high


def criterion_intervals(
    results: Results, data: CriterionData, review_width: float | None = None
) -> IntervalBlock | None:
    """The block for one criterion, or None when the run was graded without a profile."""
    low, high = item_intervals(results, data.criterion)
    known = ~np.isnan(low)
    if not known.any():
        return None
    labelled = known & ~np.isnan(data.human)
    y = data.human[labelled]
    hits = int(((y >= low[labelled] - 1e-9) & (y <= high[labelled] + 1e-9)).sum())
    widths = (high - low)[known]
    review = None
    if review_width is not None:
        ids = [j.item_id for j in results.judgments]
        review = [ids[i] for i in np.flatnonzero(known & (high - low > review_width + 1e-9))]
    return IntervalBlock(
        coverage=Figure.share(hits, int(labelled.sum())),
        width=Figure.mean(widths.tolist()),
        run_items=int(known.sum()),
        review_width=review_width,
        review=review,
    )
