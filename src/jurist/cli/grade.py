"""`jurist grade` and `jurist models`: parse options, call the library, print."""

from __future__ import annotations

import os
from dataclasses import asdict
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from jurist.cli.output import console, errors, exit_on_error, print_grade_summary
from jurist.core.data import FieldMap
from jurist.core.errors import EXIT_BACKEND, EXIT_FAILURES, EXIT_INTERRUPTED
from jurist.grading import GradeResult, grade_job
from jurist.jury.render import jury_lines
from jurist.engine.local import RunCounters
from jurist.core.secrets import redact_urls
from jurist.store import Store, new_run_id


class Rationale(StrEnum):
    before = "before"
    after = "after"
    none = "none"


class Layout(StrEnum):
    rubric_first = "rubric-first"
    item_first = "item-first"


class Engine(StrEnum):
    asyncio = "asyncio"
    ray = "ray"


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


def grade(
    rubric: Annotated[Path | None, typer.Argument(help="Rubric YAML file.")] = None,
    data: Annotated[
        Path | None, typer.Argument(help="JSONL, CSV or Parquet file of items.")
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            help="pointwise | checklist | pairwise | listwise (default: pointwise, or the preset's)"
        ),
    ] = None,
    judge: Annotated[
        list[str] | None,
        typer.Option(
            help="local (default: embedded Gemma 3 270M), local:PATH.gguf, openai:MODEL, "
            "openai:URL#MODEL; repeat it for a jury that grades every item with each"
        ),
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
        typer.Option(
            help="A `jurist meta --format json` report per juror, in juror order: weights "
            "for --jury-aggregate weighted."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Output folder for results.jsonl and summary.json (default: jurist-out).",
        ),
    ] = None,
    input_field: Annotated[
        str, typer.Option(help="Column with the input (text or chat messages).")
    ] = "input",
    response_field: Annotated[
        str, typer.Option(help="Column with the response to grade.")
    ] = "response",
    response_b_field: Annotated[
        str, typer.Option(help="Column with the second response (pairwise).")
    ] = "response_b",
    responses_field: Annotated[
        list[str] | None,
        typer.Option(
            help="Listwise: one column holding a list of responses, or one column per "
            "response (repeat the option); default: responses."
        ),
    ] = None,
    reference_field: Annotated[
        str | None, typer.Option(help="Column with a reference answer.")
    ] = None,
    id_field: Annotated[
        str | None, typer.Option(help="Column with a unique item id (default: row number).")
    ] = None,
    label_field: Annotated[
        list[str] | None, typer.Option(help="Column(s) with human labels to carry into results.")
    ] = None,
    keep_field: Annotated[
        list[str] | None, typer.Option(help="Column(s) to carry into results as metadata.")
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option(help="A built-in benchmark (see `jurist models`); replaces DATA."),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Grade only the first N items.")] = None,
    skip_bad_rows: Annotated[
        bool, typer.Option(help="Record bad rows and go on instead of stopping.")
    ] = False,
    joint: Annotated[
        bool, typer.Option(help="All criteria (or checklist items) in one call per item.")
    ] = False,
    both_orders: Annotated[
        bool, typer.Option(help="Pairwise: judge both orders and merge.")
    ] = True,
    orders: Annotated[
        int, typer.Option(min=1, help="Listwise: shuffled presentation orders per item.")
    ] = 4,
    aggregate: Annotated[
        str, typer.Option(help="Listwise: pool the orders by borda (count) or bt (Bradley-Terry).")
    ] = "borda",
    rationale: Annotated[
        Rationale,
        typer.Option(
            help="Where the judge writes its rationale: before the score (reasoning first), "
            "after it, or none (the score alone: one constrained token, much faster)."
        ),
    ] = Rationale.before,
    layout: Annotated[
        Layout,
        typer.Option(
            help="Pointwise prompts: the whole rubric first, shared by every call (fastest "
            "wherever prompts are prefix-cached: in-process judges, llama.cpp, vLLM, OpenAI), "
            "or the item first and only the graded criterion after it (shortest prompts)."
        ),
    ] = Layout.rubric_first,
    defend_injection: Annotated[
        bool,
        typer.Option(
            help="Neutralise text addressed to the judge inside responses (fake answers, "
            "fake closing tags, instructions, claimed rubric changes) and flag those items."
        ),
    ] = False,
    samples: Annotated[
        int, typer.Option(min=1, help="Samples per call (temperature > 0), merged by vote.")
    ] = 1,
    temperature: Annotated[float, typer.Option(help="Temperature of a single sample.")] = 0.0,
    sample_temperature: Annotated[
        float, typer.Option(help="Temperature used with --samples > 1.")
    ] = 0.7,
    seed: Annotated[int, typer.Option(help="Base sampling seed.")] = 0,
    max_tokens: Annotated[int, typer.Option(help="Token budget per answer.")] = 384,
    logprobs: Annotated[
        bool | None,
        typer.Option(
            help="Ask for token log-probabilities (score distributions). "
            "Default: on for local, off for openai."
        ),
    ] = None,
    parse_retries: Annotated[
        int, typer.Option(min=0, help="Re-ask this many times when an answer cannot be parsed.")
    ] = 2,
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Items in flight at once, and the ceiling of the adaptive request limit "
            "(halved on 429s and timeouts, grown back on success); default 4.",
        ),
    ] = None,
    rpm: Annotated[
        float | None, typer.Option(help="Stay under this many requests per minute.")
    ] = None,
    tpm: Annotated[
        float | None, typer.Option(help="Stay under this many tokens per minute (estimated).")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option(
            help="Seconds a request may take once sent (scaled by the requests queued at a "
            "serialising server) before it is retried; default 120."
        ),
    ] = None,
    max_attempts: Annotated[
        int, typer.Option(min=1, help="Attempts per request on 429 / 5xx / timeouts.")
    ] = 6,
    api_key_env: Annotated[
        str, typer.Option(help="Environment variable holding the API key.")
    ] = "OPENAI_API_KEY",
    engine: Annotated[
        Engine | None,
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
        int | None,
        typer.Option(min=1, help="Ray workers (default: one per CPU of the cluster)."),
    ] = None,
    store: Annotated[
        Path | None,
        typer.Option(
            help="SQLite cache and run store "
            "(default ~/.cache/jurist/store.sqlite or $JURIST_STORE)."
        ),
    ] = None,
    resume: Annotated[
        str | None, typer.Option(help="Continue an interrupted run by its id.")
    ] = None,
    run_id: Annotated[
        str | None, typer.Option(help="Name for a new run (default: timestamp + random suffix).")
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="table | json")
    ] = OutputFormat.table,
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
    given: dict[str, Any] = {
        "rubric_path": str(rubric) if rubric else None,
        "data_path": str(data) if data else None,
        "preset": preset,
        "mode": mode,
        "judge": judge[0] if judge and len(judge) == 1 else None,
        "output_dir": str(output) if output else None,
        "timeout": timeout,
        "concurrency": concurrency,
        "rpm": rpm,
        "tpm": tpm,
        "engine": engine.value if engine else None,
        "address": address,
        "workers": workers,
    }
    if resume is None:
        fields = FieldMap(
            input=input_field,
            response=response_field,
            response_b=response_b_field,
            reference=reference_field,
            id=id_field,
            labels=tuple(label_field or ()),
            keep=tuple(keep_field or ()),
            responses=tuple(responses_field or ()),
        )
        given.update(
            jurors=judge if judge and len(judge) > 1 else None,
            jury=str(jury) if jury else None,
            jury_aggregate=jury_aggregate,
            weights=weights or None,
            fields=asdict(fields),
            skip_bad_rows=skip_bad_rows,
            limit=limit,
            joint=joint,
            both_orders=both_orders,
            orders=orders,
            aggregate=aggregate,
            rationale=rationale.value,
            layout=layout.value,
            defend_injection=defend_injection,
            samples=samples,
            temperature=temperature,
            sample_temperature=sample_temperature,
            seed=seed,
            max_tokens=max_tokens,
            logprobs=logprobs,
            parse_retries=parse_retries,
            max_attempts=max_attempts,
            api_key_env=api_key_env,
        )
    as_json = output_format == OutputFormat.json
    run_id = resume or run_id or new_run_id()
    with exit_on_error():
        try:
            with Store(store) as db:
                result = _run_with_progress(
                    given, db, run_id, resume, overwrite, progress and not as_json
                )
        except KeyboardInterrupt:
            errors.print(
                f"[yellow]interrupted[/]: finished items are saved; continue with --resume {run_id}"
            )
            raise typer.Exit(EXIT_INTERRUPTED) from None
    for note in result.notes:
        errors.print(f"resume: {note}", highlight=False)
    print_grade_summary(result.summary, as_json)
    if "jury" in result.summary and not as_json:
        for text in jury_lines(result.summary["jury"]):
            console.print(text, highlight=False)
    if result.skipped_rows:
        errors.print(f"[yellow]{len(result.skipped_rows)} bad rows skipped[/]:")
        for line in result.skipped_rows[:20]:
            errors.print(f"  {line}", highlight=False)
    if not as_json:
        console.print(f"results: {result.results_path}")
    failed, items = result.summary["failed"], result.summary["items"]
    if failed and not allow_failures:
        code = EXIT_BACKEND if failed == items else EXIT_FAILURES
        errors.print(
            f"[red]{failed} of {items} items failed[/] (see the errors in the results; "
            "--allow-failures exits 0)"
        )
        raise typer.Exit(code)


