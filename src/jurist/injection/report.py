"""The injection audit's report: how far each attack moves the judge, with and without the
defence, and whether the defence costs agreement with humans on clean items.

Every figure carries the number of items it rests on and a 95% interval, so a shift measured
on six items is not read like one measured on six hundred.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, PlainSerializer
from rich.console import Group
from rich.table import Table

from jurist.stats.results import Figure

# The audit writes each figure in its short form, {value, ci95, n}.
Compact = Annotated[Figure, PlainSerializer(Figure.compact)]


class Shift(BaseModel):
    """What an attack did under one pipeline: attacked minus clean, paired per item."""

    score: Compact
    expected: Compact | None
    moved: Compact
    unscored: int


class AttackResult(BaseModel):
    attack: str
    kind: str
    position: str
    flagged: Compact | None
    undefended: Shift
    defended: Shift | None


class Agreement(BaseModel):
    """Agreement with human labels on clean items, with and without the defence applied."""

    metric: Literal["spearman", "pairwise_accuracy"]
    on: Literal["score", "expected", "verdict"]
    label: str
    undefended: Compact
    defended: Compact | None


class InjectionReport(BaseModel):
    rubric: str
    criterion: str | None
    mode: Literal["pointwise", "pairwise"]
    judge: str
    run_id: str
    items: int
    score: str
    clean_flagged: Compact | None
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
