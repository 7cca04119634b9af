"""`jurist injection`: how far prompt injection moves the judge, and how much the defence
takes back. Thin: options in, one library call, the report out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from jurist.cli.output import console, errors
from jurist.core.data import FieldMap
from jurist.core.errors import JuristError
from jurist.injection import InjectionReport, ItemSource, injection_audit
from jurist.store import Store


def injection(
    rubric: Annotated[Path, typer.Argument(help="Rubric YAML file.")],
    data: Annotated[
        Path | None, typer.Argument(help="JSONL, CSV or Parquet file of items.")
    ] = None,
    preset: Annotated[
        str | None, typer.Option(help="A built-in benchmark (see `jurist models`); replaces DATA.")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Audit only the first N items.")] = None,
    criterion: Annotated[
        str | None, typer.Option(help="Pointwise: the criterion to grade (needed if several).")
    ] = None,
    mode: Annotated[
        Literal["pointwise", "pairwise"] | None,
        typer.Option(
            help="pointwise | pairwise (default: pairwise when items have two responses)."
        ),
    ] = None,
    attack: Annotated[
        list[str] | None,
        typer.Option(help="Built-in attack to run (repeatable; default: all of the mode's)."),
    ] = None,
    judge: Annotated[
        str | None, typer.Option(help="Judge spec, as for `jurist grade` (default: local).")
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(help="SQLite cache (default ~/.cache/jurist/store.sqlite or $JURIST_STORE)."),
    ] = None,
    defend: Annotated[
        bool, typer.Option(help="Also grade every variant with judge-directed text removed.")
    ] = True,
    id_field: Annotated[str | None, typer.Option(help="DATA column with the item id.")] = None,
    label_field: Annotated[
        list[str] | None, typer.Option(help="DATA column(s) with human labels.")
    ] = None,
    output_format: Annotated[
        Literal["table", "json"], typer.Option("--format", help="table | json")
    ] = "table",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Also write the report as JSON here.")
    ] = None,
) -> None:
    """Grade items clean and with injected text (instructions to the judge, fake answers,
    fence escapes, claimed rubric changes) and report the score shift per attack.

    Every grade is cached, so a re-run makes no model calls.
    """
    fields = FieldMap(
        id=id_field,
        response_b="response_b" if mode == "pairwise" else None,
        labels=tuple(label_field or ()),
    )
    source = ItemSource(path=data, preset=preset, limit=limit, fields=fields)
    try:
        with Store(store) as db:
            report: InjectionReport = injection_audit(
                rubric,
                source,
                judge,
                db,
                attacks=attack or None,
                defend=defend,
                criterion=criterion,
                mode=mode,
            )
    except (JuristError, ValueError, FileNotFoundError) as error:
        errors.print(f"[red]error:[/] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(getattr(error, "exit_code", 2)) from None
    if output is not None:
        output.write_text(report.to_json() + "\n", encoding="utf-8")
    if output_format == "json":
        typer.echo(report.to_json())
    else:
        console.print(report.render())
