"""A grading job end to end: items in, judge run, results streamed out, summary built.

`grade` is the job in memory: a rubric, items and a judge setup (or a jury) in, judgments
out, nothing written but the cache. `run_grade` is the same job with files: the results
folder, the summary, and the job's whole configuration saved with the run, with a
fingerprint of its input, so `resume` needs only the run id and refuses to mix two
versions of the data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, replace
from pathlib import Path
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
from jurist.core.errors import ConfigError, JuristError
from jurist.core.judgment import Judgment
from jurist.core.rubric import Rubric, load_rubric
from jurist.core.secrets import redact_urls, scrub
from jurist.datasets import ItemSource, get_preset
from jurist.engine.local import LocalEngine
from jurist.engine.outputs import (
    RESULTS,
    SKIPPED,
    SUMMARY,
    ResultsFile,
    claim_output_dir,
    write_json,
    write_lines,
)
from jurist.engine.ray import RayEngine, RayOptions
from jurist.engine.sink import ResultSink, RunCounters
from jurist.engine.summary import GradeSummary, SummaryBuilder, Tally
from jurist.judges import JudgeOptions, ListwiseOptions
from jurist.judges.answering import SamplingOptions
from jurist.jury import JuryPanel, JurySpec, JuryTally, jury_spec
from jurist.prompts import templates_hash
from jurist.session import ItemJudge, ItemLike, JudgeSession, JudgeSetup, as_item
from jurist.store import Store, new_run_id

__all__ = [
    "FLAT_NAMES",
    "RESUME_HONOURED",
    "RESUME_REFUSED",
    "EnginePart",
    "GradeConfig",
    "GradeResult",
    "GradeRun",
    "JuryPart",
    "Terminated",
    "agrade",
    "grade",
    "grade_job",
    "make_config",
    "register_profile_reader",
    "resume_config",
    "run_grade",
]

Progress = Callable[[RunCounters, int | None], Any]
Adjust = Callable[[Judgment], Judgment]
# A profile path, the rubric and the setup -> the profile's setup and its adjustment.
ProfileReader = Callable[[str, Rubric, JudgeSetup], tuple[JudgeSetup, Adjust]]
_PROFILE_READERS: list[ProfileReader] = []

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
        """A config from the command line's flat option names (None: not given)."""
        return make_config(**{k: v for k, v in flat.items() if v is not None})

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


class GradeResult(BaseModel):
    run_id: str
    output_dir: str
    results_path: str
    summary: GradeSummary
    skipped_rows: list[str] = Field(default_factory=list)
    status: str = "finished"
    notes: list[str] = Field(default_factory=list)


class GradeRun(BaseModel):
    """An in-memory job's outcome: its judgments in item order, and their summary."""

    run_id: str | None
    judgments: list[Judgment]
    summary: GradeSummary


# --- the job in memory ----------------------------------------------------------------------


def item_judge(
    rubric: Rubric,
    setup: JudgeSetup,
    jury: JurySpec | None,
    store: Store | None,
    stats: RunCounters,
) -> ItemJudge:
    """One judge's session, or a panel of them; its layers count into `stats`."""
    if jury is not None:
        return JuryPanel(jury, rubric, setup, store=store, stats=stats)
    return JudgeSession(rubric, setup, store=store, stats=stats)


async def _judge_locally(
    judging: ItemJudge, sink: ResultSink, items: Iterable[Any], skip: set[int]
) -> None:
    try:
        await LocalEngine(judging, sink).run(items, skip)
    finally:
        await judging.aclose()


async def agrade(
    rubric: Rubric | str | Path,
    items: Iterable[ItemLike] | ItemSource,
    setup: JudgeSetup | None = None,
    *,
    jury: JurySpec | None = None,
    store: Store | str | Path | None = None,
    run_id: str | None = None,
    on_result: Callable[[Judgment], None] | None = None,
) -> GradeRun:
    """Grade `items` in memory: each judgment goes to `on_result` as it finishes, and all
    of them come back in item order. Every call is cached in `store` (default: the user's
    store); with a `run_id` the judgments are also saved under that run."""
    rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    setup = setup or JudgeSetup()
    stream = items.iter() if isinstance(items, ItemSource) else items
    found: list[Judgment] = []
    summary = SummaryBuilder(tallies=_tallies(jury))
    with contextlib.ExitStack() as stack:
        db = store if isinstance(store, Store) else stack.enter_context(Store(store))
        if run_id is not None:
            db.create_run(run_id, {"rubric": rubric.name, "setup": asdict(setup)})

        def keep(judgment: Judgment) -> None:
            found.append(judgment)
            if on_result is not None:
                on_result(judgment)

        sink = ResultSink(db, run_id, summary=summary, on_result=keep)
        judging = item_judge(rubric, setup, jury, db, sink.counters)
        await _judge_locally(judging, sink, (as_item(v, i) for i, v in enumerate(stream)), set())
        if run_id is not None:
            db.set_run_status(run_id, "finished")
    found.sort(key=lambda judgment: judgment.index)
    return GradeRun(run_id=run_id, judgments=found, summary=_summary(summary, run_id))


