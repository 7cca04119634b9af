"""`jurist gate`: fail CI when a candidate run regressed against its baseline. Thin."""

from __future__ import annotations

from typing import Annotated, Literal

import typer

from jurist.cli.options import StoreOpt
from jurist.cli.output import console, exit_on_error
from jurist.testing.gate import DEFAULT_MAX_DROP, DEFAULT_MAX_DROP_SHARE, gate

RunArg = Annotated[str, typer.Argument(help="Run folder, results.jsonl or run id.")]
Show = Literal["table", "json", "markdown", "junit"]


@exit_on_error()
def gate_command(
    baseline: RunArg,
    candidate: RunArg,
    max_drop: Annotated[float, typer.Option(help="Tolerated drop, scale points.")] = (
        DEFAULT_MAX_DROP
    ),
    max_drop_share: Annotated[
        float, typer.Option(help="Tolerated drop of overall score / win rate (0-1).")
    ] = DEFAULT_MAX_DROP_SHARE,
    criterion: Annotated[list[str] | None, typer.Option(help="Only these rows.")] = None,
    output_format: Annotated[Show, typer.Option("--format", help="table|json|markdown|junit")] = (
        "table"
    ),
    allow_different_judge: Annotated[bool, typer.Option(help="Compare across judges.")] = False,
    store: StoreOpt = None,
) -> None:
    """Paired differences per criterion with 95% bootstrap intervals (Holm across criteria)
    and a decision: pass, improved, inconclusive, or regressed (exit 1)."""
    report = gate(
        baseline, candidate, max_drop=max_drop, max_drop_share=max_drop_share,
        criteria=criterion, allow_different_judge=allow_different_judge, store=store,
    )  # fmt: skip
    if output_format == "table":
        console.print(report.render())
    else:
        as_text = {"json": report.model_dump_json, "markdown": report.to_markdown}
        typer.echo(as_text.get(output_format, report.to_junit)())
    raise typer.Exit(report.exit_code)
