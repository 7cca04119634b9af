"""The `jurist` command line: thin wrappers that parse flags, call the library and print.

Modules here are public unless their name starts with `_`; a `_name`, module or symbol, is
never imported from outside this package (tests included).
"""

from __future__ import annotations

import shutil
from functools import partialmethod

import typer

from jurist.cli.calibrate import calibrate_app
from jurist.cli.gate import gate_command
from jurist.cli.grade import grade, models
from jurist.cli.injection import injection
from jurist.cli.meta import register as register_meta
from jurist.cli.output import OneLineErrors, click
from jurist.cli.rubric import rubric_app
from jurist.cli.run import run
from jurist.cli.train import train_app
from jurist.cli.tune import tune
from jurist.cli.view import register as register_view

_BOXED_HELP_COLUMNS = 100

app = typer.Typer(
    name="jurist",
    cls=OneLineErrors,
    help="Grade LLM outputs with LLM judges against explicit rubrics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for command, example in (
    (grade, "grade examples/helpfulness.yaml examples/answers.jsonl -o out/"),
    (models, "models"),
    (injection, "injection src/jurist/presets/summeval.yaml --preset summeval --limit 8"),
    (run, "run --format markdown -o summary.md"),
    (tune, "tune RUBRIC DATA --group-field doc_id"),
):
    app.command(epilog=f"Example: jurist {example}")(command)
app.command("gate", epilog="Example: jurist gate runs/base runs/new")(gate_command)
app.add_typer(rubric_app, name="rubric")
app.add_typer(calibrate_app, name="calibrate")
app.add_typer(train_app, name="train")
register_meta(app)
register_view(app)


def _plain_help_when_narrow() -> None:
    """Boxed help needs about 100 columns. A narrower terminal gets plain help with each
    option's text on its own lines at the terminal's full width, instead of text squeezed
    into a 20-column box."""
    if shutil.get_terminal_size((_BOXED_HELP_COLUMNS, 24)).columns >= _BOXED_HELP_COLUMNS:
        return
    app.rich_markup_mode = None
    formatter = click.HelpFormatter
    formatter.write_dl = partialmethod(formatter.write_dl, col_max=0)


def main() -> None:
    _plain_help_when_narrow()
    app()
