"""`jurist gate`: fail CI when a candidate run regressed against its baseline. Thin."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal

import typer

from jurist.cli.options import StoreOpt, dataclass_options, option_groups
from jurist.cli.output import console, exit_on_error
from jurist.testing.gate import GateSettings, gate

RunArg = Annotated[str, typer.Argument(help="Run folder, results.jsonl or run id.")]
Show = Literal["table", "json", "markdown", "junit"]


@exit_on_error()
@option_groups(settings=dataclass_options(GateSettings))
def gate_command(
    baseline: RunArg,
    candidate: RunArg,
    criterion: Annotated[list[str] | None, typer.Option(help="Only these rows.")] = None,
    output_format: Annotated[Show, typer.Option("--format", help="table|json|markdown|junit")] = (
        "table"
    ),
    store: StoreOpt = None,
    *,
    settings: GateSettings,
) -> None:
    """Paired differences per criterion with 95% bootstrap intervals (Holm across criteria)
    and a decision: pass, improved, inconclusive, or regressed (exit 1)."""
    report = gate(baseline, candidate, criteria=criterion, store=store, **asdict(settings))
    if output_format == "table":
        console.print(report.render())
    else:
        as_text = {"json": report.model_dump_json, "markdown": report.to_markdown}
        typer.echo(as_text.get(output_format, report.to_junit)())
    raise typer.Exit(report.exit_code)
