"""Assertions for judged tests: one case against its bars, a pair, and a pass rate.

They use the session's judge (the `jurist_judge` fixture's; outside pytest a default one
with the embedded judge and the user's store), or the one passed as `judge=`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from jurist.core.rubric import Rubric
from jurist.testing.judge import JuristJudge, Text
from jurist.testing.judged import JudgedCase
from jurist.testing.rates import RateDecision, decide_rate

__all__ = [
    "active_judge",
    "assert_judged",
    "assert_preferred",
    "assert_rate",
    "use_judge",
]

_active: list[JuristJudge] = []
_inconclusive: list[Literal["fail", "xfail"]] = ["fail"]


def use_judge(judge: JuristJudge | None, inconclusive: Literal["fail", "xfail"] = "fail") -> None:
    """Make `judge` the one the assertions use (None: forget it), and say what an
    inconclusive `assert_rate` does by default."""
    _active.clear()
    if judge is not None:
        _active.append(judge)
    _inconclusive[0] = inconclusive


def active_judge() -> JuristJudge:
    """The session's judge; created with the defaults when nothing set one."""
    if not _active:
        _active.append(JuristJudge())
    return _active[0]


def assert_judged(
    response: str,
    *,
    rubric: Rubric | str | Path,
    input: Text = "",
    reference: str | None = None,
    at_least: Mapping[str, float] | None = None,
    required_checklist: bool = True,
    group: str | None = None,
    judge: JuristJudge | None = None,
) -> JudgedCase:
    """Fail unless every criterion in `at_least` scored at least its bar (and, for a
    checklist rubric, every required item was met). The message shows each criterion's
    score, the judge's rationale and what was required."""
    case = (judge or active_judge()).check(
        response, rubric=rubric, input=input, reference=reference, at_least=at_least,
        required_checklist=required_checklist, group=group,
    )  # fmt: skip
    if not case.passed:
        raise AssertionError(case.explain())
    return case


def assert_preferred(
    a: str,
    b: str,
    *,
    rubric: Rubric | str | Path,
    input: Text = "",
    reference: str | None = None,
    both_orders: bool = True,
    group: str | None = None,
    judge: JuristJudge | None = None,
) -> JudgedCase:
    """Fail unless the judge prefers `a` to `b` (in both presentation orders by default:
    a verdict that flips with the order is a tie, and a tie fails)."""
    case = (judge or active_judge()).compare(
        a, b, rubric=rubric, input=input, reference=reference, both_orders=both_orders,
        group=group,
    )  # fmt: skip
    if not case.passed:
        raise AssertionError(case.explain())
    return case


def assert_rate(
    criterion: str,
    at_least: float,
    *,
    group: str | None = None,
    confidence: float = 0.95,
    inconclusive: Literal["fail", "xfail"] | None = None,
    judge: JuristJudge | None = None,
) -> RateDecision:
    """Over the cases judged so far (in `group`, a test function's name, when given), pass
    when the Wilson lower bound of `criterion`'s pass rate reaches `at_least`, fail when
    the upper bound is below it, and otherwise fail (or xfail) as inconclusive, naming the
    number of cases that would decide. Never decided by the observed rate alone.

    A case passes `criterion` when it met the bar `assert_judged` / `check` gave it;
    `checklist` counts required checklists met and `preferred` pairs won by A."""
    outcomes = (judge or active_judge()).record.outcomes(criterion, group)
    if not outcomes:
        where = f" in group {group!r}" if group else ""
        raise AssertionError(
            f"{criterion}: no judged case has a bar for it{where}; judge cases with "
            f"at_least={{{criterion!r}: ...}} first"
        )
    decision = decide_rate(criterion, sum(outcomes), len(outcomes), at_least, confidence)
    if decision.decision == "fail":
        raise AssertionError(decision.describe())
    if decision.decision == "inconclusive":
        if (inconclusive or _inconclusive[0]) == "xfail":
            import pytest  # only a test session xfails; the library does not need pytest

            pytest.xfail(decision.describe())
        raise AssertionError(decision.describe())
    return decision
