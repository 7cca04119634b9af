"""How the rubric commands' results read on a terminal: Rich tables and lines built from
the typed results (`Finding`, `Retrieved`, `ItemOutcome`, `GenerateReport`, `RefineRun`),
so any caller shows them the way `jurist rubric ...` does. Judged or user text is escaped:
a rubric or reason with square brackets must not read as Rich markup."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table

from jurist.core.rubric import Rubric
from jurist.rubrics.batch import GenerateReport, ItemOutcome
from jurist.rubrics.lint import Finding
from jurist.rubrics.refine_run import RefineRun
from jurist.rubrics.retrieve import INDEX_DIR, Retrieved, RubricIndex

__all__ = [
    "findings_table",
    "generate_lines",
    "index_line",
    "outcome_line",
    "refine_lines",
    "retrieved_rows",
    "retrieved_table",
    "rubric_lines",
    "skipped_lines",
]


def rubric_lines(path: Path, rubric: Rubric) -> list[str]:
    """A valid rubric's name, hash, and each criterion and checklist item."""
    lines = [f"[green]valid[/] {path}: rubric {rubric.name!r} (hash {rubric.content_hash})"]
    for criterion in rubric.criteria:
        low, high = criterion.bounds
        lines.append(f"  criterion {criterion.id}: {low}-{high}, weight {criterion.weight:g}")
    for item in rubric.checklist:
        lines.append(f"  checklist {item.id}: weight {item.weight:g}, {item.kind}")
    return lines


def findings_table(path: Path, findings: Sequence[Finding]) -> RenderableType:
    """Lint findings, errors in red and warnings in yellow; one line when there are none."""
    if not findings:
        return f"[green]clean[/] {escape(str(path))}: no findings"
    table = Table(title=f"{path}: {len(findings)} findings", show_lines=False)
    for column in ("severity", "criterion", "rule", "message", "suggestion"):
        table.add_column(column, overflow="fold")
    for finding in findings:
        colour = "red" if finding.severity == "error" else "yellow"
        table.add_row(
            f"[{colour}]{finding.severity}[/]",
            escape(finding.target),
            finding.rule,
            escape(finding.message),
            escape(finding.suggestion),
        )
    return table


def index_line(built: RubricIndex, library: Path) -> str:
    """What an index holds and where it was written."""
    prompts = sum(kind == "prompt" for _, kind in built.rows)
    return (
        f"indexed {len(built.rubrics)} rubrics ({prompts} prompts, {len(built.rows)} texts) "
        f"with {built.model} into {escape(str(library / INDEX_DIR))}"
    )


def skipped_lines(built: RubricIndex) -> list[str]:
    """The library files left out of the index, and why."""
    return [f"[yellow]skipped[/] {escape(p)}: {escape(why)}" for p, why in built.skipped.items()]


def retrieved_rows(found: Sequence[Retrieved]) -> list[dict[str, Any]]:
    """The nearest rubrics as plain rows (what `--format json` prints)."""
    return [
        {
            "rank": rank,
            "score": round(hit.score, 4),
            "path": str(hit.path),
            "name": hit.rubric.name,
            "criteria": len(hit.rubric.criteria),
            "checklist": len(hit.rubric.checklist),
        }
        for rank, hit in enumerate(found, start=1)
    ]


def retrieved_table(library: Path, rows: Sequence[dict[str, Any]]) -> Table:
    table = Table(title=f"nearest rubrics in {library}")
    for column in ("rank", "score", "path", "name", "parts"):
        table.add_column(column, overflow="fold")
    for row in rows:
        parts = f"{row['criteria']} criteria, {row['checklist']} checks"
        table.add_row(
            str(row["rank"]), f"{row['score']:.3f}", escape(row["path"]), row["name"], parts
        )
    return table


def outcome_line(outcome: ItemOutcome) -> str:
    """One item's outcome as it is generated: its status, files, repairs or reason."""
    status = outcome.status
    colour = {"ok": "green", "repaired": "green", "skipped": "yellow"}.get(status, "red")
    text = f"[{colour}]{status}[/] {escape(outcome.id)}"
    if outcome.files:
        text += " -> " + ", ".join(escape(f) for f in outcome.files)
    if outcome.repairs:
        text += f" ({len(outcome.repairs)} repairs)"
    if outcome.reason and not outcome.usable:
        text += f": {escape(outcome.reason)}"
    return text


def generate_lines(report: GenerateReport) -> Group:
    """The counts, model usage, the summary rubric and where the report is."""
    lines = [
        f"{report.usable} of {report.items} items got a rubric ("
        + ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items()))
        + f"); model calls {report.model_calls}, cache hits {report.cache_hits}"
    ]
    if report.summary is not None:
        summary = report.summary
        lines.append(
            f"summary: {escape(summary.file)} ({summary.criteria} criteria, "
            f"{summary.checklist} checks from {summary.rubrics} rubrics)"
        )
    lines.append(f"report: {escape(report.report_file)}")
    return Group(*lines)


def refine_lines(run: RefineRun) -> Group:
    """What was graded, every change and why, and where the rubric and report are."""
    changes = run.changes or ["no changes: every criterion separated responses and none was pruned"]
    return Group(
        f"graded {run.responses} responses ({run.pairs} pairs) in {run.report.rounds} rounds; "
        f"model calls {run.model_calls}, cache hits {run.cache_hits}",
        *(f"  {escape(line)}" for line in changes),
        f"refined rubric: {escape(run.output)}",
        f"report: {escape(run.report_file)}",
    )
