"""`jurist run`: the suites of a jurist.yaml, graded through the cache and gated."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.console import Console

from jurist.cli.options import StoreOpt
from jurist.cli.output import console, exit_on_error
from jurist.testing.suites import run_suites


@exit_on_error()
def run(
    suites: Annotated[
        list[str] | None, typer.Argument(help="Suites to run (default: every suite).")
    ] = None,
    file: Annotated[Path, typer.Option("--file", "-f", help="Suite file.")] = Path("jurist.yaml"),
    output_format: Annotated[
        Literal["table", "junit", "markdown"],
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
    text = {"junit": report.to_junit, "markdown": report.to_markdown}.get(output_format)
    if text is None or output is not None:
        console.print(report.render())
    if text is not None and output is None:
        typer.echo(text(), nl=False)
    elif output is not None:
        with output.open("w", encoding="utf-8") as handle:
            if text is not None:
                handle.write(text())
            else:
                Console(file=handle, width=100).print(report.render())
    raise typer.Exit(report.exit_code)
