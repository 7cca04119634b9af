"""`jurist rubric ...`: validate (and, in later modules, author) rubrics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jurist.cli.output import console, errors
from jurist.rubric import RubricError, load_rubric

rubric_app = typer.Typer(help="Validate and author rubrics.", no_args_is_help=True)


@rubric_app.command(epilog="Example: jurist rubric validate examples/helpfulness.yaml")
def validate(path: Annotated[Path, typer.Argument(help="Rubric YAML file.")]) -> None:
    """Check a rubric and print its criteria, checklist and content hash."""
    try:
        rubric = load_rubric(path)
    except RubricError as error:
        errors.print(f"[red]invalid[/] {error}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"[green]valid[/] {path}: rubric {rubric.name!r} (hash {rubric.content_hash})")
    for criterion in rubric.criteria:
        low, high = criterion.bounds
        console.print(f"  criterion {criterion.id}: {low}-{high}, weight {criterion.weight:g}")
    for item in rubric.checklist:
        console.print(f"  checklist {item.id}: weight {item.weight:g}, {item.kind}")
