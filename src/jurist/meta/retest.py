"""Test-retest agreement (`jurist meta RUN_A RUN_B`): the same items graded twice by the
same judge, compared per criterion.

At temperature 0 a judge is often assumed to be deterministic, but a server that batches
requests (llama.cpp, vLLM) adds them up in a different order from one run to the next, and
that can move a score. This report measures how far: Spearman between the two runs, the
share of items given the same score, and the mean absolute change, each with its 95%
interval. Items graded in only one run are counted and named, never paired up.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import Field
from rich.console import Group, RenderableType
from rich.table import Table

from jurist.core.judgment import (
    ChecklistJudgment,
    Judgment,
    PairwiseJudgment,
    PointwiseJudgment,
)
from jurist.meta.errors import MetaInputError
from jurist.meta.figures import ResamplingSummary, Section
from jurist.meta.load import LoadedResults, load_results
from jurist.meta.options import Settings
from jurist.meta.text import escape, est, line
from jurist.stats import mean_absolute_error, proportion, spearman
from jurist.stats.results import Figure

# A pairwise verdict as a position on one axis, so a flip from A to B is a change of 1.
VERDICT_POSITION = {"A": 0.0, "tie": 0.5, "B": 1.0}
EXAMPLES = 20  # item ids named per side when items are in only one run
SCORED_MODES = ("pointwise", "checklist", "pairwise")


class RetestCriterion(Section):
    """One criterion graded in both runs: how often and how far its score moved.

    `n_excluded` counts the shared items scored in only one of the runs (a parse error or
    a failure in the other); `identical_raw` counts the items whose answer text was the
    same in both runs, when both runs kept it.
    """

    _OPTIONAL = frozenset({"identical_raw"})

    criterion: str
    n_both: int
    n_excluded: int
    changed: int
    spearman: Figure
    exact: Figure
    mean_abs_change: Figure
    identical_raw: int | None = None


class RetestReport(Section):
    """Test-retest agreement between two runs of the same items and judge."""

    command: str = "retest"
    first: str
    second: str
    mode: str
    judges_first: list[str]
    judges_second: list[str]
    n_first: int
    n_second: int
    n_shared: int
    only_in_first: int
    only_in_second: int
    examples_only_in_first: list[str] = Field(default_factory=list)
    examples_only_in_second: list[str] = Field(default_factory=list)
    settings: ResamplingSummary
    criteria: dict[str, RetestCriterion]
    notes: list[str] = Field(default_factory=list)

    def render(self) -> Group:
        """The report for a Rich console: what was compared, then one row per criterion."""
        table = Table(title="test-retest agreement, run A vs run B (95% CI)", title_justify="left")
        for column in ("criterion", "n", "Spearman ρ", "same score", "mean |change|", "changed"):
            table.add_column(column, justify="left" if column == "criterion" else "right")
        for name, c in self.criteria.items():
            table.add_row(
                escape(name),
                str(c.n_both),
                est(c.spearman, n=False),
                est(c.exact, n=False),
                est(c.mean_abs_change, n=False),
                str(c.changed),
            )
        parts: list[RenderableType] = [
            line(f"[bold]A[/] {escape(self.first)}: {self.n_first} {self.mode} items"),
            line(f"[bold]B[/] {escape(self.second)}: {self.n_second} {self.mode} items"),
            line(
                f"{self.n_shared} items in both; {self.only_in_first} only in A"
                + _named(self.examples_only_in_first, self.only_in_first)
                + f", {self.only_in_second} only in B"
                + _named(self.examples_only_in_second, self.only_in_second)
            ),
            table,
        ]
        for name, c in self.criteria.items():
            detail = f"  {escape(name)}: {c.n_excluded} shared items scored in one run only"
            if c.identical_raw is not None:
                detail += f"; identical answer text in {c.identical_raw} of {c.n_both}"
            parts.append(line(detail))
        parts += [line(f"  [yellow]{escape(note)}[/]") for note in self.notes]
        return Group(*parts)

    def to_dict(self) -> dict[str, object]:
        """The report as strict JSON-ready data."""
        return self.model_dump(mode="json")


def _named(examples: Sequence[str], count: int) -> str:
    if not examples:
        return ""
    more = f", and {count - len(examples)} more" if count > len(examples) else ""
    return f" ({escape(', '.join(examples))}{more})"


def _scores(judgment: Judgment) -> dict[str, tuple[float, str | None]]:
    """criterion -> (score, raw answer) for what this judgment scored; unscored parts
    (parse errors, failures) are left out."""
    if isinstance(judgment, PointwiseJudgment):
        return {
            cid: (c.score, c.raw if c.raw is not None else judgment.raw)
            for cid, c in judgment.criteria.items()
            if c.status == "ok" and c.score is not None
        }
    if isinstance(judgment, ChecklistJudgment):
        if judgment.checklist_score is None:
            return {}
        return {"checklist": (judgment.checklist_score, judgment.raw)}
    if isinstance(judgment, PairwiseJudgment):
        pair = judgment.pair
        if pair is None or pair.status != "ok" or pair.verdict is None:
            return {}
        return {"verdict": (VERDICT_POSITION[pair.verdict], pair.raw_ab)}
    return {}


def retest_criterion(
    name: str,
    first: Sequence[tuple[float, str | None] | None],
    second: Sequence[tuple[float, str | None] | None],
    settings: Settings,
) -> RetestCriterion:
    """The agreement of one criterion's scores over the shared items (None: not scored)."""
    a = np.array([np.nan if s is None else s[0] for s in first], dtype=np.float64)
    b = np.array([np.nan if s is None else s[0] for s in second], dtype=np.float64)
    both = ~np.isnan(a) & ~np.isnan(b)
    same = np.isclose(a[both], b[both])
    n = int(both.sum())
    raws = [(x[1], y[1]) for x, y in zip(first, second, strict=True) if x and y]
    kept = [(x, y) for x, y in raws if x is not None and y is not None]
    return RetestCriterion(
        criterion=name,
        n_both=n,
        n_excluded=int(len(a) - n),
        changed=int(n - same.sum()),
        spearman=Figure.of(spearman(a, b, **settings.kw())),
        exact=Figure.of(proportion(int(same.sum()), n, confidence=settings.confidence)),
        mean_abs_change=Figure.of(mean_absolute_error(a, b, **settings.kw())),
        identical_raw=sum(x == y for x, y in kept) if kept and len(kept) == n else None,
    )


