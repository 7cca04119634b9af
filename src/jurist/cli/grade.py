"""`jurist grade` and `jurist models`: parse options, call `grade_job`, print its report.

Every option is None ("not given") unless the user gives it: the library fills defaults,
merges a resumed run's stored settings, and refuses what a resume may not change.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from jurist.backends import CallPolicy, RetryPolicy
from jurist.backends.catalog import backend_statuses
from jurist.cli.options import (
    DataArg,
    FormatOpt,
    StoreOpt,
    columns,
    dataclass_options,
    field_help,
    field_option,
    field_options,
    option_groups,
)
from jurist.cli.output import console, errors, exit_on_error
from jurist.core.data import FieldMap
from jurist.core.errors import EXIT_INTERRUPTED
from jurist.datasets import PRESETS, ItemSource
from jurist.engine.progress import progress_bar
from jurist.grading import (
    EnginePart,
    GradeConfig,
    GradeResult,
    JobControl,
    JuryPart,
    grade_job,
)
from jurist.judges import JudgeOptions, ListwiseOptions
from jurist.judges.answering import SamplingOptions
from jurist.session import JudgeSetup
from jurist.store import Store, new_run_id

# Options handed to the library under their own names, each described by its field.
passed_on = field_options(
    (ItemSource, "preset", "limit", "skip_bad_rows"),
    (JudgeOptions, "joint", "both_orders", "rationale", "layout"),
    (ListwiseOptions, "orders", "aggregate"),
    (GradeConfig, "defend_injection", "profile"),
    (SamplingOptions, "samples"),
    (JudgeOptions, "temperature"),
    (SamplingOptions, "sample_temperature"),
    (JudgeOptions, "seed", "max_tokens"),
    (JudgeSetup, "logprobs"),
    (SamplingOptions, "parse_retries"),
    (CallPolicy, "concurrency", "rpm", "tpm", "timeout"),
    (RetryPolicy, "max_attempts"),
    (JudgeSetup, "api_key_env"),
    (JuryPart, "jury_aggregate=aggregate", "weights"),
    (EnginePart, "engine=kind", "address", "workers"),
)


@option_groups(columns=columns, passed_on=passed_on, control=dataclass_options(JobControl))
def grade(
    rubric: Annotated[Path | None, typer.Argument(help="Rubric YAML file.")] = None,
    data: DataArg = None,
    mode: Annotated[
        Literal["pointwise", "checklist", "pairwise", "listwise"] | None,
        typer.Option(help="Default: pointwise, or the preset's."),
    ] = None,
    judge: Annotated[
        list[str] | None,
        typer.Option(help=f"{field_help(JudgeSetup, 'judge')}; repeat it for a jury of them all"),
    ] = None,
    jury: Annotated[
        Path | None,
        typer.Option(help="Jury YAML: jurors (judge, rubric phrasing, sampling) and aggregation."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Folder for results.jsonl and summary.json."),
    ] = None,
    responses_field: Annotated[list[str] | None, field_option(FieldMap, "responses")] = None,
    label_field: Annotated[list[str] | None, field_option(FieldMap, "labels")] = None,
    keep_field: Annotated[list[str] | None, field_option(FieldMap, "keep")] = None,
    store: StoreOpt = None,
    output_format: FormatOpt = "table",
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    allow_failures: Annotated[
        bool, typer.Option(help="Exit 0 even when some items failed.")
    ] = False,
    *,
    columns: FieldMap,
    passed_on: dict[str, Any],
    control: JobControl,
) -> None:
    """Grade every item of DATA against RUBRIC with a judge model.

    Results stream to OUTPUT/results.jsonl as items finish; every call is cached, so a
    re-run makes no model calls and `--resume RUN` continues a killed run.
    """
    fields = replace(
        columns,
        labels=tuple(label_field or ()),
        keep=tuple(keep_field or ()),
        responses=tuple(responses_field or ()),
    )
    given: dict[str, Any] = {
        "rubric_path": str(rubric) if rubric else None,
        "data_path": str(data) if data else None,
        "mode": mode,
        "judge": judge[0] if judge and len(judge) == 1 else None,
        "jurors": judge if judge and len(judge) > 1 else None,
        "jury": str(jury) if jury else None,
        "output_dir": str(output) if output else None,
        "fields": None if control.resume else asdict(fields),
        **passed_on,
    }
    as_json = output_format == "json"
    control = replace(control, run_id=control.resume or control.run_id or new_run_id())
    with exit_on_error():
        try:
            shown = progress and not as_json
            with Store(store) as db, progress_bar(errors, shown=shown) as update:
                result = grade_job(given, db, **asdict(control), progress=update)
        except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM (`Terminated`, exit 143)
            resume = f"continue with --resume {control.run_id}"
            errors.print(f"[yellow]interrupted[/]: finished items are saved; {resume}")
            raise typer.Exit(getattr(stop, "exit_code", EXIT_INTERRUPTED)) from None
    _report(result, as_json, allow_failures)


def _report(result: GradeResult, as_json: bool, allow_failures: bool) -> None:
    if as_json:
        typer.echo(json.dumps(result.summary.as_dict(), indent=2))
    for part in [] if as_json else result.render():
        console.print(part, highlight=False)
    for line in result.messages(allow_failures):
        errors.print(line, highlight=False)
    raise typer.Exit(result.summary.exit_code(allow_failures))


def models() -> None:
    """List the judge backends and models available on this machine."""
    for backend in backend_statuses():
        console.print(f"[bold]{backend.spec:<17}[/]{backend.status}", highlight=False)
    console.print("[bold]presets[/]          " + ", ".join(sorted(PRESETS)))
