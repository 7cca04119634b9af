"""What a grading job is: `GradeConfig` (items, judge setup or jury, output, engine),
nested but built from `jurist grade`'s flat option names too, stored with the run as one
JSON, and the table of options a resume may or may not change."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, replace
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
    model_validator,
)

from jurist.backends import CallPolicy, RetryPolicy
from jurist.core.data import FieldMap, ReadReport
from jurist.core.defence import defend_item
from jurist.core.errors import ConfigError
from jurist.core.rubric import Rubric
from jurist.datasets import ItemSource
from jurist.judges import JudgeOptions, ListwiseOptions
from jurist.judges.answering import SamplingOptions
from jurist.prompts import templates_hash
from jurist.session import JudgeSetup

# What a resumed run may take from the command line: where results go and how fast and
# where the job runs, never what is asked or counted. (`--progress` and `--format` only
# change what is shown, and never reach the job.)
RESUME_HONOURED = frozenset(
    {"output_dir", "timeout", "concurrency", "rpm", "tpm", "max_attempts"}
    | {"engine", "address", "workers"}
)
# What a resumed run refuses when it differs: it changes what is asked (the items, the
# prompts, the judge, its sampling) or what is counted, so half the run would be one job
# and half another. A name in neither set is refused too.
RESUME_REFUSED = frozenset(
    {"rubric_path", "data_path", "preset", "fields", "limit", "skip_bad_rows"}
    | {"defend_injection", "judge", "mode", "api_key_env", "logprobs"}
    | {"joint", "both_orders", "max_tokens", "temperature", "seed", "rationale", "layout"}
    | {"orders", "aggregate", "samples", "sample_temperature", "parse_retries"}
    | {"jury", "jurors", "jury_aggregate", "weights", "profile"}
)
# Stored beside the config: what the run's results were computed from.
_HASHES = ("rubric_hash", "templates_hash", "input_hash")
# The command line's flat option names, by the part of the config they belong to.
_ITEM_NAMES = {"data_path": "data", "preset": "preset", "fields": "fields", "limit": "limit"}
_ITEM_NAMES |= {"skip_bad_rows": "skip_bad_rows"}
_OPTION_NAMES = ("joint", "both_orders", "max_tokens", "temperature", "seed", "rationale")
_OPTION_NAMES += ("layout",)
_LISTWISE_NAMES = ("orders", "aggregate")
_SAMPLING_NAMES = ("samples", "sample_temperature", "parse_retries")
_CALL_NAMES = ("concurrency", "timeout", "rpm", "tpm")
_SETUP_NAMES = ("judge", "mode", "api_key_env", "logprobs")
_JURY_NAMES = {"jury": "file", "jurors": "jurors", "jury_aggregate": "aggregate"}
_JURY_NAMES |= {"weights": "weights"}
_ENGINE_NAMES = {"engine": "kind", "address": "address", "workers": "workers"}
FLAT_NAMES = frozenset(
    {"rubric_path", "output_dir", "defend_injection", "max_attempts", "profile"}
    | set(_ITEM_NAMES) | set(_OPTION_NAMES) | set(_LISTWISE_NAMES) | set(_SAMPLING_NAMES)
    | set(_CALL_NAMES) | set(_SETUP_NAMES) | set(_JURY_NAMES) | set(_ENGINE_NAMES)
)  # fmt: skip
# (option, lowest, lowest allowed?, highest): what each number may be, checked once.
_RANGES = (
    ("limit", 1, True, None), ("orders", 1, True, None), ("samples", 1, True, None),
    ("temperature", 0.0, True, 2.0), ("sample_temperature", 0.0, False, 2.0),
    ("max_tokens", 1, True, None), ("parse_retries", 0, True, None),
    ("concurrency", 1, True, None), ("timeout", 0.0, False, None),
    ("max_attempts", 1, True, None), ("rpm", 0.0, False, None), ("tpm", 0.0, False, None),
    ("workers", 1, True, None),
)  # fmt: skip
Mode = Literal["pointwise", "checklist", "pairwise", "listwise"]
# The profile a new job uses: (the `--profile` given or None, the given options) -> the
# profile, "none" or None. The package that holds profiles sits above grading and
# registers it on import; without it a job uses the profile it is given.
ProfileResolver = Callable[[str | None, dict[str, Any]], str | None]
_PROFILE_RESOLVERS: list[ProfileResolver] = []


def register_profile_resolver(resolver: ProfileResolver) -> None:
    """Decide which profile a job from command-line options uses (its judge's built-in
    one by default): see `GradeConfig.from_flat`."""
    _PROFILE_RESOLVERS[:] = [resolver]


class JuryPart(BaseModel):
    """A jury instead of one judge: a jury YAML or repeated judge specs, its aggregation,
    and `jurist meta` reports weighing each juror."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str | None = None
    jurors: list[str] = Field(default_factory=list)
    aggregate: str | None = Field(
        None,
        description="How a jury's scores combine: mean (default), median, majority, "
        "trimmed_mean, weighted (by --weights), cascade (jury file thresholds).",
    )
    weights: list[str] = Field(
        default_factory=list,
        description="A `jurist meta --format json` report per juror, in juror order.",
    )


