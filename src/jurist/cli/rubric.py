"""`jurist rubric ...`: validate, lint, generate, refine, index and retrieve rubrics."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated, Literal

import typer

from jurist.cli.options import (
    DataArg,
    FormatOpt,
    LimitOpt,
    PresetOpt,
    RubricArg,
    StoreOpt,
    columns,
    judge_setup,
    option_groups,
    settings_options,
)
from jurist.cli.output import console, errors, exit_on_error
from jurist.core.data import FieldMap
from jurist.core.rubric import load_rubric
from jurist.datasets import ItemSource
from jurist.rubrics.batch import GenerateSettings, generate_rubrics
from jurist.rubrics.lint import LintContext, lint_file
from jurist.rubrics.refine_run import RefineSettings, refine_with_data
from jurist.rubrics.render import (
    findings_table,
    generate_lines,
    index_line,
    outcome_line,
    refine_lines,
    retrieved_rows,
    retrieved_table,
    rubric_lines,
    skipped_lines,
)
from jurist.rubrics.retrieve import build_index, load_index
from jurist.rubrics.session import JudgeSettings
from jurist.session import JudgeSetup

rubric_app = typer.Typer(help="Validate, lint and author rubrics.", no_args_is_help=True)

_JUDGE = JudgeSettings()

PREFERENCE_HELP = "Column of the preferred response: A, B, tie, response, response_b, A>B or B>A."
ModeOpt = Annotated[
    Literal["pointwise", "pairwise"],
    typer.Option(help="A pair is decided pointwise (grade each, compare) or pairwise."),
]


@rubric_app.command(epilog="Example: jurist rubric validate examples/helpfulness.yaml")
@exit_on_error()
def validate(path: RubricArg) -> None:
    """Check a rubric and print its criteria, checklist and content hash."""
    for line in rubric_lines(path, load_rubric(path)):
        console.print(line)


@rubric_app.command(
    epilog="Example: jurist rubric lint examples/helpfulness.yaml --format json  "
    "(exit code 1 when there are errors; warnings alone exit 0)"
)
@exit_on_error()
@option_groups(
    context=settings_options(
        LintContext,
        has_reference=typer.Option("--reference/--no-reference"),
        has_history=typer.Option("--history/--no-history"),
    )
)
def lint(path: RubricArg, output_format: FormatOpt = "table", *, context: LintContext) -> None:
    """Find problems in a rubric before a judge is paid to use it.

    Unusable scales, open questions in a checklist, duplicated criteria, context the judge
    will not see. Errors make a criterion unusable as written; warnings rest on heuristics.
    """
    findings = lint_file(path, **asdict(context))
    failed = any(finding.severity == "error" for finding in findings)
    if output_format == "json":
        typer.echo(json.dumps([finding.model_dump() for finding in findings], indent=2))
    else:
        console.print(findings_table(path, findings))
    if failed:
        raise typer.Exit(1)


@rubric_app.command(
    epilog="Example: jurist rubric index rubrics/  (NAME.prompts.txt next to NAME.yaml "
    "holds the prompts a rubric was written for, separated by lines of ---)"
)
@exit_on_error()
def index(
    library: Annotated[Path, typer.Argument(help="Folder of rubric YAML files.")],
) -> None:
    """Embed every rubric in a library folder, with the prompts it was written for.

    `retrieve` and `generate --retrieve` then find the rubrics nearest to a new prompt.
    """
    built = build_index(library)
    console.print(index_line(built, library))
    for line in skipped_lines(built):
        errors.print(line, highlight=False)


@rubric_app.command(
    epilog='Example: jurist rubric retrieve "Write a haiku about autumn" --library rubrics/ -k 3'
)
@exit_on_error()
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
    rows = retrieved_rows(load_index(library).retrieve(query, k))
    if output_format == "json":
        typer.echo(json.dumps(rows, indent=2))
    else:
        console.print(retrieved_table(library, rows))


def items(
    data: DataArg = None,
    preset: PresetOpt = None,
    limit: LimitOpt = None,
    label_field: Annotated[str | None, typer.Option(help=PREFERENCE_HELP)] = None,
    *,
    columns: FieldMap,
) -> ItemSource:
    """Every column the flags name; the library keeps those a command reads."""
    fields = replace(columns, labels=(label_field,) if label_field else ())
    return ItemSource(data=data, preset=preset, fields=fields, limit=limit)


item_options = option_groups(
    items=option_groups(columns=columns)(items), setup=judge_setup(_JUDGE.setup)
)


generating = settings_options(
    GenerateSettings,
    *("contrastive", "summarise", "reword", "similarity", "min_support", "retrieve_k"),
    *("library", "max_parts", "tries", "keep", "style"),
    retrieve_k=typer.Option("--retrieve"),
    writing={
        "temperature": "Sampling temperature for rubrics.",
        "seed": "Base sampling seed.",
        "max_tokens": typer.Option(min=1, help="Token budget per rubric answer."),
    },
)


@rubric_app.command(
    epilog="Examples: jurist rubric generate --preset hhh --limit 5 -o rubrics/hhh --summarise;  "
    "jurist rubric generate pairs.jsonl --contrastive --label-field winner -o rubrics/pairs;  "
    "jurist rubric generate prompts.jsonl --retrieve 2 --library rubrics/ --style checklist"
)
@exit_on_error()
@item_options
@option_groups(settings=generating)
def generate(
    data: DataArg = None,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Folder for one YAML per item and report.json.")
    ] = Path("rubrics-out"),
    mode: ModeOpt = _JUDGE.setup.mode,  # type: ignore[assignment]
    store: StoreOpt = None,
    *,
    settings: GenerateSettings,
    items: ItemSource,
    setup: JudgeSetup,
) -> None:
    """Write a rubric for each item of DATA with the judge model.

    Rubrics are written from the item's input (and reference), never its response. Every
    answer is validated and linted: small slips are repaired and listed, anything else is
    rejected with the reason; report.json records every item's outcome. The exit code is 1
    when no rubric could be written.
    """
    report = generate_rubrics(
        items,
        JudgeSettings(setup=replace(setup, mode=mode), store=store),
        output,
        settings,
        on_outcome=lambda outcome: console.print(outcome_line(outcome), highlight=False),
    )
    if report.summary is None and settings.summarise:
        errors.print("[yellow]no summary[/]: no usable rubric to summarise")
    console.print(generate_lines(report), highlight=False)
    if report.usable == 0:
        raise typer.Exit(1)


refining = settings_options(
    RefineSettings,
    *("depth", "min_std", "max_tie_rate", "min_pairs", "agreement", "redundancy"),
    *("text_redundancy", "embeddings", "prune"),
    ties_shown=typer.Option("--samples"),
    splitting={"temperature": "Sampling temperature for splits.", "seed": "Base sampling seed."},
)


@rubric_app.command(
    epilog="Examples: jurist rubric refine rubric.yaml answers.jsonl -o refined.yaml;  "
    "jurist rubric refine rubric.yaml --preset hhh --limit 20 --depth 2 -o refined.yaml"
)
@exit_on_error()
@item_options
@option_groups(settings=refining)
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
    store: StoreOpt = None,
    *,
    settings: RefineSettings,
    items: ItemSource,
    setup: JudgeSetup,
) -> None:
    """Refine RUBRIC by grading DATA with it.

    Criteria whose scores barely vary are split into finer sub-criteria (up to --depth
    rounds); then criteria that side with the rejected response of labelled pairs, or
    repeat another criterion (by wording or by scores), are dropped, and the rest are
    re-weighted so that correlated criteria do not count one quality twice. Prints and
    saves what was split, dropped and re-weighted, and why.
    """
    run = refine_with_data(
        rubric_path,
        items,
        JudgeSettings(setup=setup, store=store),
        settings,
        output=output,
        report_path=report_path,
    )
    console.print(refine_lines(run), highlight=False)
