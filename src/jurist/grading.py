"""A grading job end to end: items in, judge run, results streamed out, summary built.

The job's whole configuration is saved with the run, so `resume` needs only the run id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from jurist.backends import make_backend
from jurist.data import FieldMap, Item, ReadReport, read_items
from jurist.judges.base import Judge, JudgeOptions
from jurist.judges.checklist import ChecklistJudge
from jurist.judges.pairwise import PairwiseJudge
from jurist.judges.pointwise import PointwiseJudge
from jurist.judgment import Judgment
from jurist.prompts import templates_hash
from jurist.rubric import Rubric, load_rubric
from jurist.runner import RetryPolicy, RunCounters, Runner, RunOptions
from jurist.store import Store, new_run_id
from jurist.summary import SummaryBuilder

Mode = Literal["pointwise", "checklist", "pairwise"]


class GradeConfig(BaseModel):
    """Everything that defines a grading job; stored with the run for `--resume`."""

    rubric_path: str
    data_path: str | None = None
    preset: str | None = None
    mode: Mode = "pointwise"
    judge: str | None = None
    fields: dict[str, Any] = Field(default_factory=lambda: asdict(FieldMap()))
    skip_bad_rows: bool = False
    limit: int | None = None
    joint: bool = False
    both_orders: bool = True
    samples: int = 1
    temperature: float = 0.0
    sample_temperature: float = 0.7
    seed: int = 0
    max_tokens: int = 384
    parse_retries: int = 2
    concurrency: int = 4
    timeout: float = 120.0
    max_attempts: int = 6
    logprobs: bool | None = None
    api_key_env: str = "OPENAI_API_KEY"
    output_dir: str = "jurist-out"


class GradeResult(BaseModel):
    run_id: str
    output_dir: str
    results_path: str
    summary: dict[str, Any]
    skipped_rows: list[str] = Field(default_factory=list)


def make_judge(mode: Mode, rubric: Rubric, options: JudgeOptions) -> Judge:
    if mode == "pointwise":
        return PointwiseJudge(rubric, options)
    if mode == "checklist":
        return ChecklistJudge(rubric, options)
    return PairwiseJudge(rubric, options)


def iter_config_items(config: GradeConfig, report: ReadReport) -> Iterator[Item]:
    if config.preset is not None:
        from jurist.datasets import load_preset

        items: Iterator[Item] = load_preset(config.preset, limit=config.limit)
        yield from items
        return
    if config.data_path is None:
        raise ValueError("give a data file or a preset")
    fields = FieldMap(
        **{k: tuple(v) if k in ("labels", "keep") else v for k, v in config.fields.items()}
    )
    stream = read_items(config.data_path, fields, skip_bad_rows=config.skip_bad_rows, report=report)
    for count, item in enumerate(stream):
        if config.limit is not None and count >= config.limit:
            return
        yield item


def count_rows(config: GradeConfig) -> int | None:
    """Rows to expect, for the progress bar; cheap for line-based files, None otherwise."""
    if config.preset is not None or config.data_path is None:
        return config.limit
    path = Path(config.data_path)
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        with path.open("rb") as handle:
            total = sum(1 for line in handle if line.strip())
    elif path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        total = pq.ParquetFile(path).metadata.num_rows
    else:
        return config.limit
    return min(total, config.limit) if config.limit is not None else total


class ResultsFile:
    """results.jsonl, appended and flushed as each item finishes."""

    def __init__(self, path: Path, existing: Iterable[Judgment] = ()) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Rewritten from the store on start, so a line cut off by a kill never survives.
        self._handle = path.open("w", encoding="utf-8")
        for judgment in existing:
            self.write(judgment)

    def write(self, judgment: Judgment) -> None:
        self._handle.write(judgment.model_dump_json() + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()


def run_grade(
    config: GradeConfig,
    store: Store,
    *,
    run_id: str | None = None,
    resume: bool = False,
    progress: Callable[[RunCounters, int | None], Any] | None = None,
) -> GradeResult:
    """Run (or resume) a grading job and return where its results are and their summary."""
    rubric = load_rubric(config.rubric_path)
    if resume:
        assert run_id is not None
        stored = store.run_config(run_id)
        if stored.get("rubric_hash") != rubric.content_hash:
            raise ValueError(
                f"rubric {config.rubric_path} changed since run {run_id} started; "
                "start a new run instead of resuming"
            )
        if stored.get("templates_hash") != templates_hash():
            raise ValueError(
                f"jurist's prompt templates changed since run {run_id} started; "
                "start a new run instead of resuming"
            )
    else:
        run_id = run_id or new_run_id()
        if store.has_run(run_id):
            raise ValueError(f"run {run_id} already exists; continue it with --resume {run_id}")
        store.create_run(
            run_id,
            {
                **config.model_dump(),
                "rubric_hash": rubric.content_hash,
                "templates_hash": templates_hash(),
            },
        )
    judge_options = JudgeOptions(
        joint=config.joint,
        both_orders=config.both_orders,
        max_tokens=config.max_tokens,
        temperature=config.temperature,
        seed=config.seed,
        want_logprobs=config.logprobs is not False,
    )
    judge = make_judge(config.mode, rubric, judge_options)
    backend = make_backend(
        config.judge,
        api_key_env=config.api_key_env,
        timeout=config.timeout,
        logprobs=config.logprobs,
    )
    output_dir = Path(config.output_dir)
    results_path = output_dir / "results.jsonl"
    done = store.done_indices(run_id) if resume else set()
    results = ResultsFile(results_path, store.iter_results(run_id) if resume else ())
    summary = SummaryBuilder()
    for judgment in store.iter_results(run_id) if resume else ():
        summary.add(judgment)
    total = count_rows(config)

    def on_result(judgment: Judgment) -> None:
        results.write(judgment)
        summary.add(judgment)
        if progress is not None:
            progress(runner.counters, total)

    run_options = RunOptions(
        concurrency=config.concurrency,
        samples=config.samples,
        sample_temperature=config.sample_temperature,
        parse_retries=config.parse_retries,
        timeout=config.timeout,
        retry=RetryPolicy(max_attempts=config.max_attempts),
    )
    runner = Runner(backend, judge, store, run_options, on_result=on_result)
    report = ReadReport()
    status = "interrupted"
    try:
        asyncio.run(_run(runner, iter_config_items(config, report), run_id, done, backend))
        status = "finished"
    finally:
        results.close()
        with contextlib.suppress(Exception):
            store.set_run_status(run_id, status)
    built = summary.build()
    built["run_id"] = run_id
    built["skipped_rows"] = len(report.skipped)
    skipped = [str(error) for error in report.skipped]
    if skipped:
        (output_dir / "skipped_rows.txt").write_text("\n".join(skipped) + "\n", encoding="utf-8")
    (output_dir / "summary.json").write_text(json.dumps(built, indent=2), encoding="utf-8")
    return GradeResult(
        run_id=run_id,
        output_dir=str(output_dir),
        results_path=str(results_path),
        summary=built,
        skipped_rows=skipped,
    )


async def _run(
    runner: Runner, items: Iterator[Item], run_id: str, done: set[int], backend: Any
) -> None:
    try:
        await runner.run(items, run_id, skip=done)
    finally:
        await backend.aclose()