def retest_report(
    first: LoadedResults, second: LoadedResults, settings: Settings | None = None
) -> RetestReport:
    """Compare two loaded runs item by item (matched by item id)."""
    settings = settings or Settings()
    modes = sorted({j.mode for j in (*first.judgments, *second.judgments)})
    if len(modes) > 1:
        problem = f"the runs mix judging modes ({', '.join(modes)}): not a retest"
        raise MetaInputError(f"{first.source} and {second.source}", None, "mode", problem)
    if modes[0] not in SCORED_MODES:
        problem = f"test-retest compares {', '.join(SCORED_MODES)} runs, not {modes[0]}"
        raise MetaInputError(first.source, None, "mode", problem)
    a = {j.item_id: j for j in first.judgments}
    b = {j.item_id: j for j in second.judgments}
    shared = [item for item in a if item in b]
    only_a = [item for item in a if item not in b]
    only_b = [item for item in b if item not in a]
    scores_a = [_scores(a[item]) for item in shared]
    scores_b = [_scores(b[item]) for item in shared]
    names = dict.fromkeys(c for s in (*scores_a, *scores_b) for c in s)
    criteria = {
        name: retest_criterion(
            name, [s.get(name) for s in scores_a], [s.get(name) for s in scores_b], settings
        )
        for name in names
    }
    return RetestReport(
        first=first.source,
        second=second.source,
        mode=modes[0],
        judges_first=_distinct(first, "judge"),
        judges_second=_distinct(second, "judge"),
        n_first=len(a),
        n_second=len(b),
        n_shared=len(shared),
        only_in_first=len(only_a),
        only_in_second=len(only_b),
        examples_only_in_first=only_a[:EXAMPLES],
        examples_only_in_second=only_b[:EXAMPLES],
        settings=ResamplingSummary(**settings.to_dict()),
        criteria=criteria,
        notes=_notes(first, second, shared),
    )


def _distinct(loaded: LoadedResults, field: str) -> list[str]:
    return sorted({str(getattr(j, field)) for j in loaded.judgments})


def _notes(first: LoadedResults, second: LoadedResults, shared: list[str]) -> list[str]:
    """What makes the two runs not a retest of the same judge on the same items."""
    notes = []
    if not shared:
        notes.append("the runs share no item id: nothing to compare")
    for field, what in (("judge", "judges"), ("rubric_hash", "rubrics")):
        if _distinct(first, field) != _distinct(second, field):
            notes.append(
                f"the runs use different {what} ({', '.join(_distinct(first, field))} vs "
                f"{', '.join(_distinct(second, field))}): changes are not only noise"
            )
    return notes


def run_retest(
    first: str | Path,
    second: str | Path,
    *,
    store: str | Path | None = None,
    settings: Settings | None = None,
) -> RetestReport:
    """`jurist meta RUN_A RUN_B`: load two runs (results files, folders or run ids in
    `store`) and report their test-retest agreement."""
    return retest_report(load_results(first, store), load_results(second, store), settings)