def grade(
    rubric: Rubric | str | Path,
    items: Iterable[ItemLike] | ItemSource,
    setup: JudgeSetup | None = None,
    *,
    jury: JurySpec | None = None,
    store: Store | str | Path | None = None,
    run_id: str | None = None,
    on_result: Callable[[Judgment], None] | None = None,
) -> GradeRun:
    """`agrade` for code that is not async."""
    return asyncio.run(
        agrade(rubric, items, setup, jury=jury, store=store, run_id=run_id, on_result=on_result)
    )


def _tallies(jury: JurySpec | None) -> dict[str, Tally]:
    """A jury's judgments also feed its inter-juror figures."""
    return {"jury": JuryTally()} if jury is not None else {}


def _summary(
    builder: SummaryBuilder, run_id: str | None, status: str | None = None, skipped: int = 0
) -> GradeSummary:
    built = builder.build()
    if status is not None:
        built |= {"run_id": run_id, "status": status, "skipped_rows": skipped}
    return GradeSummary.model_validate(built)


# --- the job with files ---------------------------------------------------------------------


class Terminated(KeyboardInterrupt):
    """SIGTERM (sent by `timeout`, systemd, Kubernetes, CI runners): the run ends as on
    Ctrl-C, and the process exits with 128 + 15."""

    exit_code = 128 + signal.SIGTERM


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """While a run is held, SIGTERM raises `Terminated` in the main thread: sending stops,
    what is answered is kept, and the run is marked interrupted with its summary written.
    A second SIGTERM during that cleanup is ignored; the previous handler comes back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_grade(
    config: GradeConfig,
    store: Store,
    *,
    run_id: str | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    overwrite: bool = False,
) -> GradeResult:
    """Run (or resume) a grading job and return where its results are and their summary.

    The run is held by this process until it ends (a second process is refused), and in
    the main thread SIGTERM ends it as Ctrl-C does (`Terminated`)."""
    rubric = load_rubric(config.rubric_path)
    config.setup.check()  # an unknown judge is refused before anything is written
    jury = _jury_spec(config)
    config, adjust = _with_profile(config, rubric, jury)
    if resume and run_id is None:
        raise ConfigError("resuming needs a run id")
    run_id = run_id or new_run_id()
    with _terminate_as_interrupt(), store.run_lock(run_id):
        _open_run(store, config, rubric, run_id, resume=resume, overwrite=overwrite)
        return _run_held(
            config, rubric, jury, store, run_id, resume=resume, progress=progress, adjust=adjust
        )


def _run_held(
    config: GradeConfig,
    rubric: Rubric,
    jury: JurySpec | None,
    store: Store,
    run_id: str,
    *,
    resume: bool,
    progress: Progress | None,
    adjust: Adjust | None = None,
) -> GradeResult:
    """Judge the run this process holds: results streamed out, the run's status and its
    summary written whatever ends it."""
    output_dir = Path(config.output_dir)
    summary = SummaryBuilder(tallies=_tallies(jury))
    report = ReadReport()
    status = "failed"
    results: ResultsFile | None = None
    try:
        finished = store.iter_results(run_id) if resume else iter(())
        done = store.done_indices(run_id) if resume else set()
        results = ResultsFile(output_dir / RESULTS, summary.counted(finished))
        total = config.items.expected_count()
        sink = _sink(store, run_id, results, summary, progress, total, adjust)
        _execute(config, rubric, jury, store, sink, config.iter_items(report), done)
        status = "finished"
    except (KeyboardInterrupt, asyncio.CancelledError):
        status = "interrupted"
        raise
    finally:
        if results is not None:
            results.close()
        with contextlib.suppress(Exception):
            store.set_run_status(run_id, status)
        built = _finish(summary, report, output_dir, run_id, status)
    if built.items == 0 and not report.skipped:
        raise ConfigError(
            f"{config.items.data or config.items.preset}: no items to grade"
            + (" (all were already graded)" if resume else "")
        )
    return GradeResult(
        run_id=run_id,
        output_dir=str(output_dir),
        results_path=str(output_dir / RESULTS),
        summary=built,
        skipped_rows=[str(error) for error in report.skipped],
        status=status,
    )


def _open_run(
    store: Store,
    config: GradeConfig,
    rubric: Rubric,
    run_id: str,
    *,
    resume: bool,
    overwrite: bool,
) -> None:
    """Check that the run may start (or resume), claim its output folder and save its
    config."""
    fingerprint = config.fingerprint()
    if resume:
        _check_resumable(store, run_id, config, rubric.content_hash, fingerprint)
    else:
        if store.has_run(run_id):
            raise ConfigError(f"run {run_id} already exists; continue it with --resume {run_id}")
    stored = config.stored(rubric)

    def same_job(owner: str) -> bool:
        if not store.has_run(owner):
            return False
        return _job_identity(store.run_config(owner)) == _job_identity(stored)

    inputs = _input_files(config)
    claim_output_dir(
        Path(config.output_dir), run_id, inputs, resume=resume, overwrite=overwrite,
        same_job=same_job,
    )  # fmt: skip
    if resume:
        store.update_run_config(run_id, stored)
    else:
        store.create_run(run_id, stored)


def _input_files(config: GradeConfig) -> list[Path]:
    """Every file the job reads, none of which an output may ever replace."""
    jury = config.jury or JuryPart()
    named = [config.rubric_path, config.items.data, jury.file, *jury.weights]
    return [Path(name) for name in named if name]


def _sink(
    store: Store,
    run_id: str,
    results: ResultsFile,
    summary: SummaryBuilder,
    progress: Progress | None,
    total: int | None,
    adjust: Adjust | None = None,
) -> ResultSink:
    counters = RunCounters()
    report = None if progress is None else (lambda _: progress(counters, total))
    return ResultSink(
        store, run_id, results=results, summary=summary, counters=counters, on_result=report,
        adjust=adjust,
    )  # fmt: skip


def _execute(
    config: GradeConfig,
    rubric: Rubric,
    jury: JurySpec | None,
    store: Store,
    sink: ResultSink,
    items: Iterator[Any],
    done: set[int],
) -> None:
    """Judge the items on the engine the config names; results go to `sink`."""
    if config.engine.kind == "ray":
        options = RayOptions(address=config.engine.address, workers=config.engine.workers)
        RayEngine(config.setup, rubric, store, options, sink=sink).run(items, skip=done)
        return
    judging = item_judge(rubric, config.setup, jury, store, sink.counters)
    asyncio.run(_judge_locally(judging, sink, items, done))


def register_profile_reader(reader: ProfileReader) -> None:
    """How `profile` paths are read: the package that writes profiles sits above grading
    (it grades to tune) and registers its reader on import."""
    _PROFILE_READERS[:] = [reader]


def _with_profile(
    config: GradeConfig, rubric: Rubric, jury: JurySpec | None
) -> tuple[GradeConfig, Adjust | None]:
    """The config with its profile's setup, and the step adding calibrated scores."""
    if config.profile in (None, "none"):
        return config, None
    if jury is not None:
        raise ConfigError("--profile: a profile is fitted for one judge, not a jury")
    if not _PROFILE_READERS:
        raise ConfigError("--profile: profiles are read by jurist.tune; import it first")
    setup, adjust = _PROFILE_READERS[0](str(config.profile), rubric, config.setup)
    return config.model_copy(update={"setup": setup}), adjust


