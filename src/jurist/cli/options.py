"""Options that several commands take, declared once.

Help text is written here only, and no default is restated: an option is `None` ("not
given", the library fills its default) or defaults to the value read from a library
object (`judge_setup(base)` shows `base`'s). `option_groups` lets a command take a group
of these through a builder that turns them into the library's own settings value.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import MISSING, Field, fields, replace
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_origin, get_type_hints

import typer

from jurist.session import JudgeSetup

Format = Literal["table", "json"]

# --- what is judged ---------------------------------------------------------------------

JUDGE_SPECS = (
    "local (default: embedded Gemma 3 270M), local:PATH.gguf, openai:MODEL, openai:URL#MODEL"
)
RubricArg = Annotated[Path, typer.Argument(help="Rubric YAML file.")]
DataArg = Annotated[Path | None, typer.Argument(help="JSONL, CSV or Parquet file of items.")]
JudgeOpt = Annotated[str | None, typer.Option(help=JUDGE_SPECS)]
PresetOpt = Annotated[
    str | None, typer.Option(help="A built-in benchmark (see `jurist models`); replaces DATA.")
]
LimitOpt = Annotated[int | None, typer.Option(min=0, help="Use only the first N items.")]

# --- where the fields of an item are ----------------------------------------------------

InputFieldOpt = Annotated[str, typer.Option(help="Column with the input (text or chat messages).")]
ResponseFieldOpt = Annotated[str, typer.Option(help="Column with the (first) response.")]
ResponseBFieldOpt = Annotated[str, typer.Option(help="Column with the second response of a pair.")]
ReferenceFieldOpt = Annotated[str | None, typer.Option(help="Column with a reference answer.")]
IdFieldOpt = Annotated[
    str | None, typer.Option(help="Column with a unique item id (default: row number).")
]
LabelFieldsOpt = Annotated[
    list[str] | None, typer.Option(help="Column(s) with human labels to carry into results.")
]
KeepFieldsOpt = Annotated[
    list[str] | None, typer.Option(help="Column(s) to carry into results as metadata.")
]

# --- how calls are made -----------------------------------------------------------------

StoreOpt = Annotated[
    Path | None,
    typer.Option(
        help="SQLite store of cached calls and runs, shared by every command (default "
        "~/.cache/jurist/store.sqlite or $JURIST_STORE): a re-run makes no model calls."
    ),
]
ConcurrencyOpt = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Items in flight at once, and the ceiling of the adaptive request limit "
        "(halved on 429s and timeouts, grown back on success).",
    ),
]
TimeoutOpt = Annotated[
    float | None,
    typer.Option(
        help="Seconds a request may take once sent (scaled by the requests queued at a "
        "serialising server) before it is retried."
    ),
]
MaxAttemptsOpt = Annotated[
    int | None, typer.Option(min=1, help="Attempts per request on 429 / 5xx / timeouts.")
]
RpmOpt = Annotated[float | None, typer.Option(help="Stay under this many requests per minute.")]
TpmOpt = Annotated[
    float | None, typer.Option(help="Stay under this many tokens per minute (estimated).")
]
ApiKeyEnvOpt = Annotated[str | None, typer.Option(help="Environment variable holding the API key.")]
LogprobsOpt = Annotated[
    bool | None,
    typer.Option(
        help="Ask for token log-probabilities (score distributions). "
        "Default: on for local, off for openai."
    ),
]

# --- output -----------------------------------------------------------------------------

FormatOpt = Annotated[Format, typer.Option("--format", help="table | json")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


Command = TypeVar("Command", bound=Callable[..., Any])
Settings = TypeVar("Settings")


def option_groups(**builders: Callable[..., Any]) -> Callable[[Command], Command]:
    """Give a command groups of options declared once: for each `name=builder`, the
    builder's parameters (options with their help) join the command line after the
    command's own, and the command receives `name=builder(**those values)`.

    A builder parameter the command (or an earlier builder) also declares is shown once
    and handed to both, so a builder never re-declares what a command already takes.
    """

    def decorate(command: Command) -> Command:
        own = inspect.signature(command, eval_str=True)
        kept = [p for p in own.parameters.values() if p.name not in builders]
        known = {p.name for p in kept}
        takes: dict[str, list[str]] = {}
        for name, builder in builders.items():
            parameters = inspect.signature(builder, eval_str=True).parameters.values()
            takes[name] = [p.name for p in parameters]
            for parameter in parameters:
                if parameter.name not in known:
                    kept.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY))
                    known.add(parameter.name)
        mine = set(own.parameters) - set(builders)

        @functools.wraps(command)
        def run(**values: Any) -> Any:
            built = {
                name: builder(**{key: values[key] for key in takes[name]})
                for name, builder in builders.items()
            }
            return command(**{k: v for k, v in values.items() if k in mine}, **built)

        run.__signature__ = own.replace(parameters=kept)  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in kept} | {"return": None}
        return run  # type: ignore[return-value]

    return decorate


def judge_setup(base: JudgeSetup) -> Callable[..., JudgeSetup]:
    """The builder of a command's `JudgeSetup`: the judge flags, their defaults read from
    `base` (what the library's caller would get), shown by `--help`."""
    calls = base.calls

    def setup(
        judge: JudgeOpt = base.judge,
        concurrency: ConcurrencyOpt = calls.concurrency,
        timeout: TimeoutOpt = calls.timeout,
        max_attempts: MaxAttemptsOpt = calls.retry.max_attempts,
        api_key_env: ApiKeyEnvOpt = base.api_key_env,
    ) -> JudgeSetup:
        retry = replace(calls.retry, max_attempts=max_attempts or calls.retry.max_attempts)
        policy = replace(
            calls, concurrency=concurrency or calls.concurrency, timeout=timeout, retry=retry
        )
        key_env = api_key_env or base.api_key_env
        return replace(base, judge=judge, calls=policy, api_key_env=key_env)

    return setup


def settings_options(
    settings: type[Settings] | Settings, **options: Any
) -> Callable[..., Settings]:
    """The builder of a library settings dataclass (a class, or an instance whose values are
    the defaults) from options named after its fields: each takes the field's default, its
    type and the help given here: a string, a `typer.Option(...)` for flag names and bounds,
    or an `Annotated` alias for a narrower type. A dict names the options of a nested
    settings field (`writing={"temperature": ...}`). Fields not named keep their default."""
    cls = settings if isinstance(settings, type) else type(settings)
    kinds = get_type_hints(cls)
    base = {f.name: _default(f) for f in fields(cls)}  # type: ignore[arg-type]
    if not isinstance(settings, type):
        base = {name: getattr(settings, name) for name in base}
    parameters, nested = [], {}
    for name, option in options.items():
        if isinstance(option, dict):
            nested[name] = settings_options(base[name], **option)
            parameters += nested[name].__signature__.parameters.values()  # type: ignore[attr-defined]
            continue
        if base[name] is MISSING:
            raise TypeError(f"{cls.__name__}.{name} has no default to show")
        if get_origin(option) is Annotated:  # an option alias, with a narrower type
            kind = option
        else:
            info = typer.Option(help=option) if isinstance(option, str) else option
            kind = Annotated[kinds[name], info]  # type: ignore[valid-type]
        keyword = inspect.Parameter.KEYWORD_ONLY
        parameters.append(inspect.Parameter(name, keyword, default=base[name], annotation=kind))

    def build(**values: Any) -> Settings:
        for name, builder in nested.items():
            own = builder.__signature__.parameters  # type: ignore[attr-defined]
            values[name] = builder(**{key: values.pop(key) for key in own})
        return cls(**values) if isinstance(settings, type) else replace(settings, **values)

    build.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return build


def _default(field: Field[Any]) -> Any:
    if field.default_factory is not MISSING:
        return field.default_factory()
    return field.default
