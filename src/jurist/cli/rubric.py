"""`jurist rubric ...`: validate, lint, generate, refine, index and retrieve rubrics."""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn

import typer
from rich.markup import escape
from rich.table import Table

from jurist.cli.output import console, errors
from jurist.core.data import FieldMap
from jurist.core.errors import JuristError
from jurist.core.rubric import RubricError, load_rubric

if TYPE_CHECKING:
    from jurist.core.data import ItemSource
    from jurist.rubrics.batch import ItemOutcome
    from jurist.rubrics.session import JudgeSettings

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


def _fail(error: JuristError) -> NoReturn:
    errors.print(f"[red]error:[/] {escape(str(error))}", highlight=False)
    raise typer.Exit(error.exit_code)


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise typer.BadParameter(f"{name} must be one of {', '.join(allowed)}, not {value!r}")


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
    from jurist.rubrics.retrieve import INDEX_DIR, build_index

    try:
        built = build_index(library)
    except JuristError as error:
        _fail(error)
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
    from jurist.rubrics.retrieve import load_index

    _check_choice("--format", output_format, ("table", "json"))
    try:
        found = load_index(library).retrieve(query, k)
    except JuristError as error:
        _fail(error)
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


# --- options of the commands that read items and call a judge ---------------------------


@dataclass(frozen=True)
class ItemJudgeOptions:
    """The options of every command that reads items and calls a judge."""

    judge: str | None
    preset: str | None
    limit: int | None
    input_field: str
    response_field: str
    response_b_field: str
    reference_field: str | None
    id_field: str | None
    label_field: str | None
    store: Path | None
    concurrency: int
    timeout: float
    max_attempts: int
    api_key_env: str

    def source(self, data: Path | None, *, responses: bool, pairs: bool) -> ItemSource:
        from jurist.core.data import ItemSource

        if data is None and self.preset is None:
            raise typer.BadParameter("give DATA (a JSONL, CSV or Parquet file) or --preset NAME")
        fields = FieldMap(
            input=self.input_field,
            response=self.response_field if responses else None,
            response_b=self.response_b_field if pairs else None,
            reference=self.reference_field,
            id=self.id_field,
            labels=(self.label_field,) if self.label_field else (),
        )
        return ItemSource(data=data, preset=self.preset, fields=fields, limit=self.limit)

    def judge_settings(self, mode: str = "pointwise") -> JudgeSettings:
        from jurist.rubrics.session import JudgeSettings

        _check_choice("--mode", mode, ("pointwise", "pairwise"))
        return JudgeSettings(
            judge=self.judge,
            mode=mode,  # type: ignore[arg-type]
            store=self.store,
            concurrency=self.concurrency,
            timeout=self.timeout,
            max_attempts=self.max_attempts,
            api_key_env=self.api_key_env,
        )


_ITEM_JUDGE_OPTIONS: tuple[tuple[str, Any, Any], ...] = (
    ("judge", JudgeOpt, None),
    ("preset", PresetOpt, None),
    ("limit", LimitOpt, None),
    ("input_field", InputOpt, "input"),
    ("response_field", ResponseOpt, "response"),
    ("response_b_field", ResponseBOpt, "response_b"),
    ("reference_field", ReferenceOpt, None),
    ("id_field", IdOpt, None),
    ("label_field", LabelOpt, None),
    ("store", StoreOpt, None),
    ("concurrency", ConcurrencyOpt, 1),
    ("timeout", TimeoutOpt, 120.0),
    ("max_attempts", AttemptsOpt, 6),
    ("api_key_env", KeyEnvOpt, "OPENAI_API_KEY"),
)


def _with_item_options(command: Callable[..., None]) -> Callable[..., None]:
    """Declare the item and judge options once for every command that takes them: Typer
    sees them after the command's own options, and the command gets them as `shared`."""
    own = inspect.signature(command, eval_str=True)
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
        for name, kind, default in _ITEM_JUDGE_OPTIONS
    ]
    parameters = [p for p in own.parameters.values() if p.name != "shared"] + added

    @functools.wraps(command)
    def with_options(**values: Any) -> None:
        shared = ItemJudgeOptions(**{name: values.pop(name) for name, _, _ in _ITEM_JUDGE_OPTIONS})
        command(**values, shared=shared)

    with_options.__signature__ = own.replace(parameters=parameters)  # type: ignore[attr-defined]
    with_options.__annotations__ = {p.name: p.annotation for p in parameters} | {"return": None}
    return with_options


# --- generate ---------------------------------------------------------------------------


def _outcome_line(outcome: ItemOutcome) -> str:
    status = outcome.status
    colour = {"ok": "green", "repaired": "green", "skipped": "yellow"}.get(status, "red")
    text = f"[{colour}]{status}[/] {escape(outcome.id)}"
    if outcome.files:
        text += " -> " + ", ".join(escape(f) for f in outcome.files)
    if outcome.repairs:
        text += f" ({len(outcome.repairs)} repairs)"
    if outcome.reason and not outcome.usable:
        text += f": {escape(outcome.reason)}"
    return text


