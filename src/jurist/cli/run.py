"""`jurist run`: the suites of a jurist.yaml, graded through the cache and gated."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jurist.cli.options import StoreOpt
from jurist.cli.output import console, exit_on_error
from jurist.testing.outcomes import ReportFormat
from jurist.testing.suites import run_suites


@exit_on_error()
def run(
    suites: Annotated[
        list[str] | None, typer.Argument(help="Suites to run (default: every suite).")
    ] = None,
    file: Annotated[Path, typer.Option("--file", "-f", help="Suite file.")] = Path("jurist.yaml"),
    output_format: Annotated[
        ReportFormat,
        typer.Option("--format", help="table | junit (XML for CI) | markdown (a PR comment)"),
    ] = "table",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write the report to this file.")
    ] = None,
    store: StoreOpt = None,
    until_decided: Annotated[
        bool, typer.Option(help="Grade in batches until each gate is settled (sequential).")
    ] = False,
    budget: Annotated[int, typer.Option(min=1, help="Most items --until-decided grades.")] = 500,
) -> None:
    """Grade each suite (a run folder per suite), check its thresholds on their 95%
    intervals and gate it against its baseline; exits 1 when a suite fails."""
    report = run_suites(file, suites, store=store, budget=budget if until_decided else None)
    if output is None and output_format != "table":
        typer.echo(report.as_text(output_format), nl=False)
    else:
        console.print(report.render())
    if output is not None:
        report.write(output, output_format)
    raise typer.Exit(report.exit_code)
