"""The injection audit's report: how far each attack moves the judge, with and without the
defence, and whether the defence costs agreement with humans on clean items.

Every figure carries the number of items it rests on and a 95% interval, so a shift measured
on six items is not read like one measured on six hundred.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel
from rich.console import Group
from rich.table import Table

from jurist.stats.bootstrap import Estimate
from jurist.stats.intervals import mean_interval, wilson_interval


class Figure(BaseModel):
    """A mean or a share with its 95% interval and the number of items behind it."""

    value: float | None
    ci95: tuple[float, float] | None
    n: int

    @classmethod
    def mean(cls, values: Sequence[float]) -> Figure:
        """Mean with a percentile bootstrap interval (paired when the values are differences)."""
        if not values:
            return cls(value=None, ci95=None, n=0)
        return cls(value=sum(values) / len(values), ci95=mean_interval(values), n=len(values))

    @classmethod
    def share(cls, hits: int, n: int) -> Figure:
        """Proportion with a Wilson interval."""
        return cls(value=hits / n if n else None, ci95=wilson_interval(hits, n), n=n)

    @classmethod
    def estimate(cls, estimate: Estimate) -> Figure:
        def finite(number: float) -> float | None:
            return None if math.isnan(number) else number

        low, high = finite(estimate.low), finite(estimate.high)
        interval = (low, high) if low is not None and high is not None else None
        return cls(value=finite(estimate.value), ci95=interval, n=estimate.n)

    def cell(self, signed: bool = False) -> str:
        if self.value is None:
            return f"- n={self.n}"
        number = f"{self.value:+.2f}" if signed else f"{self.value:.2f}"
        if self.ci95 is None:
            return f"{number} n={self.n}"
        low, high = self.ci95
        return f"{number} [{low:.2f},{high:.2f}] n={self.n}"


class Shift(BaseModel):
    """What an attack did under one pipeline: attacked minus clean, paired per item."""

    score: Figure
    expected: Figure | None
    moved: Figure
    unscored: int


class AttackResult(BaseModel):
    attack: str
    kind: str
    position: str
    flagged: Figure | None
    undefended: Shift
    defended: Shift | None


class Agreement(BaseModel):
    """Agreement with human labels on clean items, with and without the defence applied."""

    metric: Literal["spearman", "pairwise_accuracy"]
    on: Literal["score", "expected", "verdict"]
    label: str
    undefended: Figure
    defended: Figure | None


class InjectionReport(BaseModel):
    rubric: str
    criterion: str | None
    mode: Literal["pointwise", "pairwise"]
    judge: str
    run_id: str
    items: int
    score: str
    clean_flagged: Figure | None
    attacks: list[AttackResult]
    agreement: list[Agreement]

    def to_json(self) -> str:
        return self.model_dump_json(indent=2)

    def render(self) -> Group:
        scope = f"{self.rubric}" + (f" / {self.criterion}" if self.criterion else "")
        about = (
            f"({self.mode}, judge {self.judge}, {self.items} items; "
            f"shift = attacked - clean in {self.score}, paired, 95% CI)"
        )
        parts: list[Table | str] = [self._shift_table(f"Injection: {scope} {about}", False)]
        if any(row.defended is not None for row in self.attacks):
            parts.append(self._shift_table(f"With the defence: {scope}", True))
        agreement = Table(title="Agreement with human labels on clean items")
        for column in ("metric", "on", "label", "no defence", "defence"):
            agreement.add_column(
                column, justify="left" if column == "metric" else "right", overflow="fold"
            )
        for row in self.agreement:
            agreement.add_row(
                row.metric,
                row.on,
                row.label,
                row.undefended.cell(),
                row.defended.cell() if row.defended else "-",
            )
        parts.append(agreement)
        if self.clean_flagged is not None:
            parts.append(
                f"defence flagged {self.clean_flagged.cell()} of clean responses "
                "(false positives; their defended grade is in the agreement row)"
            )
        parts.append(f"run {self.run_id}")
        return Group(*parts)

    def _shift_table(self, title: str, defended: bool) -> Table:
        shifts = [row.defended if defended else row.undefended for row in self.attacks]
        expected = any(shift is not None and shift.expected is not None for shift in shifts)
        table = Table(title=title)
        columns = ["attack", "kind", "pos"] + (["flagged"] if defended else [])
        columns += ["shift", "expected shift", "moved"] if expected else ["shift", "moved"]
        for column in columns:
            table.add_column(
                column,
                justify="left" if column in ("attack", "kind") else "right",
                no_wrap=column == "attack",
                overflow="fold",
            )
        for row, shift in zip(self.attacks, shifts, strict=True):
            cells = [row.attack, row.kind, row.position]
            if defended:
                cells.append(row.flagged.cell() if row.flagged else "-")
            if shift is None:
                table.add_row(*cells, *["-"] * (len(columns) - len(cells)))
                continue
            cells.append(shift.score.cell(True))
            if expected:
                cells.append(shift.expected.cell(True) if shift.expected else "-")
            cells.append(shift.moved.cell())
            table.add_row(*cells)
        return table
