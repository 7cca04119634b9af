"""A grading job end to end: items in, judge run, results streamed out, summary built.

The job's whole configuration is saved with the run, with a fingerprint of its input, so
`resume` needs only the run id and refuses to mix two versions of the data.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, ValidationError

from jurist.backends import make_backend, parse_judge_spec
from jurist.backends.stack import client_timeout
from jurist.core.data import FieldMap, Item, ReadReport, read_items
from jurist.core.errors import ConfigError, JuristError
from jurist.core.fingerprint import input_fingerprint
from jurist.judges import JudgeOptions, ListwiseOptions, make_judge
from jurist.judges.base import Layout, Rationale
from jurist.core.judgment import Judgment
from jurist.engine.outputs import (
    RESULTS,
    SKIPPED,
    SUMMARY,
    ResultsFile,
    claim_output_dir,
    write_json,
    write_lines,
)
from jurist.prompts import templates_hash
from jurist.core.rubric import load_rubric
from jurist.engine.local import RetryPolicy, RunCounters, Runner, RunOptions
from jurist.core.secrets import redact_urls, scrub
from jurist.store import Store, new_run_id
from jurist.engine.summary import SummaryBuilder

if TYPE_CHECKING:
    from jurist.jury import JurySpec

Mode = Literal["pointwise", "checklist", "pairwise", "listwise"]


class GradeConfig(BaseModel):
    """Everything that defines a grading job; stored with the run for `--resume`."""

    rubric_path: str
    data_path: str | None = None
    preset: str | None = None
    mode: Mode = "pointwise"
    judge: str | None = None
    # A jury instead of one judge: repeated --judge specs or a jury YAML (jurist.jury), its
    # aggregation, and `jurist meta` reports weighing each juror.
    jurors: list[str] = Field(default_factory=list)
    jury: str | None = None
    jury_aggregate: str | None = None
    weights: list[str] = Field(default_factory=list)
    fields: dict[str, Any] = Field(default_factory=lambda: asdict(FieldMap()))
    skip_bad_rows: bool = False
    limit: int | None = Field(default=None, ge=1)
    joint: bool = False
    both_orders: bool = True
    # Listwise: shuffled presentation orders per item, pooled by Borda count or Bradley-Terry.
    orders: int = Field(default=4, ge=1)
    aggregate: Literal["borda", "bt"] = "borda"
    rationale: Rationale = "before"
    layout: Layout = "rubric-first"
    # Neutralise text addressed to the judge inside responses before judging; flagged items
    # carry `metadata.injection_flags`.
    defend_injection: bool = False
    samples: int = Field(default=1, ge=1)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    sample_temperature: float = Field(default=0.7, gt=0.0, le=2.0)
    seed: int = 0
    max_tokens: int = Field(default=384, ge=1)
    parse_retries: int = Field(default=2, ge=0)
    concurrency: int = Field(default=4, ge=1)
    timeout: float = Field(default=120.0, gt=0.0)
    max_attempts: int = Field(default=6, ge=1)
    rpm: float | None = Field(default=None, gt=0.0)
    tpm: float | None = Field(default=None, gt=0.0)
    logprobs: bool | None = None
    api_key_env: str = "OPENAI_API_KEY"
    output_dir: str = "jurist-out"
    # Where the job runs, which never changes its results: one process (asyncio) or a pool
    # of workers on a Ray cluster (`address` None: RAY_ADDRESS, else a local cluster).
    engine: Literal["asyncio", "ray"] = "asyncio"
    address: str | None = None
    workers: int | None = Field(default=None, ge=1)

    def judge_options(self) -> JudgeOptions:
        options = JudgeOptions(
            joint=self.joint,
            both_orders=self.both_orders,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            seed=self.seed,
            want_logprobs=self.logprobs is not False,
            rationale=self.rationale,
            layout=self.layout,
        )
        if self.mode == "listwise":
            return ListwiseOptions(**vars(options), orders=self.orders, aggregate=self.aggregate)
        return options

    def run_options(self) -> RunOptions:
        return RunOptions(
            concurrency=self.concurrency,
            samples=self.samples,
            sample_temperature=self.sample_temperature,
            parse_retries=self.parse_retries,
            timeout=self.timeout,
            retry=RetryPolicy(max_attempts=self.max_attempts),
            rpm=self.rpm,
            tpm=self.tpm,
        )


# What a resumed run may take from the command line without changing its results.
RESUME_HONOURED = frozenset(
    {"output_dir", "timeout", "concurrency", "rpm", "tpm", "max_attempts"}
    | {"engine", "address", "workers"}
)


def make_config(**options: Any) -> GradeConfig:
    """A GradeConfig, or a ConfigError naming each bad option in one line."""
    try:
        return GradeConfig(**options)
    except ValidationError as error:
        problems = []
        for detail in error.errors():
            name = "--" + str(detail["loc"][0]).replace("_", "-") if detail["loc"] else "config"
            problems.append(f"{name}: {detail['msg']}")
        raise ConfigError("; ".join(problems)) from None


class GradeResult(BaseModel):
    run_id: str
    output_dir: str
    results_path: str
    summary: dict[str, Any]
    skipped_rows: list[str] = Field(default_factory=list)
    status: str = "finished"
    notes: list[str] = Field(default_factory=list)


def iter_config_items(config: GradeConfig, report: ReadReport) -> Iterator[Item]:
    items = _config_items(config, report)
    if not config.defend_injection:
        yield from items
        return
    from jurist.injection.defence import defend_item

    for item in items:
        yield defend_item(item)[0]


def _config_items(config: GradeConfig, report: ReadReport) -> Iterator[Item]:
    if config.preset is not None:
        from jurist.datasets import load_preset

        yield from load_preset(config.preset, limit=config.limit)
        return
    if config.data_path is None:
        raise ConfigError("give a data file or a preset")
    stream = read_items(
        config.data_path, field_map(config), skip_bad_rows=config.skip_bad_rows, report=report
    )
    for count, item in enumerate(stream):
        if config.limit is not None and count >= config.limit:
            return
        yield item


def field_map(config: GradeConfig) -> FieldMap:
    return FieldMap(
        **{
            k: tuple(v) if k in ("labels", "keep", "responses") else v
            for k, v in config.fields.items()
        }
    )


def count_rows(config: GradeConfig) -> int | None:
    """Rows to expect, for the progress bar; cheap for line-based files, None otherwise."""
    if config.preset is not None or config.data_path is None:
        return config.limit
    path = Path(config.data_path)
    try:
        if path.suffix.lower() in (".jsonl", ".ndjson"):
            with path.open("rb") as handle:
                total = sum(1 for line in handle if line.strip())
        elif path.suffix.lower() in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            total = pq.ParquetFile(path).metadata.num_rows
        else:
            return config.limit
    except OSError:
        return config.limit
    return min(total, config.limit) if config.limit is not None else total


def resume_config(stored: dict[str, Any], given: dict[str, Any]) -> tuple[GradeConfig, list[str]]:
    """The stored run's config with the options given now that cannot change its results
    (output folder, timeout, concurrency); refuses any other option that differs."""
    base = {k: v for k, v in stored.items() if k in GradeConfig.model_fields}
    notes: list[str] = []
    refused: list[str] = []
    for name, value in given.items():
        if value is None or base.get(name) == value:
            continue
        if name == "judge" and redact_urls(str(value)) == base.get(name):
            base[name] = value  # the same judge, with the credentials the store never keeps
            continue
        if name in RESUME_HONOURED:
            notes.append(f"{name}: {base.get(name)!r} -> {value!r}")
            base[name] = value
        else:
            refused.append(f"--{name.replace('_', '-')}")
    if refused:
        raise ConfigError(
            "resuming keeps the run's settings; these would change its results: "
            + ", ".join(refused)
            + " (start a new run instead)"
        )
    return make_config(**base), notes


def run_grade(
    config: GradeConfig,
    store: Store,
    *,
    run_id: str | None = None,
    resume: bool = False,
    progress: Callable[[RunCounters, int | None], Any] | None = None,
    overwrite: bool = False,
) -> GradeResult:
    """Run (or resume) a grading job and return where its results are and their summary."""
    rubric = load_rubric(config.rubric_path)
    judge = make_judge(config.mode, rubric, config.judge_options())
    parse_judge_spec(config.judge)  # an unknown judge is refused before anything is written
    jury = _jury_spec(config)
    fingerprint = input_fingerprint(config)
    if resume:
        if run_id is None:
            raise ConfigError("resuming needs a run id")
        _check_resumable(store, run_id, config, rubric.content_hash, fingerprint)
    else:
        run_id = run_id or new_run_id()
        if store.has_run(run_id):
            raise ConfigError(f"run {run_id} already exists; continue it with --resume {run_id}")
    output_dir = Path(config.output_dir)
    inputs = [Path(config.data_path)] if config.data_path else []
    stored_config = {
        **config.model_dump(),
        "rubric_hash": rubric.content_hash,
        "templates_hash": templates_hash(),
        "input_hash": fingerprint,
    }

    def same_job(owner: str) -> bool:
        if not store.has_run(owner):
            return False
        return _job_identity(store.run_config(owner)) == _job_identity(stored_config)

    claim_output_dir(
        output_dir, run_id, inputs, resume=resume, overwrite=overwrite, same_job=same_job
    )
    if resume:
        store.update_run_config(run_id, stored_config)
    else:
        store.create_run(run_id, stored_config)
    # Ray workers build their own backends; the driver never loads the model.
    backend = None
    if config.engine == "asyncio" and jury is None:
        backend = make_backend(
            config.judge,
            api_key_env=config.api_key_env,
            timeout=client_timeout(config.run_options().calls),
            logprobs=config.logprobs,
        )
    results_path = output_dir / RESULTS
    summary = SummaryBuilder()
    status = "failed"
    results: ResultsFile | None = None
    report = ReadReport()
    try:
        done = store.done_indices(run_id) if resume else set()
        finished = store.iter_results(run_id) if resume else iter(())
        results = ResultsFile(results_path, summary.counted(finished))
        total = count_rows(config)
        writer = results

        def on_result(judgment: Judgment) -> None:
            writer.write(judgment)
            summary.add(judgment)
            if progress is not None:
                progress(runner.counters, total)

        runner: Any
        if jury is not None:
            from jurist.jury import grading_runner

            runner = grading_runner(
                jury,
                rubric,
                config.mode,
                store,
                config.judge_options(),
                config.run_options(),
                api_key_env=config.api_key_env,
                logprobs=config.logprobs,
                on_result=on_result,
            )
            asyncio.run(_run(runner, iter_config_items(config, report), run_id, done, runner))
        elif backend is None:
            from jurist.engine import RayEngine

            runner = RayEngine.from_config(config, rubric, store, on_result=on_result)
            runner.run(iter_config_items(config, report), run_id, skip=done)
        else:
            runner = Runner(backend, judge, store, config.run_options(), on_result=on_result)
            asyncio.run(_run(runner, iter_config_items(config, report), run_id, done, backend))
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
    if built["items"] == 0 and not report.skipped:
        raise ConfigError(
            f"{config.data_path or config.preset}: no items to grade"
            + (" (all were already graded)" if resume else "")
        )
    return GradeResult(
        run_id=run_id,
        output_dir=str(output_dir),
        results_path=str(results_path),
        summary=built,
        skipped_rows=[str(error) for error in report.skipped],
        status=status,
    )


def _jury_spec(config: GradeConfig) -> JurySpec | None:
    """The jury a run names (None for a single judge), checked before anything is written."""
    if config.jury is None and len(config.jurors) < 2:
        if config.jury_aggregate or config.weights:
            raise ConfigError(
                "--jury-aggregate and --weights need a jury (--jury, or --judge twice)"
            )
        return None
    if config.engine != "asyncio":
        raise ConfigError("a jury runs on the asyncio engine; drop --engine ray")
    if config.mode not in ("pointwise", "pairwise"):
        raise ConfigError(f"a jury judges pointwise or pairwise, not {config.mode}")
    from jurist.jury import jury_spec

    return jury_spec(
        config.jury, config.jurors, aggregate=config.jury_aggregate, weights=config.weights
    )


def _finish(
    summary: SummaryBuilder, report: ReadReport, output_dir: Path, run_id: str, status: str
) -> dict[str, Any]:
    """Write what was computed, whatever ended the run; a write failure here must not hide
    the error that ended it."""
    built = summary.build()
    built["run_id"] = run_id
    built["status"] = status
    built["skipped_rows"] = len(report.skipped)
    with contextlib.suppress(JuristError):
        if report.skipped:
            write_lines(output_dir / SKIPPED, [str(error) for error in report.skipped])
        write_json(output_dir / SUMMARY, built)
    return built


def _job_identity(config: dict[str, Any]) -> dict[str, Any]:
    """What decides a job's results: everything but where and how fast it runs (compared
    as stored, so tuples and lists are alike)."""
    kept = {k: v for k, v in config.items() if k not in RESUME_HONOURED}
    return json.loads(scrub(json.dumps(kept, sort_keys=True)))


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
        source = config.data_path or f"preset {config.preset}"
        raise ConfigError(
            f"{source} changed since run {run_id} started (its content no longer matches); "
            "resuming would mix two versions of the data: start a new run"
        )


async def _run(
    runner: Runner, items: Iterator[Item], run_id: str, done: set[int], backend: Any
) -> None:
    try:
        await runner.run(items, run_id, skip=done)
    finally:
        await backend.aclose()


def grade_job(
    given: dict[str, Any],
    store: Store,
    *,
    resume: str | None = None,
    run_id: str | None = None,
    overwrite: bool = False,
    progress: Callable[[RunCounters, int | None], Any] | None = None,
) -> GradeResult:
    """A grading job from command-line style options (None = not given): fills a preset's
    rubric and mode, or merges with a resumed run's stored settings, then runs it."""
    given = dict(given)
    notes: list[str] = []
    if resume is not None:
        config, notes = resume_config(store.run_config(resume), given)
        run_id = resume
    else:
        preset = given.get("preset")
        if preset is not None:
            from jurist.datasets import get_preset

            try:
                chosen = get_preset(preset)
            except ValueError as error:
                raise ConfigError(str(error)) from None
            given["rubric_path"] = given.get("rubric_path") or str(chosen.rubric_path)
            given["mode"] = given.get("mode") or chosen.mode
        if given.get("rubric_path") is None or (given.get("data_path") is None and preset is None):
            raise ConfigError("give RUBRIC and DATA (or --preset NAME)")
        if given.get("mode") != "pairwise" and isinstance(given.get("fields"), dict):
            given["fields"] = {**given["fields"], "response_b": None}
        if given.get("mode") == "listwise" and isinstance(given.get("fields"), dict):
            listed = given["fields"].get("responses") or ("responses",)
            given["fields"] = {**given["fields"], "response": None, "responses": listed}
        config = make_config(**{k: v for k, v in given.items() if v is not None})
    result = run_grade(
        config,
        store,
        run_id=run_id,
        resume=resume is not None,
        progress=progress,
        overwrite=overwrite,
    )
    return result.model_copy(update={"notes": notes + result.notes})