class EnginePart(BaseModel):
    """Where the job runs, which never changes its results: one process (asyncio) or a
    pool of workers on a Ray cluster (`address` None: RAY_ADDRESS, else a local one)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["asyncio", "ray"] = Field(
        "asyncio",
        description="asyncio: one process (default); ray: a pool of workers on a Ray cluster, "
        "each with its own backend and --concurrency items in flight.",
    )
    address: str | None = Field(
        None, description="Ray cluster to join (default: $RAY_ADDRESS, else a local one)."
    )
    workers: int | None = Field(
        None,
        description="Ray workers (default: one per CPU of the cluster).",
        json_schema_extra={"min": 1},
    )


class GradeConfig(BaseModel):
    """Everything that defines a grading job, in parts: what is graded (`items`), by whom
    (`setup`, or a `jury` on top of it), where results go and where it runs. Stored with
    the run as one JSON object for `--resume`; a run stored before the parts existed (one
    flat object of command-line names) is read through `from_flat`."""

    model_config = ConfigDict(frozen=True)

    rubric_path: str
    items: ItemSource = Field(default_factory=ItemSource)
    # Flagged items carry `metadata.injection_flags`.
    defend_injection: bool = Field(
        False,
        description="Neutralise text addressed to the judge inside responses (fake answers, "
        "fake closing tags, instructions, claimed rubric changes) and flag those items.",
    )
    setup: JudgeSetup = Field(default_factory=JudgeSetup)
    jury: JuryPart | None = None
    output_dir: str = "jurist-out"
    engine: EnginePart = Field(default_factory=EnginePart)
    # A profile says how to ask the judge, and adds calibrated scores with intervals to
    # each judgment.
    profile: str | None = Field(None, description="Judge profile (jurist tune), or none.")

    @model_validator(mode="before")
    @classmethod
    def _from_flat_names(cls, data: Any) -> Any:
        """Flat command-line names (and runs stored before the parts) become the parts."""
        if isinstance(data, dict) and _is_flat(data):
            return _nested(data)
        return data

    @field_validator("setup", mode="before")
    @classmethod
    def _setup(cls, value: Any) -> Any:
        return _setup_from(value) if isinstance(value, dict) else value

    @field_serializer("items")
    def _dump_items(self, items: ItemSource) -> dict[str, Any]:
        data = None if items.data is None else str(items.data)
        return {**asdict(items), "data": data}  # JSON-ready in either dump mode

    @field_serializer("setup")
    def _dump_setup(self, setup: JudgeSetup) -> dict[str, Any]:
        return asdict(setup)  # keeps a mode's own options (listwise orders), unlike the schema

    @model_validator(mode="after")
    def _in_range(self) -> GradeConfig:
        flat = self.flat()
        for name, low, inclusive, high in _RANGES:
            value = flat.get(name)
            if value is None or (name in _LISTWISE_NAMES and self.setup.mode != "listwise"):
                continue
            below = value < low if inclusive else value <= low
            if below or (high is not None and value > high):
                bound = f"{'at least' if inclusive else 'above'} {low}"
                raise ValueError(f"--{name.replace('_', '-')}: must be {bound}" + (
                    f" and at most {high}" if high is not None else ""
                ))  # fmt: skip
        return self

    @classmethod
    def from_flat(cls, flat: dict[str, Any]) -> GradeConfig:
        """A new job's config from the command line's flat option names (None: not given).
        The profile is part of what is asked: resolved here (the judge's built-in one when
        none is given), it is stored with the run, and a resume never resolves it again."""
        given = {k: v for k, v in flat.items() if v is not None}
        if _PROFILE_RESOLVERS:
            given["profile"] = _PROFILE_RESOLVERS[0](given.get("profile"), given)
        return make_config(**{k: v for k, v in given.items() if v is not None})

    def flat(self) -> dict[str, Any]:
        """The config under the command line's flat option names."""
        setup, jury = self.setup, self.jury or JuryPart()
        options = asdict(setup.options)
        items = {flat: getattr(self.items, name) for flat, name in _ITEM_NAMES.items()}
        return {
            "rubric_path": self.rubric_path,
            **items,
            "data_path": str(self.items.data) if self.items.data is not None else None,
            "fields": asdict(self.items.fields),
            "defend_injection": self.defend_injection,
            **{name: getattr(setup, name) for name in _SETUP_NAMES},
            **{k: options[k] for k in (*_OPTION_NAMES, *_LISTWISE_NAMES) if k in options},
            **{name: getattr(setup.sampling, name) for name in _SAMPLING_NAMES},
            **{name: getattr(setup.calls, name) for name in _CALL_NAMES},
            "max_attempts": setup.calls.retry.max_attempts,
            **{flat: getattr(jury, name) for flat, name in _JURY_NAMES.items()},
            "output_dir": self.output_dir,
            "profile": self.profile,
            **{flat: getattr(self.engine, name) for flat, name in _ENGINE_NAMES.items()},
        }  # fmt: skip

    def with_run_changes(self, changes: dict[str, Any]) -> GradeConfig:
        """The same job with other run settings (the `RESUME_HONOURED` names only)."""
        calls = self.setup.calls
        attempts = changes.get("max_attempts", calls.retry.max_attempts)
        calls = replace(
            calls,
            retry=replace(calls.retry, max_attempts=attempts),
            **{name: changes[name] for name in _CALL_NAMES if name in changes},
        )
        engine = {name: changes[flat] for flat, name in _ENGINE_NAMES.items() if flat in changes}
        return self.model_validate(
            {
                **self.model_dump(),
                "setup": replace(self.setup, calls=calls),
                "output_dir": changes.get("output_dir", self.output_dir),
                "engine": self.engine.model_copy(update=engine),
            }
        )

    def defence(self) -> Callable[..., Any] | None:
        return _defended if self.defend_injection else None

    def iter_items(self, report: ReadReport | None = None) -> Iterator[Any]:
        """The job's items, defended when the job asks for it."""
        return self.items.iter(report, self.defence())

    def fingerprint(self) -> str:
        return self.items.fingerprint(self.defence())

    def stored(self, rubric: Rubric) -> dict[str, Any]:
        """What is saved with the run: the config and what its results were computed from."""
        return {
            **self.model_dump(mode="json"),
            "rubric_hash": rubric.content_hash,
            "templates_hash": templates_hash(),
            "input_hash": self.fingerprint(),
        }


