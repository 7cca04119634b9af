"""The `jurist` command line: thin wrappers that parse flags, call the library and print."""

from __future__ import annotations

import typer

from jurist.cli.grade import grade, models
from jurist.cli.meta import register as register_meta
from jurist.cli.rubric import rubric_app

app = typer.Typer(
    name="jurist",
    help="Grade LLM outputs with LLM judges against explicit rubrics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command(
    epilog="Example: jurist grade examples/helpfulness.yaml examples/answers.jsonl -o out/"
)(grade)
app.command(epilog="Example: jurist models")(models)
app.add_typer(rubric_app, name="rubric")
register_meta(app)


def main() -> None:
    app()
