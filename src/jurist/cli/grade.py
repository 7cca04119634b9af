"""`jurist grade` and `jurist models`: parse options, call `grade_job`, print its report.

Every option is None ("not given") unless the user gives it: the library fills defaults,
merges a resumed run's stored settings, and refuses what a resume may not change.
"""

from __future__ import annotations

import functools
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from jurist.backends.catalog import backend_statuses
from jurist.cli.options import (
    JUDGE_SPECS,
    ApiKeyEnvOpt,
    ConcurrencyOpt,
    DataArg,
    FormatOpt,
    IdFieldOpt,
    InputFieldOpt,
    KeepFieldsOpt,
    LabelFieldsOpt,
    LimitOpt,
    LogprobsOpt,
    MaxAttemptsOpt,
    PresetOpt,
    ReferenceFieldOpt,
    ResponseBFieldOpt,
    ResponseFieldOpt,
    RpmOpt,
    StoreOpt,
    TimeoutOpt,
    TpmOpt,
)
from jurist.cli.output import console, errors, exit_on_error, print_grade_summary
from jurist.core.data import FieldMap
from jurist.core.errors import EXIT_INTERRUPTED
from jurist.datasets import PRESETS
from jurist.engine.progress import progress_bar
from jurist.grading import GradeResult, grade_job
from jurist.judges.base import Layout, Rationale
from jurist.jury.render import jury_lines
from jurist.store import Store, new_run_id

_FIELDS = FieldMap()