@rubric_app.command(
    epilog="Examples: jurist rubric generate --preset hhh --limit 5 -o rubrics/hhh --summarise;  "
    "jurist rubric generate pairs.jsonl --contrastive --label-field winner -o rubrics/pairs;  "
    "jurist rubric generate prompts.jsonl --retrieve 2 --library rubrics/ --style checklist"
)
@_with_item_options
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
    mode: ModeOpt = "pointwise",
    *,
    shared: ItemJudgeOptions,
) -> None:
    """Write a rubric for each item of DATA with the judge model.

    Rubrics are written from the item's input (and reference), never its response. Every
    answer is validated and linted: small slips are repaired and listed, anything else is
    rejected with the reason; report.json records every item's outcome. The exit code is 1
    when no rubric could be written.
    """
    from jurist.rubrics.batch import GenerateSettings, generate_rubrics

    style = style or ("checklist" if contrastive else "likert")
    _check_choice("--style", style, ("likert", "checklist"))
    if retrieve_k and library is None:
        raise typer.BadParameter("--retrieve needs --library DIR")
    source = shared.source(data, responses=contrastive, pairs=contrastive)
    settings = GenerateSettings(
        style=style,  # type: ignore[arg-type]
        contrastive=contrastive,
        library=library,
        retrieve_k=retrieve_k,
        max_parts=max_parts,
        tries=tries,
        keep=keep,
        temperature=temperature,
        seed=seed,
        max_tokens=max_tokens,
        summarise=summarise,
        reword=reword,
        similarity=similarity,
        min_support=min_support,
    )
    try:
        report = generate_rubrics(
            source,
            shared.judge_settings(mode),
            output,
            settings,
            on_outcome=lambda outcome: console.print(_outcome_line(outcome), highlight=False),
        )
    except JuristError as error:
        _fail(error)
    console.print(
        f"{report.usable} of {report.items} items got a rubric ("
        + ", ".join(f"{k} {v}" for k, v in sorted(report.counts.items()))
        + f"); model calls {report.model_calls}, cache hits {report.cache_hits}"
    )
    if report.summary is not None:
        summary = report.summary
        console.print(
            f"summary: {escape(summary.file)} ({summary.criteria} criteria, "
            f"{summary.checklist} checks from {summary.rubrics} rubrics)"
        )
    elif summarise:
        errors.print("[yellow]no summary[/]: no usable rubric to summarise")
    console.print(f"report: {escape(report.report_file)}")
    if report.usable == 0:
        raise typer.Exit(1)


# --- refine -----------------------------------------------------------------------------


@rubric_app.command(
    epilog="Examples: jurist rubric refine rubric.yaml answers.jsonl -o refined.yaml;  "
    "jurist rubric refine rubric.yaml --preset hhh --limit 20 --depth 2 -o refined.yaml"
)
@_with_item_options
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
    *,
    shared: ItemJudgeOptions,
) -> None:
    """Refine RUBRIC by grading DATA with it.

    Criteria whose scores barely vary are split into finer sub-criteria (up to --depth
    rounds); then criteria that side with the rejected response of labelled pairs, or
    repeat another criterion (by wording or by scores), are dropped, and the rest are
    re-weighted so that correlated criteria do not count one quality twice. Prints and
    saves what was split, dropped and re-weighted, and why.
    """
    from jurist.rubrics.refine_run import RefineSettings, refine_with_data

    pairs_mode = shared.label_field is not None or shared.preset is not None
    source = shared.source(data, responses=True, pairs=pairs_mode)
    settings = RefineSettings(
        depth=depth,
        min_std=min_std,
        max_tie_rate=max_tie_rate,
        min_pairs=min_pairs,
        agreement=agreement,
        redundancy=redundancy,
        text_redundancy=text_redundancy,
        embeddings=embeddings,
        prune=prune,
        samples=samples,
        temperature=temperature,
        seed=seed,
    )
    try:
        run = refine_with_data(
            rubric_path,
            source,
            shared.judge_settings(),
            settings,
            output=output,
            report_path=report_path,
        )
    except JuristError as error:
        _fail(error)
    console.print(
        f"graded {run.responses} responses ({run.pairs} pairs) in {run.report.rounds} rounds; "
        f"model calls {run.model_calls}, cache hits {run.cache_hits}"
    )
    for line in run.changes or [
        "no changes: every criterion separated responses and none was pruned"
    ]:
        console.print(f"  {escape(line)}", highlight=False)
    console.print(f"refined rubric: {escape(run.output)}")
    console.print(f"report: {escape(run.report_file)}")
