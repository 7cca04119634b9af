"""The grading job with files: the run folder, the summary, the run stored with its
whole configuration and a fingerprint of its input, so `--resume` needs only the run id,
refuses to mix two versions of the data and never silently changes what is asked."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import threading
from collections.abc import Callable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    Field,
)
from rich.console import RenderableType
from rich.markup import escape

from jurist.core.data import ReadReport
from jurist.core.errors import ConfigError, JuristError
from jurist.core.judgment import Judgment
from jurist.core.rubric import Rubric, load_rubric
from jurist.core.secrets import redact_urls, scrub
from jurist.datasets import get_preset
from jurist.engine.outputs import (
    RESULTS,
    SKIPPED,
    SUMMARY,
    IndexedResultsFile,
    ResultsFile,
    claim_output_dir,
    write_json,
    write_lines,
)
from jurist.engine.ray import RayEngine, RayOptions
from jurist.engine.sink import ResultSink, RunCounters
from jurist.engine.summary import GradeSummary, SummaryBuilder
from jurist.grading.config import (
    _HASHES,
    RESUME_HONOURED,
    GradeConfig,
    JuryPart,
    make_config,
)
from jurist.grading.memory import _judge_locally, _summary, _tallies, item_judge
from jurist.jury import JurySpec, jury_spec
from jurist.jury.render import jury_lines
from jurist.prompts import templates_hash
from jurist.session import JudgeSetup
from jurist.store import Store, new_run_id

Progress = Callable[[RunCounters, int | None], Any]
Adjust = Callable[[Judgment], Judgment]
# A profile path, the rubric and the setup -> the profile's setup and its adjustment.
ProfileReader = Callable[[str, Rubric, JudgeSetup], tuple[JudgeSetup, Adjust]]
_PROFILE_READERS: list[ProfileReader] = []


class GradeResult(BaseModel):
    run_id: str
    output_dir: str
    results_path: str
    summary: GradeSummary
    skipped_rows: list[str] = Field(default_factory=list)
    status: str = "finished"
    notes: list[str] = Field(default_factory=list)
    profile: str | None = None

    def render(self) -> list[RenderableType]:
        """The summary, the jury's agreement when jurors graded, and where the results are."""
        jury = jury_lines(self.summary.jury) if self.summary.jury is not None else []
        return [*self.summary.render(), *jury, f"results: {self.results_path}"]

    def messages(self, allow_failures: bool = False) -> list[str]:
        """What the user must hear beside the summary: what a resume changed, the profile
        used, skipped rows and failed items."""
        lines = [f"resume: {note}" for note in self.notes]
        if self.profile not in (None, "none"):
            lines.append(f"profile {self.profile}: calibrated scores and intervals "
                         "(--profile none: the raw judge)")  # fmt: skip
        skipped = self.skipped_rows
        lines += [f"[yellow]{len(skipped)} bad rows skipped[/]:"] if skipped else []
        lines += [f"  {escape(row)}" for row in skipped[:20]]
        if self.summary.exit_code(allow_failures):
            lines.append(
                f"[red]{self.summary.failed} of {self.summary.items} items failed[/] (see the "
                "errors in the results; --allow-failures exits 0)"
            )
        return lines


@dataclass(frozen=True)
class JobControl:
    """Which run a job writes: a new one (named, or a fresh id) or an interrupted one."""

    resume: str | None = field(
        default=None, metadata={"help": "Continue an interrupted run by its id."}
    )
    run_id: str | None = field(
        default=None, metadata={"help": "Name for a new run (default: timestamp + random suffix)."}
    )
    overwrite: bool = field(
        default=False, metadata={"help": "Replace another run's results in the output folder."}
    )


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
        result = _run_held(
            config, rubric, jury, store, run_id, resume=resume, progress=progress, adjust=adjust
        )
    profile = None if config.profile is None else str(config.profile)
    return result.model_copy(update={"profile": profile})


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
        results = IndexedResultsFile(output_dir / RESULTS, summary.counted(finished))
        total = config.items.expected_count()
        sink = _sink(store, run_id, results, summary, progress, total, adjust)
        items = results.texts(config.iter_items(report))
        _execute(config, rubric, jury, store, sink, iter(items), done)
        results.close()  # a write that failed on the way fails the run
        status = "finished"
    except (KeyboardInterrupt, asyncio.CancelledError):
        status = "interrupted"
        raise
    finally:
        if results is not None:
            with contextlib.suppress(JuristError):
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
    done: AbstractSet[int],
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
