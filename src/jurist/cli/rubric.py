"""`jurist rubric ...`: validate, lint, generate, refine, index and retrieve rubrics."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.markup import escape
from rich.table import Table

from jurist.backends import BackendError, make_backend, parse_judge_spec
from jurist.cli.output import console, errors
from jurist.data import DataError, FieldMap, Item, read_items
from jurist.prompts import transcript
from jurist.rubric import Rubric, RubricError, load_rubric, save_rubric
from jurist.runner import RetryPolicy, RunOptions
from jurist.store import Store

rubric_app = typer.Typer(help="Validate, lint and author rubrics.", no_args_is_help=True)

Format = Literal["table", "json"]

# --- shared options ---------------------------------------------------------------------

JudgeOpt = Annotated[
    str | None,
    typer.Option(
        help="local (default: embedded Gemma 3 270M), local:PATH.gguf, openai:MODEL, "
        "openai:URL#MODEL"
    ),
]
StoreOpt = Annotated[
    Path | None,
    typer.Option(
        help="SQLite cache (default ~/.cache/jurist/store.sqlite or $JURIST_STORE); "
        "a re-run makes no model calls."
    ),
]
PresetOpt = Annotated[
    str | None, typer.Option(help="A built-in benchmark (see `jurist models`); replaces DATA.")
]
LimitOpt = Annotated[int | None, typer.Option(min=0, help="Use only the first N items.")]
InputOpt = Annotated[str, typer.Option(help="Column with the input (text or chat messages).")]
ResponseOpt = Annotated[str, typer.Option(help="Column with the (first) response.")]
ResponseBOpt = Annotated[str, typer.Option(help="Column with the second response of a pair.")]
ReferenceOpt = Annotated[str | None, typer.Option(help="Column with a reference answer.")]
IdOpt = Annotated[
    str | None, typer.Option(help="Column with a unique item id (default: row number).")
]
LabelOpt = Annotated[
    str | None,
    typer.Option(
        help="Column saying which response people preferred: A / B / tie "
        "(also response / response_b, A>B / B>A)."
    ),
]
ModeOpt = Annotated[
    str,
    typer.Option(
        help="How the judge decides a pair: pointwise (grade each response, compare) "
        "or pairwise (compare directly)."
    ),
]
ConcurrencyOpt = Annotated[int, typer.Option(min=1, help="Responses judged at once.")]
TimeoutOpt = Annotated[float, typer.Option(help="Seconds per request before it is retried.")]
AttemptsOpt = Annotated[
    int, typer.Option(min=1, help="Attempts per request on 429 / 5xx / timeouts.")
]
KeyEnvOpt = Annotated[str, typer.Option(help="Environment variable holding the API key.")]
FormatOpt = Annotated[str, typer.Option("--format", help="table | json")]


def _fail(message: str, code: int = 2) -> typer.Exit:
    errors.print(f"[red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise typer.BadParameter(f"{name} must be one of {', '.join(allowed)}, not {value!r}")


def _load_items(
    data: Path | None,
    preset: str | None,
    fields: FieldMap,
    limit: int | None,
) -> list[Item]:
    if preset is not None:
        from jurist.datasets import load_preset

        return list(load_preset(preset, limit=limit))
    if data is None:
        raise typer.BadParameter("give DATA (a JSONL, CSV or Parquet file) or --preset NAME")
    items: list[Item] = []
    for item in read_items(data, fields):
        if limit is not None and len(items) >= limit:
            break
        items.append(item)
    return items


def _pipeline(
    judge: str | None,
    store: Store,
    *,
    mode: str = "pointwise",
    concurrency: int = 1,
    timeout: float = 120.0,
    max_attempts: int = 6,
    api_key_env: str = "OPENAI_API_KEY",
    logprobs: bool | None = None,
) -> Any:
    from jurist.rubrics.pipeline import RubricPipeline, ScoreOptions

    _check_choice("--mode", mode, ("pointwise", "pairwise"))
    kind, _, _ = parse_judge_spec(judge)
    # As in `jurist grade`: token probabilities on for the embedded model, off for servers.
    want = logprobs if logprobs is not None else kind == "local"
    backend = make_backend(judge, api_key_env=api_key_env, timeout=timeout, logprobs=want)
    options = ScoreOptions(mode=mode, logprobs=want, concurrency=concurrency)  # type: ignore[arg-type]
    run_options = RunOptions(
        concurrency=concurrency, timeout=timeout, retry=RetryPolicy(max_attempts=max_attempts)
    )
    return RubricPipeline(backend, store, options, run_options)


_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def _file_stem(item_id: str, taken: set[str]) -> str:
    stem = _UNSAFE.sub("_", item_id).strip("._-") or "item"
    unique, number = stem, 2
    while unique in taken:
        unique, number = f"{stem}-{number}", number + 1
    taken.add(unique)
    return unique


def _query_text(item: Item) -> str:
    return transcript(item.input) if isinstance(item.input, list) else item.input


# --- validate and lint ------------------------------------------------------------------


@rubric_app.command(epilog="Example: jurist rubric validate examples/helpfulness.yaml")
def validate(path: Annotated[Path, typer.Argument(help="Rubric YAML file.")]) -> None:
    """Check a rubric and print its criteria, checklist and content hash."""
    try:
        rubric = load_rubric(path)
    except RubricError as error:
        errors.print(f"[red]invalid[/] {error}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"[green]valid[/] {path}: rubric {rubric.name!r} (hash {rubric.content_hash})")
    for criterion in rubric.criteria:
        low, high = criterion.bounds
        console.print(f"  criterion {criterion.id}: {low}-{high}, weight {criterion.weight:g}")
    for item in rubric.checklist:
        console.print(f"  checklist {item.id}: weight {item.weight:g}, {item.kind}")


@rubric_app.command(
    epilog="Example: jurist rubric lint examples/helpfulness.yaml --format json  "
    "(exit code 1 when there are errors; warnings alone exit 0)"
)
def lint(
    path: Annotated[Path, typer.Argument(help="Rubric YAML file.")],
    reference: Annotated[
        bool | None,
        typer.Option(
            "--reference/--no-reference",
            help="Whether the judge will see a reference answer (unset: skip that rule).",
        ),
    ] = None,
    history: Annotated[
        bool | None,
        typer.Option(
            "--history/--no-history",
            help="Whether the judge will see a multi-turn conversation (unset: skip).",
        ),
    ] = None,
    output_format: FormatOpt = "table",
) -> None:
    """Find problems in a rubric before a judge is paid to use it.

    Unusable scales, open questions in a checklist, duplicated criteria, context the judge
    will not see. Errors make a criterion unusable as written; warnings rest on heuristics.
    """
    from jurist.rubrics.lint import lint_file

    _check_choice("--format", output_format, ("table", "json"))
    findings = lint_file(path, has_reference=reference, has_history=history)
    failed = any(finding.severity == "error" for finding in findings)
    if output_format == "json":
        typer.echo(json.dumps([finding.model_dump() for finding in findings], indent=2))
    elif not findings:
        console.print(f"[green]clean[/] {escape(str(path))}: no findings")
    else:
        table = Table(title=f"{path}: {len(findings)} findings", show_lines=False)
        for column in ("severity", "criterion", "rule", "message", "suggestion"):
            table.add_column(column, overflow="fold")
        for finding in findings:
            colour = "red" if finding.severity == "error" else "yellow"
            table.add_row(
                f"[{colour}]{finding.severity}[/]",
                escape(finding.target),
                finding.rule,
                escape(finding.message),
                escape(finding.suggestion),
            )
        console.print(table)
    if failed:
        raise typer.Exit(1)


# --- library: index and retrieve -------------------------------------------------------


@rubric_app.command(
    epilog="Example: jurist rubric index rubrics/  (NAME.prompts.txt next to NAME.yaml "
    "holds the prompts a rubric was written for, separated by lines of ---)"
)
def index(
    library: Annotated[Path, typer.Argument(help="Folder of rubric YAML files.")],
) -> None:
    """Embed every rubric in a library folder, with the prompts it was written for.

    `retrieve` and `generate --retrieve` then find the rubrics nearest to a new prompt.
    """
    from jurist.rubrics.embeddings import EmbeddingsUnavailable
    from jurist.rubrics.retrieve import INDEX_DIR, build_index

    try:
        built = build_index(library)
    except (FileNotFoundError, EmbeddingsUnavailable) as error:
        raise _fail(str(error)) from None
    prompts = sum(kind == "prompt" for _, kind in built.rows)
    console.print(
        f"indexed {len(built.rubrics)} rubrics ({prompts} prompts, {len(built.rows)} texts) "
        f"with {built.model} into {escape(str(library / INDEX_DIR))}"
    )
    for path, reason in built.skipped.items():
        errors.print(f"[yellow]skipped[/] {escape(path)}: {escape(reason)}", highlight=False)


@rubric_app.command(
    epilog='Example: jurist rubric retrieve "Write a haiku about autumn" --library rubrics/ -k 3'
)
def retrieve(
    query: Annotated[str, typer.Argument(help="A prompt to find rubrics for.")],
    library: Annotated[Path, typer.Option("--library", "-l", help="Folder of rubrics.")],
    k: Annotated[int, typer.Option("-k", min=1, help="How many rubrics to return.")] = 3,
    output_format: FormatOpt = "table",
) -> None:
    """Find the library rubrics written for prompts most like QUERY.

    Scores are cosine similarities. A stale index (files added, changed or removed) is
    rebuilt first.
    """
    from jurist.rubrics.embeddings import EmbeddingsUnavailable
    from jurist.rubrics.retrieve import load_index

    _check_choice("--format", output_format, ("table", "json"))
    try:
        found = load_index(library).retrieve(query, k)
    except (FileNotFoundError, EmbeddingsUnavailable, RubricError) as error:
        raise _fail(str(error)) from None
    rows = [
        {
            "rank": rank,
            "score": round(hit.score, 4),
            "path": str(hit.path),
            "name": hit.rubric.name,
            "criteria": len(hit.rubric.criteria),
            "checklist": len(hit.rubric.checklist),
        }
        for rank, hit in enumerate(found, start=1)
    ]
    if output_format == "json":
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title=f"nearest rubrics in {library}")
    for column in ("rank", "score", "path", "name", "parts"):
        table.add_column(column, overflow="fold")
    for row in rows:
        parts = f"{row['criteria']} criteria, {row['checklist']} checks"
        table.add_row(
            str(row["rank"]), f"{row['score']:.3f}", escape(row["path"]), row["name"], parts
        )
    console.print(table)


# --- generate ---------------------------------------------------------------------------


def _summary_line(entry: dict[str, Any]) -> str:
    status = entry["status"]
    colour = {"ok": "green", "repaired": "green", "skipped": "yellow"}.get(status, "red")
    text = f"[{colour}]{status}[/] {escape(entry['id'])}"
    if entry.get("files"):
        text += " -> " + ", ".join(escape(f) for f in entry["files"])
    if entry.get("repairs"):
        text += f" ({len(entry['repairs'])} repairs)"
    if entry.get("reason") and status not in ("ok", "repaired"):
        text += f": {escape(entry['reason'])}"
    return text


def _write_rubric(rubric: Rubric, item: Item, folder: Path, stem: str) -> str:
    path = folder / f"{stem}.yaml"
    save_rubric(rubric, path)
    # The prompt goes alongside, so the output folder is itself a library for --retrieve.
    sidecar = folder / f"{stem}.prompts.txt"
    sidecar.write_text(_query_text(item).strip() + "\n", encoding="utf-8")
    return str(path)


async def _generate_all(
    items: list[Item],
    pipeline: Any,
    *,
    out: Path,
    style: str,
    contrastive: bool,
    label: str | None,
    library: Path | None,
    retrieve_k: int,
    max_parts: int,
    tries: int,
    keep: int,
    temperature: float,
    seed: int,
    max_tokens: int,
) -> list[dict[str, Any]]:
    from jurist.rubrics.generate import (
        generate_contrastive,
        generate_instance_rubric,
        preference_label,
    )

    index = None
    if retrieve_k > 0:
        from jurist.rubrics.retrieve import load_index

        assert library is not None
        index = load_index(library)
    taken: set[str] = set()
    entries: list[dict[str, Any]] = []
    for item in items:
        entry: dict[str, Any] = {"id": item.id}
        examples: list[Rubric] = []
        if index is not None:
            hits = index.retrieve(_query_text(item), retrieve_k)
            examples = [hit.rubric for hit in hits]
            entry["examples"] = [{"path": str(h.path), "score": round(h.score, 4)} for h in hits]
        stem = _file_stem(item.id, taken)
        if contrastive:
            side = preference_label(item, label)
            if side not in ("A", "B") or item.response is None or item.response_b is None:
                entry.update(
                    status="skipped",
                    reason="needs two responses and an A / B preference "
                    f"(label is {side or 'missing'})",
                )
                entries.append(entry)
                console.print(_summary_line(entry), highlight=False)
                continue
            pair = item.model_copy(update={"labels": {**item.labels, "preferred": side}})
            result = await generate_contrastive(
                pair,
                pipeline.backend,
                pipeline.prefers,
                tries=tries,
                keep=keep,
                principles=style,  # type: ignore[arg-type]
                max_principles=max_parts,
                temperature=temperature,
                seed=seed,
                max_tokens=max_tokens,
            )
            attempts = [
                a.model_dump(exclude={"rubric", "raw"}, mode="json") for a in result.attempts
            ]
            entry["attempts"] = attempts
            if result.accepted:
                last_ok = next(a for a in reversed(result.attempts) if a.ok)
                entry.update(status=last_ok.status, repairs=last_ok.repairs)
                entry["files"] = [
                    _write_rubric(r, item, out, stem if n == 0 else f"{stem}-{n + 1}")
                    for n, r in enumerate(result.accepted)
                ]
            else:
                last = result.attempts[-1] if result.attempts else None
                entry.update(
                    status="rejected" if last is None else last.status,
                    reason=(last.reason if last else None) or "no try was accepted",
                )
            entry["rubrics"] = result.accepted
        else:
            generated = await generate_instance_rubric(
                item,
                pipeline.backend,
                style=style,  # type: ignore[arg-type]
                examples=examples,
                max_parts=max_parts,
                temperature=temperature,
                seed=seed,
                tries=tries,
                max_tokens=max_tokens,
            )
            entry.update(
                status=generated.status,
                reason=generated.reason,
                repairs=generated.repairs,
                findings=[f.model_dump() for f in generated.findings],
                attempt=generated.attempt,
            )
            if not generated.ok:
                entry["raw"] = generated.raw
            if generated.rubric is not None:
                entry["files"] = [_write_rubric(generated.rubric, item, out, stem)]
                entry["rubrics"] = [generated.rubric]
        entries.append(entry)
        console.print(_summary_line(entry), highlight=False)
    return entries


@rubric_app.command(
    epilog="Examples: jurist rubric generate --preset hhh --limit 5 -o rubrics/hhh --summarise;  "
    "jurist rubric generate pairs.jsonl --contrastive --label-field winner -o rubrics/pairs;  "
    "jurist rubric generate prompts.jsonl --retrieve 2 --library rubrics/ --style checklist"
)
def generate(
    data: Annotated[
        Path | None, typer.Argument(help="JSONL, CSV or Parquet file of items.")
    ] = None,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Folder for one YAML per item and report.json.")
    ] = Path("rubrics-out"),
    style: Annotated[
        str | None,
        typer.Option(
            help="likert | checklist (default likert; with --contrastive, the principles are "
            "checklist items unless likert is asked for)"
        ),
    ] = None,
    contrastive: Annotated[
        bool,
        typer.Option(
            help="Derive rubrics from labelled pairs; keep only those under which the judge "
            "prefers the preferred response."
        ),
    ] = False,
    summarise: Annotated[
        bool, typer.Option(help="Also write summary.yaml: one rubric for the whole data set.")
    ] = False,
    reword: Annotated[
        bool, typer.Option(help="With --summarise: ask the judge to reword merged criteria.")
    ] = False,
    similarity: Annotated[
        float, typer.Option(help="With --summarise: cosine similarity that merges criteria.")
    ] = 0.8,
    min_support: Annotated[
        int, typer.Option(min=1, help="With --summarise: keep criteria found in >= N rubrics.")
    ] = 1,
    retrieve_k: Annotated[
        int,
        typer.Option("--retrieve", min=0, help="Show the K nearest library rubrics as examples."),
    ] = 0,
    library: Annotated[
        Path | None, typer.Option(help="Rubric library folder for --retrieve.")
    ] = None,
    max_parts: Annotated[
        int, typer.Option(min=1, help="Most criteria (or checklist items) per rubric.")
    ] = 5,
    tries: Annotated[
        int,
        typer.Option(min=1, help="Answers asked per item until one is usable (or accepted)."),
    ] = 2,
    keep: Annotated[
        int, typer.Option(min=1, help="With --contrastive: accepted rubrics to keep per item.")
    ] = 1,
    temperature: Annotated[float, typer.Option(help="Sampling temperature for rubrics.")] = 0.7,
    seed: Annotated[int, typer.Option(help="Base sampling seed.")] = 0,
    max_tokens: Annotated[int, typer.Option(help="Token budget per rubric answer.")] = 1536,
    judge: JudgeOpt = None,
    mode: ModeOpt = "pointwise",
    preset: PresetOpt = None,
    limit: LimitOpt = None,
    input_field: InputOpt = "input",
    response_field: ResponseOpt = "response",
    response_b_field: ResponseBOpt = "response_b",
    reference_field: ReferenceOpt = None,
    id_field: IdOpt = None,
    label_field: LabelOpt = None,
    store: StoreOpt = None,
    concurrency: ConcurrencyOpt = 1,
    timeout: TimeoutOpt = 120.0,
    max_attempts: AttemptsOpt = 6,
    api_key_env: KeyEnvOpt = "OPENAI_API_KEY",
) -> None:
    """Write a rubric for each item of DATA with the judge model.

    Rubrics are written from the item's input (and reference), never its response. Every
    answer is validated and linted: small slips are repaired and listed, anything else is
    rejected with the reason; report.json records every item's outcome. The exit code is 1
    when no rubric could be written.
    """
    style = style or ("checklist" if contrastive else "likert")
    _check_choice("--style", style, ("likert", "checklist"))
    if retrieve_k and library is None:
        raise typer.BadParameter("--retrieve needs --library DIR")
    if contrastive and preset is None and label_field is None:
        raise typer.BadParameter("--contrastive needs --label-field (or a pairwise --preset)")
    fields = FieldMap(
        input=input_field,
        response=response_field if contrastive else None,
        response_b=response_b_field if contrastive else None,
        reference=reference_field,
        id=id_field,
        labels=(label_field,) if label_field else (),
    )
    try:
        items = _load_items(data, preset, fields, limit)
    except (DataError, ValueError, FileNotFoundError) as error:
        raise _fail(str(error)) from None
    output.mkdir(parents=True, exist_ok=True)
    label = label_field if preset is None else None

    async def run() -> tuple[list[dict[str, Any]], dict[str, Any] | None, dict[str, int]]:
        with Store(store) as db:
            pipeline = _pipeline(
                judge,
                db,
                mode=mode,
                concurrency=concurrency,
                timeout=timeout,
                max_attempts=max_attempts,
                api_key_env=api_key_env,
            )
            try:
                entries = await _generate_all(
                    items,
                    pipeline,
                    out=output,
                    style=style,
                    contrastive=contrastive,
                    label=label,
                    library=library,
                    retrieve_k=retrieve_k,
                    max_parts=max_parts,
                    tries=tries,
                    keep=keep,
                    temperature=temperature,
                    seed=seed,
                    max_tokens=max_tokens,
                )
                summary = None
                rubrics = [r for e in entries for r in e.pop("rubrics", [])]
                if summarise and rubrics:
                    summary = await _summarise(
                        rubrics,
                        pipeline.backend if reword else None,
                        output,
                        similarity=similarity,
                        min_support=min_support,
                        max_parts=None,
                        seed=seed,
                    )
                usage = {
                    "model_calls": pipeline.usage.calls,
                    "cache_hits": pipeline.usage.cache_hits,
                }
            finally:
                await pipeline.aclose()
        return entries, summary, usage

    try:
        entries, summary, usage = asyncio.run(run())
    except (BackendError, RubricError, FileNotFoundError, ValueError) as error:
        raise _fail(str(error)) from None
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry["status"]] = counts.get(entry["status"], 0) + 1
    report = {
        "data": str(data) if data else None,
        "preset": preset,
        "judge": judge or "local",
        "style": style,
        "contrastive": contrastive,
        "retrieve": retrieve_k,
        "library": str(library) if library else None,
        "items": len(entries),
        "counts": counts,
        **usage,
        "summary": summary,
        "results": entries,
    }
    report_path = output / "report.json"
    report_path.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    usable = counts.get("ok", 0) + counts.get("repaired", 0)
    console.print(
        f"{usable} of {len(entries)} items got a rubric ("
        + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        + f"); model calls {usage['model_calls']}, cache hits {usage['cache_hits']}"
    )
    if summary is not None:
        console.print(
            f"summary: {escape(summary['file'])} ({summary['criteria']} criteria, "
            f"{summary['checklist']} checks from {summary['rubrics']} rubrics)"
        )
    elif summarise:
        errors.print("[yellow]no summary[/]: no usable rubric to summarise")
    console.print(f"report: {escape(str(report_path))}")
    if usable == 0:
        raise typer.Exit(1)


async def _summarise(
    rubrics: list[Rubric],
    backend: Any,
    output: Path,
    *,
    similarity: float,
    min_support: int,
    max_parts: int | None,
    seed: int,
) -> dict[str, Any]:
    from jurist.rubrics.embeddings import embed
    from jurist.rubrics.generate import summarise_rubrics

    summary = await summarise_rubrics(
        rubrics,
        backend,
        embed=embed,
        threshold=similarity,
        min_support=min_support,
        max_parts=max_parts,
        name=f"summary-{output.name}",
        seed=seed,
    )
    path = output / "summary.yaml"
    save_rubric(summary, path)
    return {
        "file": str(path),
        "rubrics": len(rubrics),
        "criteria": len(summary.criteria),
        "checklist": len(summary.checklist),
        "parts_in": sum(len(r.criteria) + len(r.checklist) for r in rubrics),
    }


# --- refine -----------------------------------------------------------------------------


def _responses(items: list[Item], pairs: bool) -> Iterator[Item]:
    from jurist.rubrics.refine import pair_sides

    for item in items:
        if pairs and item.response_b is not None:
            yield from pair_sides(item)
        elif item.response is not None:
            yield item


@rubric_app.command(
    epilog="Examples: jurist rubric refine rubric.yaml answers.jsonl -o refined.yaml;  "
    "jurist rubric refine rubric.yaml --preset hhh --limit 20 --depth 2 -o refined.yaml"
)
def refine(
    rubric_path: Annotated[Path, typer.Argument(metavar="RUBRIC", help="Rubric YAML file.")],
    data: Annotated[
        Path | None,
        typer.Argument(
            help="Responses to grade (JSONL, CSV or Parquet); with --label-field, labelled pairs."
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Refined rubric (default RUBRIC.refined.yaml)."),
    ] = None,
    report_path: Annotated[
        Path | None,
        typer.Option("--report", help="Report JSON (default next to the output)."),
    ] = None,
    depth: Annotated[
        int, typer.Option(min=0, help="Rounds of splitting criteria that separate nothing.")
    ] = 1,
    min_std: Annotated[
        float, typer.Option(help="Split a criterion whose scores (on [0, 1]) vary less.")
    ] = 0.1,
    max_tie_rate: Annotated[
        float, typer.Option(help="Split a criterion when two responses tie more often.")
    ] = 0.8,
    min_pairs: Annotated[
        int,
        typer.Option(min=1, help="Decided labelled pairs needed before judging alignment."),
    ] = 10,
    agreement: Annotated[
        float,
        typer.Option(help="Drop a criterion agreeing with people on fewer pairs than this."),
    ] = 0.5,
    redundancy: Annotated[
        float,
        typer.Option(help="Drop a criterion whose scores correlate at least this with another."),
    ] = 0.9,
    text_redundancy: Annotated[
        float,
        typer.Option(help="Drop a criterion whose wording is at least this similar to another."),
    ] = 0.9,
    embeddings: Annotated[
        bool, typer.Option(help="Compare wording with the embedding model.")
    ] = True,
    prune: Annotated[
        bool, typer.Option(help="Drop misaligned and redundant criteria and re-weight.")
    ] = True,
    samples: Annotated[
        int, typer.Option(min=0, help="Tied responses shown when asking for a split.")
    ] = 3,
    temperature: Annotated[float, typer.Option(help="Sampling temperature for splits.")] = 0.7,
    seed: Annotated[int, typer.Option(help="Base sampling seed.")] = 0,
    judge: JudgeOpt = None,
    preset: PresetOpt = None,
    limit: LimitOpt = None,
    input_field: InputOpt = "input",
    response_field: ResponseOpt = "response",
    response_b_field: ResponseBOpt = "response_b",
    reference_field: ReferenceOpt = None,
    id_field: IdOpt = None,
    label_field: LabelOpt = None,
    store: StoreOpt = None,
    concurrency: ConcurrencyOpt = 1,
    timeout: TimeoutOpt = 120.0,
    max_attempts: AttemptsOpt = 6,
    api_key_env: KeyEnvOpt = "OPENAI_API_KEY",
) -> None:
    """Refine RUBRIC by grading DATA with it.

    Criteria whose scores barely vary are split into finer sub-criteria (up to --depth
    rounds); then criteria that side with the rejected response of labelled pairs, or
    repeat another criterion (by wording or by scores), are dropped, and the rest are
    re-weighted so that correlated criteria do not count one quality twice. Prints and
    saves what was split, dropped and re-weighted, and why.
    """
    from jurist.rubrics.refine import refine_rubric

    try:
        rubric = load_rubric(rubric_path)
    except RubricError as error:
        raise _fail(str(error)) from None
    pairs_mode = label_field is not None or preset is not None
    fields = FieldMap(
        input=input_field,
        response=response_field,
        response_b=response_b_field if pairs_mode else None,
        reference=reference_field,
        id=id_field,
        labels=(label_field,) if label_field else (),
    )
    try:
        items = _load_items(data, preset, fields, limit)
    except (DataError, ValueError, FileNotFoundError) as error:
        raise _fail(str(error)) from None
    responses = list(_responses(items, pairs_mode))
    pairs = [item for item in items if item.response_b is not None] if pairs_mode else []
    if not responses:
        raise _fail("no responses to grade in the data")
    embed = None
    notes: list[str] = []
    if embeddings and prune:
        from jurist.rubrics import embeddings as embedding_model

        if embedding_model.available():
            embed = embedding_model.embed
        else:
            notes.append(f"wording not compared: {embedding_model.INSTALL_HINT}")
    output = output or rubric_path.with_name(rubric_path.stem + ".refined.yaml")
    report_path = report_path or output.with_name(output.stem + ".report.json")
    label = label_field if preset is None else None

    async def run() -> tuple[Rubric, Any, dict[str, int]]:
        with Store(store) as db:
            pipeline = _pipeline(
                judge,
                db,
                concurrency=concurrency,
                timeout=timeout,
                max_attempts=max_attempts,
                api_key_env=api_key_env,
            )
            try:
                refined, report = await refine_rubric(
                    rubric,
                    responses,
                    pipeline.backend,
                    pipeline.grade,
                    depth=depth,
                    min_std=min_std,
                    max_tie_rate=max_tie_rate,
                    prune=prune,
                    redundancy=redundancy,
                    samples=samples,
                    temperature=temperature,
                    seed=seed,
                    pairs=pairs,
                    label=label,
                    min_pairs=min_pairs,
                    agreement_threshold=agreement,
                    embed=embed,
                    text_redundancy=text_redundancy,
                )
                usage = {
                    "model_calls": pipeline.usage.calls,
                    "cache_hits": pipeline.usage.cache_hits,
                }
            finally:
                await pipeline.aclose()
        return refined, report, usage

    try:
        refined, report, usage = asyncio.run(run())
    except (BackendError, RubricError, ValueError) as error:
        raise _fail(str(error)) from None
    report = report.model_copy(update={"notes": [*report.notes, *notes]})
    save_rubric(refined, output)
    lines = report.lines()
    document = {
        "rubric": str(rubric_path),
        "output": str(output),
        "data": str(data) if data else None,
        "preset": preset,
        "judge": judge or "local",
        "responses": len(responses),
        "pairs": len(pairs),
        "settings": {
            "depth": depth,
            "min_std": min_std,
            "max_tie_rate": max_tie_rate,
            "min_pairs": min_pairs,
            "agreement_threshold": agreement,
            "score_redundancy": redundancy if prune else None,
            "text_redundancy": text_redundancy if embed is not None else None,
        },
        **usage,
        "criteria_before": [c.id for c in rubric.criteria] + [c.id for c in rubric.checklist],
        "criteria_after": [c.id for c in refined.criteria] + [c.id for c in refined.checklist],
        "changes": lines,
        "report": report.model_dump(mode="json"),
    }
    report_path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    console.print(
        f"graded {len(responses)} responses ({len(pairs)} pairs) in {report.rounds} rounds; "
        f"model calls {usage['model_calls']}, cache hits {usage['cache_hits']}"
    )
    for line in lines or ["no changes: every criterion separated responses and none was pruned"]:
        console.print(f"  {escape(line)}", highlight=False)
    console.print(f"refined rubric: {escape(str(output))}")
    console.print(f"report: {escape(str(report_path))}")