def grade(
    rubric: Annotated[Path | None, typer.Argument(help="Rubric YAML file.")] = None,
    data: DataArg = None,
    mode: Annotated[
        Literal["pointwise", "checklist", "pairwise", "listwise"] | None,
        typer.Option(help="Default: pointwise, or the preset's."),
    ] = None,
    judge: Annotated[
        list[str] | None, typer.Option(help=f"{JUDGE_SPECS}; repeat it for a jury of them all")
    ] = None,
    jury: Annotated[
        Path | None,
        typer.Option(help="Jury YAML: jurors (judge, rubric phrasing, sampling) and aggregation."),
    ] = None,
    jury_aggregate: Annotated[
        str | None,
        typer.Option(
            help="How a jury's scores combine: mean (default), median, majority, trimmed_mean, "
            "weighted (by --weights), cascade (jury file thresholds)."
        ),
    ] = None,
    weights: Annotated[
        list[str] | None,
        typer.Option(help="A `jurist meta --format json` report per juror, in juror order."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Folder for results.jsonl and summary.json."),
    ] = None,
    input_field: InputFieldOpt = _FIELDS.input,
    response_field: ResponseFieldOpt = str(_FIELDS.response),
    response_b_field: ResponseBFieldOpt = "response_b",
    responses_field: Annotated[
        list[str] | None,
        typer.Option(
            help="Listwise: one column holding a list of responses, or one column per "
            "response (repeat the option); default: responses."
        ),
    ] = None,
    reference_field: ReferenceFieldOpt = None,
    id_field: IdFieldOpt = None,
    label_field: LabelFieldsOpt = None,
    keep_field: KeepFieldsOpt = None,
    preset: PresetOpt = None,
    limit: LimitOpt = None,
    skip_bad_rows: Annotated[
        bool | None, typer.Option(help="Record bad rows and go on instead of stopping.")
    ] = None,
    joint: Annotated[
        bool | None, typer.Option(help="All criteria (or checklist items) in one call per item.")
    ] = None,
    both_orders: Annotated[
        bool | None, typer.Option(help="Pairwise: judge both orders and merge.")
    ] = None,
    orders: Annotated[
        int | None, typer.Option(min=1, help="Listwise: shuffled presentation orders per item.")
    ] = None,
    aggregate: Annotated[
        Literal["borda", "bt"] | None,
        typer.Option(help="Listwise: pool the orders by borda (count) or bt (Bradley-Terry)."),
    ] = None,
    rationale: Annotated[
        Rationale | None,
        typer.Option(
            help="Where the judge writes its rationale: before the score (reasoning first), "
            "after it, or none (the score alone: one constrained token, much faster)."
        ),
    ] = None,
    layout: Annotated[
        Layout | None,
        typer.Option(
            help="Pointwise prompts: the whole rubric first, shared by every call (fastest "
            "wherever prompts are prefix-cached), or the item first and only the graded "
            "criterion after it (shortest prompts)."
        ),
    ] = None,
    defend_injection: Annotated[
        bool | None,
        typer.Option(
            help="Neutralise text addressed to the judge inside responses (fake answers, "
            "fake closing tags, instructions, claimed rubric changes) and flag those items."
        ),
    ] = None,
    samples: Annotated[
        int | None, typer.Option(min=1, help="Samples per call (temperature > 0), merged by vote.")
    ] = None,
    temperature: Annotated[float | None, typer.Option(help="Temperature of one sample.")] = None,
    sample_temperature: Annotated[
        float | None, typer.Option(help="Temperature used with --samples > 1.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Base sampling seed.")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Token budget per answer.")] = None,
    logprobs: LogprobsOpt = None,
    parse_retries: Annotated[
        int | None, typer.Option(min=0, help="Re-ask this often when an answer cannot be parsed.")
    ] = None,
    concurrency: ConcurrencyOpt = None,
    rpm: RpmOpt = None,
    tpm: TpmOpt = None,
    timeout: TimeoutOpt = None,
    max_attempts: MaxAttemptsOpt = None,
    api_key_env: ApiKeyEnvOpt = None,
    engine: Annotated[
        Literal["asyncio", "ray"] | None,
        typer.Option(
            help="asyncio: one process (default); ray: a pool of workers on a Ray cluster, "
            "each with its own backend and --concurrency items in flight."
        ),
    ] = None,
    address: Annotated[
        str | None,
        typer.Option(help="Ray cluster to join (default: $RAY_ADDRESS, else a local one)."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Ray workers (default: one per CPU of the cluster).")
    ] = None,
    store: StoreOpt = None,
    resume: Annotated[
        str | None, typer.Option(help="Continue an interrupted run by its id.")
    ] = None,
    run_id: Annotated[
        str | None, typer.Option(help="Name for a new run (default: timestamp + random suffix).")
    ] = None,
    output_format: FormatOpt = "table",
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    overwrite: Annotated[
        bool, typer.Option(help="Replace another run's results in the output folder.")
    ] = False,
    allow_failures: Annotated[
        bool, typer.Option(help="Exit 0 even when some items failed.")
    ] = False,
) -> None:
    """Grade every item of DATA against RUBRIC with a judge model.

    Results stream to OUTPUT/results.jsonl as items finish; every call is cached, so a
    re-run makes no model calls and `--resume RUN` continues a killed run.
    """
    fields = FieldMap(
        input=input_field, response=response_field, response_b=response_b_field,
        reference=reference_field, id=id_field, labels=tuple(label_field or ()),
        keep=tuple(keep_field or ()), responses=tuple(responses_field or ()),
    )  # fmt: skip
    given: dict[str, Any] = {
        "rubric_path": str(rubric) if rubric else None,
        "data_path": str(data) if data else None,
        "judge": judge[0] if judge and len(judge) == 1 else None,
        "jurors": judge if judge and len(judge) > 1 else None,
        "jury": str(jury) if jury else None,
        "output_dir": str(output) if output else None,
        "fields": None if resume else asdict(fields),
        **{name: value for name, value in locals().items() if name in _PASSED_ON},
    }
    as_json = output_format == "json"
    run_id = resume or run_id or new_run_id()
    with exit_on_error():
        try:
            with Store(store) as db:
                result = _run_with_progress(
                    given, db, run_id, resume, overwrite, progress and not as_json
                )
        except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM (`Terminated`, exit 143)
            errors.print(
                f"[yellow]interrupted[/]: finished items are saved; continue with --resume {run_id}"
            )
            raise typer.Exit(getattr(stop, "exit_code", EXIT_INTERRUPTED)) from None
    _report(result, as_json, allow_failures)


# Options handed to the library under their own names.
_PASSED_ON = frozenset(
    {"preset", "mode", "jury_aggregate", "weights", "limit", "skip_bad_rows", "joint"}
    | {"both_orders", "orders", "aggregate", "rationale", "layout", "defend_injection"}
    | {"samples", "temperature", "sample_temperature", "seed", "max_tokens", "logprobs"}
    | {"parse_retries", "concurrency", "rpm", "tpm", "timeout", "max_attempts", "api_key_env"}
    | {"engine", "address", "workers"}
)


def _report(result: GradeResult, as_json: bool, allow_failures: bool) -> None:
    for note in result.notes:
        errors.print(f"resume: {note}", highlight=False)
    summary = result.summary
    print_grade_summary(summary, as_json)
    if summary.jury is not None and not as_json:
        for text in jury_lines(summary.jury):
            console.print(text, highlight=False)
    if result.skipped_rows:
        errors.print(f"[yellow]{len(result.skipped_rows)} bad rows skipped[/]:")
        for line in result.skipped_rows[:20]:
            errors.print(f"  {line}", highlight=False)
    if not as_json:
        console.print(f"results: {result.results_path}")
    if code := summary.exit_code(allow_failures):
        errors.print(
            f"[red]{summary.failed} of {summary.items} items failed[/] (see the errors in the "
            "results; --allow-failures exits 0)"
        )
        raise typer.Exit(code)


def _run_with_progress(
    given: dict[str, Any], db: Store, run_id: str, resume: str | None, overwrite: bool, show: bool
) -> GradeResult:
    job = functools.partial(grade_job, given, db, resume=resume, run_id=run_id, overwrite=overwrite)
    if not show:
        return job()
    with progress_bar(errors) as update:
        return job(progress=update)


def models() -> None:
    """List the judge backends and models available on this machine."""
    for backend in backend_statuses():
        console.print(f"[bold]{backend.spec:<17}[/]{backend.status}", highlight=False)
    console.print("[bold]presets[/]          " + ", ".join(sorted(PRESETS)))
