"""One judged test case: the judgments, what was required, and why it passed or failed.

A failing judged test must say why without opening any file: each criterion's score, the
judge's rationale and the bar it missed. A score that could not be read is a failure of
that criterion (never a default value), and the message shows the judge's raw answer.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field

from jurist.core.errors import ConfigError
from jurist.core.judgment import (
    ChecklistJudgment,
    Judgment,
    PairwiseJudgment,
    PointwiseJudgment,
)
from jurist.core.rubric import Rubric

__all__ = ["CHECKLIST", "PREFERRED", "JudgedCase", "outcomes_of"]

# Names under which non-criterion outcomes are counted by `assert_rate`.
CHECKLIST = "checklist"
PREFERRED = "preferred"
_WIDTH = 96


@dataclass(frozen=True)
class JudgedCase:
    """A case's judgments and its outcome per criterion (True: met its bar)."""

    rubric: Rubric
    judge: str
    judgments: tuple[Judgment, ...]
    bars: Mapping[str, float] = field(default_factory=dict)
    outcomes: Mapping[str, bool] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(self.outcomes.values()) and all(j.status == "ok" for j in self.judgments)

    def explain(self) -> str:
        """What the judge said and what was required, one block per criterion."""
        verdict = "met every bar" if self.passed else "did not meet the bar"
        lines = [f"judged by {self.judge} against rubric {self.rubric.name!r}: {verdict}"]
        for judgment in self.judgments:
            if judgment.status == "failed":
                lines.append(f"  the judge failed: {_error_of(judgment)}")
            if isinstance(judgment, PointwiseJudgment):
                lines += self._pointwise(judgment)
            elif isinstance(judgment, ChecklistJudgment):
                lines += self._checklist(judgment)
            elif isinstance(judgment, PairwiseJudgment):
                lines += _pairwise(judgment)
        return "\n".join(lines)

    def _pointwise(self, judgment: PointwiseJudgment) -> list[str]:
        lines: list[str] = []
        for name, score in judgment.criteria.items():
            bar = self.bars.get(name)
            shown = "unreadable" if score.score is None else f"{score.score:g}"
            required = "(no bar)" if bar is None else f"required >= {bar:g}"
            mark = "" if bar is None else ("  ok" if self.outcomes.get(name) else "  FAILED")
            lines.append(f"  {name}: score {shown}, {required}{mark}")
            said = score.rationale or score.error or score.raw
            if said:
                lines.append(_quoted("rationale" if score.rationale else "judge said", said))
        if "overall" in self.bars:
            shown = "unreadable" if judgment.overall is None else f"{judgment.overall:.2f}"
            ok = "ok" if self.outcomes.get("overall") else "FAILED"
            lines.append(f"  overall: {shown}, required >= {self.bars['overall']:g}  {ok}")
        return lines

    def _checklist(self, judgment: ChecklistJudgment) -> list[str]:
        lines: list[str] = []
        for name, decision in judgment.checklist.items():
            kind = "required" if decision.required else "optional"
            answer = decision.answer or "unreadable"
            lines.append(f"  {name} ({kind}): {answer}")
            said = decision.justification or decision.error or decision.raw
            if said:
                lines.append(_quoted("justification", said))
        if CHECKLIST in self.outcomes:
            missed = _required_missed(judgment)
            state = "all met" if not missed else "not met: " + ", ".join(missed)
            lines.append(f"  required checklist items: {state}")
        return lines


def _pairwise(judgment: PairwiseJudgment) -> list[str]:
    pair = judgment.pair
    if pair is None:
        return ["  no verdict"]
    orders = f"A-B order: {pair.verdict_ab or '?'}, B-A order: {pair.verdict_ba or '?'}"
    lines = [f"  verdict: {pair.verdict or 'unreadable'} ({orders}); required: A preferred"]
    for label, said in (("A-B rationale", pair.rationale_ab), ("B-A rationale", pair.rationale_ba)):
        if said:
            lines.append(_quoted(label, said))
    if pair.error:
        lines.append(_quoted("error", pair.error))
    return lines


def _quoted(label: str, text: str) -> str:
    flat = " ".join(text.split())
    return textwrap.fill(
        flat, _WIDTH, initial_indent=f"      {label}: ", subsequent_indent=" " * 8,
        max_lines=6, placeholder=" ...",
    )  # fmt: skip


def _error_of(judgment: Judgment) -> str:
    if isinstance(judgment, PairwiseJudgment) and judgment.pair is not None:
        return judgment.pair.error or "no answer"
    return "see the criteria below"


def _required_missed(judgment: ChecklistJudgment) -> list[str]:
    """Required items not met: answered the wrong way, or not answered at all."""
    unread = [n for n, d in judgment.checklist.items() if d.required and d.answer is None]
    return list(judgment.required_failed) + unread


def outcomes_of(
    rubric: Rubric,
    judgments: tuple[Judgment, ...],
    bars: Mapping[str, float],
    required_checklist: bool,
) -> dict[str, bool]:
    """Each bar's outcome; a bar naming nothing in the rubric is a ConfigError."""
    known = {c.id for c in rubric.criteria} | ({"overall"} if rubric.criteria else set())
    unknown = set(bars) - known
    if unknown:
        raise ConfigError(
            f"at_least names {sorted(unknown)}, not in rubric {rubric.name!r} "
            f"(its criteria: {sorted(known) or 'none'})"
        )
    outcomes: dict[str, bool] = {}
    for judgment in judgments:
        if isinstance(judgment, PointwiseJudgment):
            for name, bar in bars.items():
                score = judgment.criteria.get(name)
                value = judgment.overall if name == "overall" else (score and score.score)
                outcomes[name] = value is not None and value >= bar
        elif isinstance(judgment, ChecklistJudgment) and required_checklist:
            outcomes[CHECKLIST] = not _required_missed(judgment)
        elif isinstance(judgment, PairwiseJudgment):
            outcomes[PREFERRED] = judgment.pair is not None and judgment.pair.verdict == "A"
    return outcomes
