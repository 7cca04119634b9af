"""What the commands print: reports as Rich or JSON, and every error as one scrubbed
`error:` line with its exit code, whether the library refused the input or the command
line did (`OneLineErrors`)."""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any, NoReturn, get_args, get_origin

import typer
import typer.core
from rich.console import Console
from rich.markup import escape

from jurist.core.errors import EXIT_INPUT, JuristError
from jurist.core.secrets import scrub

console = Console(stderr=False)
errors = Console(stderr=True)
# Typer ships its own copy of click (0.25 on); earlier versions run on click itself.
click: ModuleType = getattr(typer.core, "_click", None) or importlib.import_module("click")


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


def fail(message: str, code: int = EXIT_INPUT) -> NoReturn:
    """Print `message` (credentials masked, on one line) and exit with `code`."""
    shown = escape(scrub(message).replace("\n", " "))
    errors.print(f"[red]error:[/] {shown}", highlight=False, soft_wrap=True)
    raise typer.Exit(code) from None


def show(report: Any, as_json: bool) -> None:
    """A library report as JSON, or as it renders itself."""
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        console.print(report.render())


# --- command-line errors ----------------------------------------------------------------


class OneLineErrors(typer.core.TyperGroup):
    """The root command. A bad option value of any command is one line naming the option,
    the value and what is accepted, exit 2 (not Typer's boxed usage text); a number that
    is not finite (`inf`, `nan`) is refused wherever a number is taken."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for command in _commands(self):
            for param in command.params:
                param.callback = _finite(param.callback)

    def make_context(self, info_name: str | None, args: list[str], *rest: Any, **extra: Any) -> Any:
        with _one_line():
            return super().make_context(info_name, args, *rest, **extra)

    def invoke(self, ctx: Any) -> Any:
        with _one_line():
            return super().invoke(ctx)


def _commands(group: Any) -> Iterator[Any]:
    for command in getattr(group, "commands", {}).values():
        yield command
        yield from _commands(command)


Callback = Callable[[Any, Any, Any], Any]


def _finite(callback: Callback | None) -> Callback:
    def check(ctx: Any, param: Any, value: Any) -> Any:
        for one in value if isinstance(value, list | tuple) else (value,):
            if isinstance(one, float) and not math.isfinite(one):
                error = typer.BadParameter("not a finite number", ctx=ctx, param=param)
                error.value = one
                raise error
        return value if callback is None else callback(ctx, param, value)

    return check


@contextmanager
def _one_line() -> Iterator[None]:
    try:
        yield
    except click.exceptions.ClickException as error:
        if type(error).__name__ == "NoArgsIsHelpError":  # help was asked for: shown as is
            raise
        fail(_usage_line(error), error.exit_code)


def _usage_line(error: Any) -> str:
    """`--option: value 'x' is not <what is accepted>`, else the option and click's text."""
    param, message = getattr(error, "param", None), error.message or error.format_message()
    if param is None:
        return message
    is_argument = param.param_type_name == "argument"
    name = (param.metavar or param.name.upper()) if is_argument else max(param.opts, key=len)
    value, accepted = _given(error), _accepted(param)
    if value is None or accepted is None:
        return f"{name}: {message[:1].lower()}{message[1:]}"
    return f"{name}: value {str(value)!r} is not {accepted}"


def _given(error: Any) -> Any:
    """The value refused: the finite check's, or the input Typer's validation names."""
    if hasattr(error, "value"):
        return error.value
    found = getattr(error.__cause__, "errors", None)  # a pydantic ValidationError
    return found()[0].get("input") if callable(found) and found() else None


def _accepted(param: Any) -> str | None:
    """What an option takes, from its declaration (None where Typer does not say)."""
    declared = getattr(param, "type_descriptor", None)
    if declared is None:
        return None
    if declared.is_choice:
        return "one of: " + ", ".join(str(choice) for choice in declared.choices)
    kind = declared.annotation
    noun = {int: "an integer", float: "a finite number"}.get(
        get_args(kind)[0] if get_origin(kind) is list else kind
    )
    low, high = declared.parameter_info.min, declared.parameter_info.max
    bounds = [f">= {low}" if low is not None else "", f"<= {high}" if high is not None else ""]
    if noun is None or not any(bounds):
        return noun
    return f"{noun} from {low} to {high}" if all(bounds) else f"{noun} {''.join(bounds)}"
