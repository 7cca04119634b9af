"""Options that several commands take, declared once.

An option that sets a library settings field takes its type, help and bounds from the field
(dataclass `metadata`, model `Field(description=...)`) and never restates its default.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import MISSING, Field, fields, replace
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar, get_origin, get_type_hints

import typer
from pydantic import BaseModel

from jurist.core.data import FieldMap
from jurist.datasets import ItemSource
from jurist.session import JudgeSetup

Format = Literal["table", "json"]
_KEYWORD = inspect.Parameter.KEYWORD_ONLY
_BOUNDS = ("min", "max")


def field_help(owner: Any, name: str) -> str | None:
    """The help a library settings field carries (an instance stands for its class)."""
    return _described(owner, name)[1].get("help")


def field_option(owner: Any, name: str, *flags: str, **option: Any) -> Any:
    """A `typer.Option` (named `flags`, if given) documented and bounded by the library
    field `name` sets."""
    known = _described(owner, name)[1]
    bounds = {key: known[key] for key in _BOUNDS if key in known}
    return typer.Option(*flags, **{"help": known.get("help"), **bounds, **option})


def _described(owner: Any, name: str) -> tuple[Any, dict[str, Any]]:
    """The type of field `name` of a settings dataclass or model, and what it says of
    itself (help, bounds)."""
    cls = owner if isinstance(owner, type) else type(owner)
    if issubclass(cls, BaseModel):
        info = cls.model_fields[name]
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        return info.annotation, {"help": info.description, **extra}
    found = next(f for f in fields(cls) if f.name == name)
    return get_type_hints(cls)[name], dict(found.metadata)


# What is judged, how calls are made, what is printed.

RubricArg = Annotated[Path, typer.Argument(help="Rubric YAML file.")]
DataArg = Annotated[Path | None, typer.Argument(help="JSONL, CSV or Parquet file of items.")]
JudgeOpt = Annotated[str | None, field_option(JudgeSetup, "judge")]
PresetOpt = Annotated[str | None, field_option(ItemSource, "preset")]
LimitOpt = Annotated[int | None, field_option(ItemSource, "limit")]
IdFieldOpt = Annotated[str | None, field_option(FieldMap, "id")]
LabelFieldsOpt = Annotated[list[str] | None, field_option(FieldMap, "labels")]

StoreOpt = Annotated[
    Path | None,
    typer.Option(
        help="SQLite store of cached calls and runs, shared by every command (default "
        "~/.cache/jurist/store.sqlite or $JURIST_STORE): a re-run makes no model calls."
    ),
]

FormatOpt = Annotated[Format, typer.Option("--format", help="table | json")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


Command = TypeVar("Command", bound=Callable[..., Any])
Settings = TypeVar("Settings")


def option_groups(**builders: Callable[..., Any]) -> Callable[[Command], Command]:
    """Groups of options declared once: for each `name=builder`, the builder's parameters
    join the command's options (one shared by the command or an earlier builder is shown
    once and handed to both) and the command receives `name=builder(**their values)`."""

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
                    kept.append(parameter.replace(kind=_KEYWORD))
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


def field_options(*groups: tuple[Any, ...]) -> Callable[..., dict[str, Any]]:
    """A builder of options, each typed and documented by the library field it sets, from
    groups `(owner, name, ...)`: None until given for a class owner (the library fills the
    default), the instance's value for an instance; `"flag=field"` renames an option."""
    parameters = []
    for owner, *names in groups:
        for name in names:
            flag, _, field = name.partition("=")
            field = field or flag
            default = None if isinstance(owner, type) else getattr(owner, field)
            kind = _described(owner, field)[0] | None
            option = Annotated[kind, field_option(owner, field)]
            parameters.append(inspect.Parameter(flag, _KEYWORD, default=default, annotation=option))

    def build(**values: Any) -> dict[str, Any]:
        return values

    build.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return build


def judge_setup(base: JudgeSetup) -> Callable[..., JudgeSetup]:
    """The builder of a command's `JudgeSetup`: the judge flags, their defaults read from
    `base` (what the library's caller would get), shown by `--help`."""
    calls = base.calls
    flags = field_options(
        (base, "judge", "api_key_env"),
        (calls, "concurrency", "timeout"),
        (calls.retry, "max_attempts"),
    )

    def setup(**given: Any) -> JudgeSetup:
        attempts = given["max_attempts"] or calls.retry.max_attempts
        policy = replace(
            calls,
            concurrency=given["concurrency"] or calls.concurrency,
            timeout=given["timeout"],
            retry=replace(calls.retry, max_attempts=attempts),
        )
        key_env = given["api_key_env"] or base.api_key_env
        return replace(base, judge=given["judge"], calls=policy, api_key_env=key_env)

    setup.__signature__ = inspect.signature(flags)  # type: ignore[attr-defined]
    return setup


def settings_options(
    settings: type[Settings] | Settings, *named: str, **options: Any
) -> Callable[..., Settings]:
    """The builder of a settings dataclass (a class, or an instance giving the defaults) from
    options named after its fields, with their defaults, types and help. A keyword gives the
    help (a string), a `typer.Option` (flags, bounds), an `Annotated` alias (a narrower type)
    or a dict (the options of a nested settings field); fields not named keep their default."""
    cls = settings if isinstance(settings, type) else type(settings)
    kinds = get_type_hints(cls)
    base = {f.name: _default(f) for f in fields(cls)}  # type: ignore[arg-type]
    if not isinstance(settings, type):
        base = {name: getattr(settings, name) for name in base}
    parameters, nested = [], {}
    for name, option in {**dict.fromkeys(named), **options}.items():
        if isinstance(option, dict):
            nested[name] = settings_options(base[name], **option)
            parameters += nested[name].__signature__.parameters.values()  # type: ignore[attr-defined]
            continue
        if base[name] is MISSING:
            raise TypeError(f"{cls.__name__}.{name} has no default to show")
        kind = option if get_origin(option) is Annotated else _annotated(cls, name, kinds, option)
        parameters.append(inspect.Parameter(name, _KEYWORD, default=base[name], annotation=kind))

    def build(**values: Any) -> Settings:
        for name, builder in nested.items():
            own = builder.__signature__.parameters  # type: ignore[attr-defined]
            values[name] = builder(**{key: values.pop(key) for key in own})
        return cls(**values) if isinstance(settings, type) else replace(settings, **values)

    build.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return build


def dataclass_options(settings: type[Settings]) -> Callable[..., Settings]:
    """`settings_options` over every field of a documented settings dataclass."""
    return settings_options(settings, *(f.name for f in fields(settings)))  # type: ignore[arg-type]


def _annotated(cls: type, name: str, kinds: dict[str, Any], option: Any) -> Any:
    """The option of field `name`: described by the field, or by the help / Option given."""
    if option is None:
        return Annotated[kinds[name], field_option(cls, name)]
    if isinstance(option, str):
        return Annotated[kinds[name], typer.Option(help=option)]
    known = _described(cls, name)[1]
    option.help = option.help or known.get("help")
    for bound in _BOUNDS:
        if getattr(option, bound) is None and bound in known:
            setattr(option, bound, known[bound])
    return Annotated[kinds[name], option]


def _default(field: Field[Any]) -> Any:
    if field.default_factory is not MISSING:
        return field.default_factory()
    return field.default


columns = settings_options(
    FieldMap(response_b="response_b"),  # read the second response of a pair when there is one
    input=typer.Option("--input-field"),
    response=typer.Option("--response-field"),
    response_b=typer.Option("--response-b-field"),
    reference=typer.Option("--reference-field"),
    id=typer.Option("--id-field"),
)
