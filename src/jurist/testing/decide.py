"""From per-row estimates and one-sided p-values to the gate's decisions.

Both gates (fixed n with a paired bootstrap, sequential with betting) end here, so a row
means the same whichever way it was measured. Each row asks three one-sided questions
about the true paired difference d (candidate - baseline):

- regressed: is d < -max_drop?  (H0: d >= -max_drop)
- pass:      is d > -max_drop?  (H0: d <= -max_drop, non-inferiority)
- improved:  is d > 0?          (H0: d <= 0)

Each question is asked of every row at once, so its p-values are Holm-adjusted across the
rows, and compared with (1 - confidence) / 2: a row is `regressed` exactly when its
(adjusted) two-sided interval lies below -max_drop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from jurist.core.lazy import lazy
from jurist.stats.multiple import holm

stats = lazy("scipy.stats")

Decision = Literal["pass", "regressed", "improved", "inconclusive"]
# Rows whose values are shares in [0, 1] rather than scale points, and the drops tolerated
# by default in each unit.
SHARE_ROWS = frozenset({"overall", "win_rate", "checklist_score"})
DEFAULT_MAX_DROP = 0.2  # scale points
DEFAULT_MAX_DROP_SHARE = 0.05  # overall score, win rate, checklist score
DECISIONS: tuple[Decision, ...] = ("pass", "regressed", "improved", "inconclusive")


@dataclass(frozen=True)
class RowTest:
    """One row's raw one-sided p-values (None: not computable, e.g. no paired items)."""

    p_regressed: float | None
    p_pass: float | None
    p_improved: float | None


@dataclass(frozen=True)
class RowDecision:
    """One row's Holm-adjusted p-values and what they decide."""

    p_regressed: float | None
    p_pass: float | None
    p_improved: float | None
    decision: Decision


def row_limit(name: str, max_drop: float, max_drop_share: float) -> float:
    """The drop a row tolerates: `max_drop_share` for share rows, else `max_drop`."""
    return max_drop_share if name in SHARE_ROWS else max_drop


def one_sided_alpha(confidence: float) -> float:
    """Each one-sided question is asked at half of 1 - confidence (two-sided interval)."""
    if not 0.5 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0.5, 1), got {confidence}")
    return (1.0 - confidence) / 2.0


def _adjusted(raw: Sequence[float | None]) -> list[float | None]:
    """Holm over the rows that have a p-value; the others stay None."""
    present = [k for k, p in enumerate(raw) if p is not None]
    fixed = holm([float(raw[k] or 0.0) for k in present])
    out: list[float | None] = [None] * len(raw)
    for k, p in zip(present, fixed, strict=True):
        out[k] = p
    return out


def decide_rows(tests: Sequence[RowTest], confidence: float) -> list[RowDecision]:
    """Holm-adjust each question across the rows, then decide each row.

    `regressed` wins over everything (it is the claim CI acts on); `improved` implies the
    row also passed; a row none of whose questions is settled is `inconclusive`.
    """
    alpha = one_sided_alpha(confidence)
    regressed = _adjusted([t.p_regressed for t in tests])
    passed = _adjusted([t.p_pass for t in tests])
    improved = _adjusted([t.p_improved for t in tests])
    out = []
    for reg, ok, imp in zip(regressed, passed, improved, strict=True):
        decision: Decision = "inconclusive"
        if reg is not None and reg < alpha:
            decision = "regressed"
        elif imp is not None and imp < alpha:
            decision = "improved"
        elif ok is not None and ok < alpha:
            decision = "pass"
        out.append(RowDecision(reg, ok, imp, decision))
    return out


def overall_decision(decisions: Sequence[Decision]) -> Decision:
    """Regressed if any row regressed, inconclusive if any row is unsettled, improved if
    some row improved and the rest passed, else pass (no rows: inconclusive)."""
    if not decisions:
        return "inconclusive"
    for decision in ("regressed", "inconclusive", "improved"):
        if decision in decisions:
            return decision
    return "pass"


def items_to_decide(
    n: int,
    value: float | None,
    low: float | None,
    high: float | None,
    max_drop: float,
    *,
    rows: int,
    confidence: float,
) -> int | None:
    """About how many paired items would settle an inconclusive row at the observed spread.

    The interval's half-width shrinks like 1/sqrt(n); it must fall below the distance from
    the estimate to -max_drop, at the level Holm may need in the worst case (Bonferroni
    over `rows`). None when the estimate sits on the threshold or has no interval.
    """
    if value is None or low is None or high is None or n < 2:
        return None
    distance = abs(value + max_drop)
    half = (value - low) if value > -max_drop else (high - value)
    if distance <= 1e-12 or half <= 0:
        return None
    alpha = one_sided_alpha(confidence)
    widen = stats.norm.ppf(1 - alpha / max(rows, 1)) / stats.norm.ppf(1 - alpha)
    needed = math.ceil(n * (half * widen / distance) ** 2)
    return max(needed, n + 1)
