"""Printing summaries as Rich tables or JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from jurist.core.errors import EXIT_INPUT, JuristError
from jurist.core.secrets import scrub
from jurist.engine.summary import GradeSummary

console = Console(stderr=False)
errors = Console(stderr=True)


@contextmanager
def exit_on_error() -> Iterator[None]:
    """The one way from an error to an exit code: one scrubbed line on stderr.

    A jurist error exits with its documented code; a `ValueError` or missing file the
    library let through is bad input. Usable as a decorator on a command as well.
    """
    try:
        yield
    except (JuristError, ValueError, FileNotFoundError) as error:
        fail(str(error), getattr(error, "exit_code", EXIT_INPUT))


def fail(message: str, code: int = EXIT_INPUT, *, prefix: str = "[red]error:[/] ") -> NoReturn:
    """Print `message` (credentials masked, on one line) and exit with `code`."""
    shown = escape(scrub(message).replace("\n", " "))
    errors.print(f"{prefix}{shown}", highlight=False, soft_wrap=True)
    raise typer.Exit(code) from None


def print_grade_summary(summary: GradeSummary, as_json: bool) -> None:
    """The run summary as JSON (summary.json's keys) or as the report renders itself."""
    if as_json:
        console.print_json(json.dumps(summary.as_dict()))
        return
    for part in summary.render():
        console.print(part)