def _jury_spec(config: GradeConfig) -> JurySpec | None:
    """The jury a run names (None for a single judge), checked before anything is written."""
    jury = config.jury or JuryPart()
    if jury.file is None and len(jury.jurors) < 2:
        if jury.aggregate or jury.weights:
            raise ConfigError(
                "--jury-aggregate and --weights need a jury (--jury, or --judge twice)"
            )
        return None
    if config.engine.kind != "asyncio":
        raise ConfigError("a jury runs on the asyncio engine; drop --engine ray")
    if config.setup.mode not in ("pointwise", "pairwise"):
        raise ConfigError(f"a jury judges pointwise or pairwise, not {config.setup.mode}")
    return jury_spec(jury.file, jury.jurors, aggregate=jury.aggregate, weights=jury.weights)


def _finish(
    summary: SummaryBuilder, report: ReadReport, output_dir: Path, run_id: str, status: str
) -> GradeSummary:
    """Write what was computed, whatever ended the run; a write failure here must not hide
    the error that ended it."""
    built = _summary(summary, run_id, status, len(report.skipped))
    with contextlib.suppress(JuristError):
        if report.skipped:
            write_lines(output_dir / SKIPPED, [str(error) for error in report.skipped])
        write_json(output_dir / SUMMARY, built.as_dict())
    return built


# --- resuming -------------------------------------------------------------------------------


