"""What `jurist run` found: per suite, its thresholds and its gate, rendered for a
terminal, as JUnit XML for CI, or as Markdown for a pull-request comment.

A suite fails when a threshold's interval lies below its bar or its gate says
`regressed`; an inconclusive threshold or gate is reported as such and fails the run only
for a `strict` suite, as the gate itself exits 0 when it cannot decide.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console, Group, RenderableType
from rich.text import Text

from jurist.core.errors import EXIT_FAILURES, EXIT_OK
from jurist.engine.summary import GradeSummary
from jurist.stats.results import Figure
from jurist.testing.gate_report import GateReport

__all__ = ["SuiteOutcome", "SuitesReport", "ThresholdCheck"]

Decision = Literal["pass", "fail", "inconclusive"]
ReportFormat = Literal["table", "junit", "markdown"]
_COLOUR = {"pass": "green", "fail": "red", "inconclusive": "yellow"}


class ThresholdCheck(BaseModel):
    """A threshold decided on its interval: a mean score (bootstrap) or a share of items
    reaching `score` (Wilson)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Literal["mean", "rate"]
    bar: float
    score: float | None = None
    figure: Figure
    decision: Decision
    cases_needed: int | None = None
    excluded: int = 0

    @classmethod
    def unmeasured(cls, name: str, kind: Literal["mean", "rate"], bar: float, excluded: int) -> (
        ThresholdCheck
    ):  # fmt: skip
        """A threshold no item could be measured on (an unknown name, or no readable
        score): it fails, since nothing shows it is met."""
        return cls(name=name, kind=kind, bar=bar, figure=Figure(), decision="fail",
                   excluded=excluded)  # fmt: skip

    def sentence(self) -> str:
        what = "mean" if self.kind == "mean" else f"share scoring >= {self.score:g}"
        if self.figure.n == 0:
            return f"{self.name}: no item has a readable {self.name} figure: fail"
        more = ""
        if self.decision == "inconclusive":
            more = (
                f"; about {self.cases_needed} items would decide at this rate"
                if self.cases_needed
                else "; more items would narrow the interval"
            )
        unread = f", {self.excluded} unreadable" if self.excluded else ""
        return (
            f"{self.name}: {what} {self.figure.cell()}{unread}, required >= {self.bar:g}: "
            f"{self.decision}{more}"
        )


