"""The regression gate's report: typed, exported as JSON, rendered as a terminal table, a
markdown summary for a pull-request comment, or JUnit XML for a CI test view."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from jurist.core.errors import EXIT_FAILURES, EXIT_OK
from jurist.stats.results import Figure
from jurist.testing.decide import Decision

_SHOWN_IDS = 10
_COLOUR = {"pass": "green", "improved": "green", "regressed": "red", "inconclusive": "yellow"}


class GateRow(BaseModel):
    """One criterion (or overall score, win rate): the paired difference and its decision.

    The p-values are one-sided and Holm-adjusted across the rows: `p_regressed` tests
    "no drop beyond max_drop", `p_pass` "a drop beyond max_drop", `p_improved` "no gain".
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    baseline: Figure | None = None
    candidate: Figure | None = None
    difference: Figure
    max_drop: float
    p_regressed: float | None = None
    p_pass: float | None = None
    p_improved: float | None = None
    decision: Decision
    items_to_decide: int | None = None

    def sentence(self) -> str:
        """The decision in words, with the figure it rests on."""
        d = self.difference
        figure = d.cell(signed=True)
        limit = f"-{self.max_drop:g}"
        if self.decision == "regressed":
            return f"{self.name}: regressed, the drop exceeds {self.max_drop:g} ({figure})"
        if self.decision == "improved":
            return f"{self.name}: improved ({figure})"
        if self.decision == "pass":
            return f"{self.name}: pass, any drop is within {self.max_drop:g} ({figure})"
        more = (
            f"; about {self.items_to_decide} paired items would decide at this spread"
            if self.items_to_decide
            else ""
        )
        return f"{self.name}: inconclusive, the interval straddles {limit} ({figure}){more}"


class Limits(BaseModel):
    """How a sequential gate was fed: its budget of items, batch size and batches used."""

    budget: int
    batch_size: int
    batches: int


class GateReport(BaseModel):
    """Candidate against baseline on the items both graded; `decision` is the gate's."""

    model_config = ConfigDict(extra="forbid")

    baseline: str
    candidate: str
    method: Literal["bootstrap", "betting"]
    confidence: float = 0.95
    resamples: int | None = None
    seed: int | None = None
    mode: str | None = None
    judges: dict[str, list[str]] = Field(default_factory=dict)
    rubric_hashes: dict[str, list[str]] = Field(default_factory=dict)
    different_judge: bool = False
    n_paired: int
    only_in_baseline: list[str] = Field(default_factory=list)
    only_in_candidate: list[str] = Field(default_factory=list)
    rows: list[GateRow]
    decision: Decision
    limits: Limits | None = None
    notes: list[str] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def exit_code(self) -> int:
        """1 when regressed (CI fails), else 0; an inconclusive gate says so, exits 0."""
        return EXIT_FAILURES if self.decision == "regressed" else EXIT_OK

    def method_text(self) -> str:
        level = f"{self.confidence:.0%}"
        if self.method == "betting":
            spent = (
                ""
                if self.limits is None
                else (
                    f", {self.n_paired} of a budget of {self.limits.budget} items "
                    f"in {self.limits.batches} batches"
                )
            )
            return (
                f"sequential: {level} betting confidence sequences, anytime-valid p-values "
                f"Holm-adjusted across {len(self.rows)} rows{spent}"
            )
        return (
            f"{level} paired bootstrap ({self.resamples} resamples, seed {self.seed}), "
            f"one-sided p-values Holm-adjusted across {len(self.rows)} rows"
        )

    def unpaired_lines(self) -> list[str]:
        """Items only one run graded, counted and named (the first few)."""
        out = []
        for side, ids in (
            ("baseline", self.only_in_baseline),
            ("candidate", self.only_in_candidate),
        ):
            if ids:
                shown = ", ".join(ids[:_SHOWN_IDS])
                more = f" and {len(ids) - _SHOWN_IDS} more" if len(ids) > _SHOWN_IDS else ""
                out.append(f"{len(ids)} items only in the {side}, left unpaired: {shown}{more}")
        return out

    def render(self) -> Group:
        table = Table(
            title=f"{self.candidate} - {self.baseline}: paired differences",
            title_justify="left",
        )
        for column in ("row", "baseline", "candidate", "difference", "max drop", "decision"):
            table.add_column(column, justify="left" if column == "row" else "right")
        for row in self.rows:
            colour = _COLOUR[row.decision]
            table.add_row(
                escape(row.name),
                "-" if row.baseline is None else row.baseline.cell(),
                "-" if row.candidate is None else row.candidate.cell(),
                row.difference.cell(signed=True),
                f"{row.max_drop:g}",
                f"[{colour}]{row.decision}[/]",
            )
        parts: list[RenderableType] = [table, Text(self.method_text(), style="dim")]
        parts += [Text(text) for text in [*self.unpaired_lines(), *self.notes]]
        parts += [Text(row.sentence()) for row in self.rows if row.decision != "pass"]
        colour = _COLOUR[self.decision]
        parts.append(Text.from_markup(f"gate: [bold {colour}]{self.decision}[/]"))
        return Group(*parts)

    def to_markdown(self) -> str:
        """A summary for a pull-request comment."""
        lines = [
            f"### jurist gate: **{self.decision}**",
            "",
            f"`{self.candidate}` against `{self.baseline}`, {self.n_paired} paired items; "
            f"{self.method_text()}.",
            "",
            "| row | baseline | candidate | difference | max drop | decision |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for row in self.rows:
            base = "-" if row.baseline is None else row.baseline.cell()
            cand = "-" if row.candidate is None else row.candidate.cell()
            lines.append(
                f"| {row.name} | {base} | {cand} | {row.difference.cell(signed=True)} "
                f"| {row.max_drop:g} | {row.decision} |"
            )
        extra = [*self.unpaired_lines(), *self.notes]
        extra += [row.sentence() for row in self.rows if row.decision != "pass"]
        if extra:
            lines += ["", *(f"- {text}" for text in extra)]
        return "\n".join(lines) + "\n"

    def to_junit(self) -> str:
        """JUnit XML: one test case per row; regressed fails, inconclusive is skipped."""
        failures = sum(r.decision == "regressed" for r in self.rows)
        skipped = sum(r.decision == "inconclusive" for r in self.rows)
        suite = ET.Element(
            "testsuite",
            name="jurist gate",
            tests=str(len(self.rows)),
            failures=str(failures),
            skipped=str(skipped),
        )
        for row in self.rows:
            case = ET.SubElement(suite, "testcase", classname="jurist.gate", name=row.name)
            if row.decision == "regressed":
                ET.SubElement(case, "failure", message=row.sentence())
            elif row.decision == "inconclusive":
                ET.SubElement(case, "skipped", message=row.sentence())
        return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"
