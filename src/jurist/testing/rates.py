"""Whether a pass rate clears a bar, decided from its Wilson interval, never by chance.

A threshold on the observed rate of 20 noisy judgments passes or fails by luck. Here the
rate passes only when the interval's lower bound clears the bar, fails only when its upper
bound is below it, and otherwise says so, with how many cases would settle it at the rate
seen so far.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from jurist.stats.intervals import wilson_interval

__all__ = ["RateDecision", "cases_to_decide", "decide_rate"]

Decision = Literal["pass", "fail", "inconclusive"]
# Beyond this many cases a rate this close to the bar is not worth chasing.
_MOST_CASES = 10_000_000


@dataclass(frozen=True)
class RateDecision:
    """A pass rate against a bar: the decision, the rate, its interval and, when
    inconclusive, the number of cases that would decide at the observed rate (None: the
    rate sits on the bar, so no number of cases decides)."""

    criterion: str
    decision: Decision
    passed: int
    n: int
    bar: float
    low: float
    high: float
    confidence: float = 0.95
    cases_needed: int | None = None

    @property
    def rate(self) -> float:
        return self.passed / self.n if self.n else float("nan")

    def describe(self) -> str:
        """One line: the decision, the rate with its interval, the bar and what would decide."""
        level = f"{self.confidence:.0%}"
        figures = (
            f"{self.criterion}: pass rate {self.rate:.2f} ({self.passed}/{self.n}), "
            f"{level} Wilson interval [{self.low:.2f}, {self.high:.2f}], required >= {self.bar:g}"
        )
        if self.decision == "pass":
            return f"{figures}: lower bound clears the bar"
        if self.decision == "fail":
            return f"{figures}: upper bound is below the bar"
        needed = (
            f"about {self.cases_needed} cases would decide at this rate"
            if self.cases_needed is not None
            else "the rate sits on the bar, so no number of cases decides"
        )
        return f"inconclusive: n too small. {figures}; {needed}"


def _bounds(passed: float, n: int, confidence: float) -> tuple[float, float]:
    interval = wilson_interval(passed, n, confidence)
    return interval if interval is not None else (0.0, 1.0)


def _decided(rate: float, n: int, bar: float, confidence: float) -> bool:
    low, high = _bounds(rate * n, n, confidence)
    return low >= bar if rate > bar else high < bar


def cases_to_decide(rate: float, bar: float, confidence: float = 0.95) -> int | None:
    """The fewest cases at which `rate`, observed on them, would settle against `bar`
    (None when the rate equals the bar, or more than ten million cases would be needed).

    The interval narrows as n grows at a fixed rate, so the first deciding n is found by
    doubling, then bisecting."""
    if rate == bar or not 0.0 <= rate <= 1.0:
        return None
    high = 1
    while not _decided(rate, high, bar, confidence):
        high *= 2
        if high > _MOST_CASES:
            return None
    low = high // 2
    while high - low > 1:
        middle = (low + high) // 2
        if _decided(rate, middle, bar, confidence):
            high = middle
        else:
            low = middle
    return high


def decide_rate(
    criterion: str, passed: int, n: int, bar: float, confidence: float = 0.95
) -> RateDecision:
    """`pass` when the lower bound of the Wilson interval reaches `bar`, `fail` when the
    upper bound is below it, else `inconclusive` with the cases that would decide."""
    if n <= 0:
        raise ValueError(f"{criterion}: no judged cases to compute a pass rate from")
    if not 0.0 <= bar <= 1.0:
        raise ValueError(f"{criterion}: a pass-rate bar lies between 0 and 1, not {bar}")
    low, high = _bounds(passed, n, confidence)
    if low >= bar:
        decision: Decision = "pass"
    elif high < bar:
        decision = "fail"
    else:
        decision = "inconclusive"
    needed = cases_to_decide(passed / n, bar, confidence) if decision == "inconclusive" else None
    return RateDecision(criterion, decision, passed, n, bar, low, high, confidence, needed)