class SuiteOutcome(BaseModel):
    """One suite's run, its threshold checks and its gate against the baseline."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    run_id: str
    output_dir: str
    summary: GradeSummary
    thresholds: list[ThresholdCheck]
    gate: GateReport | None = None
    strict: bool = False
    notes: list[str] = Field(default_factory=list)

    @property
    def decision(self) -> Decision:
        decisions = [check.decision for check in self.thresholds]
        if self.gate is not None:
            gated = {"regressed": "fail", "inconclusive": "inconclusive"}
            decisions.append(gated.get(self.gate.decision, "pass"))  # type: ignore[arg-type]
        if "fail" in decisions:
            return "fail"
        return "inconclusive" if "inconclusive" in decisions else "pass"

    @property
    def exit_code(self) -> int:
        failing = self.decision == "fail" or (self.strict and self.decision == "inconclusive")
        return EXIT_FAILURES if failing else EXIT_OK

    def headline(self) -> str:
        s = self.summary
        return (
            f"suite {self.name}: run {self.run_id} in {self.output_dir}: {s.items} items "
            f"(ok {s.ok}, parse_error {s.parse_error}, failed {s.failed}); "
            f"model calls {s.model_calls}, cache hits {s.cache_hits}"
        )


class SuitesReport(BaseModel):
    """Every suite `jurist run` ran; its exit code is the worst suite's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    suites: list[SuiteOutcome]

    @property
    def decision(self) -> Decision:
        decisions = [suite.decision for suite in self.suites]
        if "fail" in decisions:
            return "fail"
        return "inconclusive" if "inconclusive" in decisions else "pass"

    @property
    def exit_code(self) -> int:
        return max((suite.exit_code for suite in self.suites), default=EXIT_OK)

    def render(self) -> RenderableType:
        parts: list[RenderableType] = []
        for suite in self.suites:
            parts.append(Text(suite.headline()))
            parts += [Text("  " + check.sentence()) for check in suite.thresholds]
            parts += [Text("  " + note) for note in suite.notes]
            if suite.gate is not None:
                parts.append(suite.gate.render())
            parts.append(_marked(f"suite {suite.name}", suite.decision))
        parts.append(_marked("jurist run", self.decision))
        return Group(*parts)

    def as_text(self, fmt: Literal["junit", "markdown"]) -> str:
        """The report as JUnit XML (for CI) or Markdown (for a pull-request comment)."""
        return self.to_junit() if fmt == "junit" else self.to_markdown()

    def write(self, path: Path, fmt: ReportFormat = "table") -> None:
        """Save the report to `path` as `fmt`; the table is saved as plain text."""
        with path.open("w", encoding="utf-8") as handle:
            if fmt == "table":
                Console(file=handle, width=100).print(self.render())
            else:
                handle.write(self.as_text(fmt))

    def to_markdown(self) -> str:
        """A summary for a pull-request comment: one section per suite."""
        lines = [f"## jurist run: **{self.decision}**", ""]
        for suite in self.suites:
            s = suite.summary
            lines += [
                f"### {suite.name}: **{suite.decision}**",
                "",
                f"{s.items} items (ok {s.ok}, parse_error {s.parse_error}, failed {s.failed}); "
                f"model calls {s.model_calls}, cache hits {s.cache_hits}.",
                "",
            ]
            if suite.thresholds:
                lines += ["| threshold | measured (95% CI) | required | decision |"]
                lines += ["|---|---:|---:|---|"]
                for check in suite.thresholds:
                    what = "mean" if check.kind == "mean" else f"share >= {check.score:g}"
                    lines.append(
                        f"| {check.name} ({what}) | {check.figure.cell()} | >= {check.bar:g} "
                        f"| {check.decision} |"
                    )
                lines.append("")
            lines += [f"- {note}" for note in suite.notes] + ([""] if suite.notes else [])
            if suite.gate is not None:
                lines += [suite.gate.to_markdown(), ""]
        return "\n".join(lines).rstrip() + "\n"

    def to_junit(self) -> str:
        """JUnit XML: a test suite per suite, a test case per threshold and gate row;
        fail and regressed are failures, inconclusive is skipped."""
        root = ET.Element("testsuites", name="jurist run")
        for suite in self.suites:
            cases: list[tuple[str, str, str]] = [
                (f"threshold {c.name}", c.decision, c.sentence()) for c in suite.thresholds
            ]
            if suite.gate is not None:
                cases += [(f"gate {r.name}", r.decision, r.sentence()) for r in suite.gate.rows]
            if not cases:
                cases = [("graded", "pass", suite.headline())]
            failures = sum(decision in ("fail", "regressed") for _, decision, _ in cases)
            skipped = sum(decision == "inconclusive" for _, decision, _ in cases)
            element = ET.SubElement(
                root, "testsuite", name=suite.name, tests=str(len(cases)),
                failures=str(failures), skipped=str(skipped),
            )  # fmt: skip
            for name, decision, sentence in cases:
                case = ET.SubElement(element, "testcase", classname=f"jurist.{suite.name}",
                                     name=name)  # fmt: skip
                if decision in ("fail", "regressed"):
                    ET.SubElement(case, "failure", message=sentence)
                elif decision == "inconclusive":
                    ET.SubElement(case, "skipped", message=sentence)
                else:
                    ET.SubElement(case, "system-out").text = sentence
        return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _marked(label: str, decision: Decision) -> Text:
    return Text.from_markup(f"{label}: [bold {_COLOUR[decision]}]{decision}[/]")