def _run_with_progress(
    given: dict[str, Any],
    db: Store,
    run_id: str,
    resume: str | None,
    overwrite: bool,
    show: bool,
) -> GradeResult:
    def run(progress: Any = None) -> GradeResult:
        return grade_job(
            given, db, resume=resume, run_id=run_id, overwrite=overwrite, progress=progress
        )

    if not show:
        return run()
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn(
            "cache {task.fields[hits]}  failed {task.fields[failed]}  "
            "parse_error {task.fields[bad]}"
        ),
    )
    with Progress(*columns, console=errors, transient=False) as bar:
        task = bar.add_task("grading", total=None, rate="", hits=0, failed=0, bad=0)

        def update(counters: RunCounters, total: int | None) -> None:
            elapsed = bar.tasks[0].elapsed or 0.0
            rate = f"{counters.items / elapsed:.2f} items/s" if elapsed > 0 else ""
            bar.update(
                task,
                completed=counters.items,
                total=total,
                rate=rate,
                hits=counters.cache_hits,
                failed=counters.failed,
                bad=counters.parse_error,
            )

        return run(update)


def models() -> None:
    """List the judge backends and models available on this machine."""
    from jurist.backends.llamacpp import DEFAULT_MODEL_FILE

    try:
        import llama_cpp  # noqa: F401

        local = f"available ({DEFAULT_MODEL_FILE}; a tiny base model for trying jurist offline)"
    except ImportError:
        local = "missing: pip install 'jurist[local]'"
    console.print(f"[bold]local[/]            {local}")
    key = "set" if os.environ.get("OPENAI_API_KEY") else "not set"
    base = redact_urls(os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1"))
    console.print(f"[bold]openai:MODEL[/]     {base} (OPENAI_API_KEY {key})")
    console.print(
        "[bold]openai:URL#MODEL[/] any OpenAI-compatible server, e.g. vLLM or llama-server;"
        " URL?chat_template=NAME sends --rationale none --logprobs scores as one token"
    )
    try:
        from jurist.datasets import PRESETS

        console.print("[bold]presets[/]          " + ", ".join(sorted(PRESETS)))
    except ImportError:
        pass