def _job_identity(stored: dict[str, Any]) -> dict[str, Any]:
    """What decides a job's results: everything but where and how fast it runs (compared
    in flat names, so a run stored before the config had parts compares alike)."""
    try:
        flat = make_config(**stored).flat()
    except JuristError:
        flat = dict(stored)
    kept = {k: v for k, v in flat.items() if k not in RESUME_HONOURED}
    kept |= {k: stored.get(k) for k in _HASHES}
    return json.loads(scrub(json.dumps(kept, sort_keys=True, default=str)))


def resume_config(
    stored: dict[str, Any], given: dict[str, Any], run_id: str | None = None
) -> tuple[GradeConfig, list[str]]:
    """The stored run's config with the options given now that cannot change its results
    (`RESUME_HONOURED`); refuses, naming each, any other option that differs, so no option
    is ever silently ignored.

    Runs stored before the config had parts are read from their flat names."""
    try:
        config = make_config(**stored)
    except ConfigError as error:
        raise ConfigError(
            f"this run's stored settings cannot be read ({error}); start a new run instead"
        ) from None
    current = config.flat()
    notes: list[str] = []
    refused: list[str] = []
    changes: dict[str, Any] = {}
    for name, value in given.items():
        if value is None or current.get(name) == value:
            continue
        if name == "judge" and redact_urls(str(value)) == current.get(name):
            changes[name] = value  # the same judge, with the credentials the store never keeps
        elif name in RESUME_HONOURED:
            notes.append(f"{name}: {current.get(name)!r} -> {value!r}")
            changes[name] = value
        else:
            refused.append(f"--{name.replace('_', '-')}")
    if refused:
        run = f"run {run_id}" if run_id else "the run"
        raise ConfigError(
            f"resuming {run} keeps its settings; {', '.join(refused)} would change what it "
            "asks or counts: start a new run instead (without --resume)"
        )
    if "judge" in changes:
        config = config.model_copy(update={"setup": replace(config.setup, judge=changes["judge"])})
    return config.with_run_changes(changes), notes


def _check_resumable(
    store: Store, run_id: str, config: GradeConfig, rubric_hash: str, fingerprint: str
) -> None:
    stored = store.run_config(run_id)
    if stored.get("rubric_hash") != rubric_hash:
        raise ConfigError(
            f"rubric {config.rubric_path} changed since run {run_id} started; "
            "start a new run instead of resuming"
        )
    if stored.get("templates_hash") != templates_hash():
        raise ConfigError(
            f"jurist's prompt templates changed since run {run_id} started; "
            "start a new run instead of resuming"
        )
    if stored.get("input_hash") not in (None, fingerprint):
        source = config.items.data or f"preset {config.items.preset}"
        raise ConfigError(
            f"{source} changed since run {run_id} started (its content no longer matches); "
            "resuming would mix two versions of the data: start a new run"
        )


def grade_job(
    given: dict[str, Any],
    store: Store,
    *,
    resume: str | None = None,
    run_id: str | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> GradeResult:
    """A grading job from command-line style options (None = not given): fills a preset's
    rubric and mode, or merges with a resumed run's stored settings, then runs it."""
    notes: list[str] = []
    if resume is not None:
        if not store.has_run(resume):
            raise ConfigError(
                f"no run {resume!r} in {store.path}: give the id a run printed, and the "
                "--store it used"
            )
        config, notes = resume_config(store.run_config(resume), given, resume)
        run_id = resume
    else:
        config = GradeConfig.from_flat(_new_job_options(given))
    result = run_grade(
        config,
        store,
        run_id=run_id,
        resume=resume is not None,
        progress=progress,
        overwrite=overwrite,
    )
    return result.model_copy(update={"notes": notes + result.notes})


def _new_job_options(given: dict[str, Any]) -> dict[str, Any]:
    """A new job's options: a preset's rubric and mode filled in, and the response fields
    the mode reads."""
    given = dict(given)
    preset = given.get("preset")
    if preset is not None:
        try:
            chosen = get_preset(preset)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        given["rubric_path"] = given.get("rubric_path") or str(chosen.rubric_path)
        given["mode"] = given.get("mode") or chosen.mode
    if given.get("rubric_path") is None or (given.get("data_path") is None and preset is None):
        raise ConfigError("give RUBRIC and DATA (or --preset NAME)")
    fields = given.get("fields")
    if given.get("mode") != "pairwise" and isinstance(fields, dict):
        given["fields"] = fields = {**fields, "response_b": None}
    if given.get("mode") == "listwise" and isinstance(fields, dict):
        listed = fields.get("responses") or ("responses",)
        given["fields"] = {**fields, "response": None, "responses": listed}
    return given