def _defended(item: Any) -> Any:
    return defend_item(item)[0]


def _is_flat(data: dict[str, Any]) -> bool:
    nested = set(GradeConfig.model_fields)
    return isinstance(data.get("engine"), str) or any(
        key in FLAT_NAMES and key not in nested for key in data
    )


def _pick(flat: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    return {name: flat[name] for name in names if flat.get(name) is not None}


def _nested(flat: dict[str, Any]) -> dict[str, Any]:
    """The parts from flat command-line names; unknown names are ignored, as the stored
    hashes beside them are."""
    fields = flat.get("fields")
    items = {name: flat[key] for key, name in _ITEM_NAMES.items() if key in flat}
    if isinstance(fields, dict):
        items["fields"] = FieldMap(
            **{
                k: tuple(v) if k in ("labels", "keep", "responses") else v
                for k, v in fields.items()
            }
        )
    mode = flat.get("mode") or "pointwise"
    listwise = _pick(flat, _LISTWISE_NAMES) if mode == "listwise" else {}
    option_type = ListwiseOptions if mode == "listwise" else JudgeOptions
    options = option_type(
        **_pick(flat, _OPTION_NAMES), want_logprobs=flat.get("logprobs") is not False, **listwise
    )
    calls = CallPolicy(
        retry=RetryPolicy(**_pick(flat, ["max_attempts"])), **_pick(flat, _CALL_NAMES)
    )
    setup = JudgeSetup(
        **_pick(flat, _SETUP_NAMES), options=options, calls=calls,
        sampling=SamplingOptions(**_pick(flat, _SAMPLING_NAMES)),
    )  # fmt: skip
    jury = {name: flat[key] for key, name in _JURY_NAMES.items() if flat.get(key)}
    engine = {name: flat[key] for key, name in _ENGINE_NAMES.items() if flat.get(key) is not None}
    return {
        **_pick(flat, ["rubric_path", "output_dir", "defend_injection", "profile"]),
        "items": items,
        "setup": setup,
        "jury": JuryPart(**jury) if jury else None,
        "engine": EnginePart(**engine),
    }


def _setup_from(data: dict[str, Any]) -> JudgeSetup:
    """A JudgeSetup from its stored JSON (the options type follows the mode)."""
    data = dict(data)
    option_type = ListwiseOptions if data.get("mode") == "listwise" else JudgeOptions
    options = option_type(**data.pop("options", {}))
    calls = dict(data.pop("calls", {}))
    retry = RetryPolicy(**calls.pop("retry", {}))
    sampling = SamplingOptions(**data.pop("sampling", {}))
    return JudgeSetup(
        **data, options=options, calls=CallPolicy(retry=retry, **calls), sampling=sampling
    )


def make_config(**options: Any) -> GradeConfig:
    """A GradeConfig (from parts or flat names), or a ConfigError naming each bad option in
    one line."""
    try:
        return GradeConfig(**options)
    except TypeError as error:
        raise ConfigError(f"unknown setting: {error}") from None
    except ValidationError as error:
        problems = []
        for detail in error.errors():
            message = str(detail["msg"]).removeprefix("Value error, ")
            if message.startswith("--"):
                problems.append(message)
                continue
            name = "--" + str(detail["loc"][0]).replace("_", "-") if detail["loc"] else "config"
            problems.append(f"{name}: {message}")
        raise ConfigError("; ".join(problems)) from None
