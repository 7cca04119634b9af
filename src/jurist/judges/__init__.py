"""Judging modes and the registry that maps a mode's name to its judge class.

A new mode (listwise, a jury) plugs in with `register_judge(mode, cls)`; callers build
judges with `make_judge` and never branch on the mode themselves.

Modules here are public unless their name starts with `_`; a `_name`, module or
symbol, is never imported from outside this package (tests included).
"""

from __future__ import annotations

from collections.abc import Callable

from jurist.core.errors import ConfigError
from jurist.core.rubric import Rubric
from jurist.judges.base import Answer, Call, Judge, JudgeOptions
from jurist.judges.checklist import ChecklistJudge
from jurist.judges.listwise import ListwiseJudge, ListwiseOptions
from jurist.judges.pairwise import PairwiseJudge
from jurist.judges.pointwise import PointwiseJudge

__all__ = [
    "Answer",
    "Call",
    "ChecklistJudge",
    "Judge",
    "JudgeOptions",
    "ListwiseJudge",
    "ListwiseOptions",
    "PairwiseJudge",
    "PointwiseJudge",
    "judge_modes",
    "make_judge",
    "register_judge",
]

JudgeFactory = Callable[[Rubric, JudgeOptions], Judge]
_JUDGES: dict[str, JudgeFactory] = {}


def register_judge(mode: str, factory: JudgeFactory) -> None:
    _JUDGES[mode] = factory


def judge_modes() -> list[str]:
    return sorted(_JUDGES)


def make_judge(mode: str, rubric: Rubric, options: JudgeOptions | None = None) -> Judge:
    """The judge for `mode`; a rubric that cannot be judged that way is a ConfigError."""
    if mode not in _JUDGES:
        raise ConfigError(f"unknown mode {mode!r}; use one of: {', '.join(judge_modes())}")
    try:
        return _JUDGES[mode](rubric, options or JudgeOptions())
    except ValueError as error:
        raise ConfigError(str(error)) from None


register_judge("pointwise", PointwiseJudge)
register_judge("checklist", ChecklistJudge)
register_judge("pairwise", PairwiseJudge)
register_judge("listwise", ListwiseJudge)
