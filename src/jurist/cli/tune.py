"""`jurist tune`: choose and calibrate a judge on a labelled sample, save its profile."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jurist.cli.options import DataArg, LimitOpt, PresetOpt, StoreOpt, field_help
from jurist.cli.output import console, errors, exit_on_error
from jurist.session import JudgeSetup
from jurist.tune import tune_job


@exit_on_error()
def tune(
    rubric: Annotated[Path | None, typer.Argument(help="Rubric YAML file.")] = None,
    data: DataArg = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Profile.")] = Path("profile.yaml"),
    label_field: Annotated[
        list[str] | None, typer.Option(help="CRITERION=FIELD holding people's score (repeat).")
    ] = None,
    group_field: Annotated[
        str | None, typer.Option(help="Field grouping items (e.g. doc_id): folds split by it.")
    ] = None,
    judge: Annotated[
        list[str] | None,
        typer.Option(help=f"{field_help(JudgeSetup, 'judge')}; repeat it to try juries of them"),
    ] = None,
    overall_field: Annotated[
        str | None,
        typer.Option(help="Field holding people's overall score: choose criterion weights."),
    ] = None,
    mode: Annotated[
        str | None, typer.Option(help="pointwise or pairwise (default: the preset's).")
    ] = None,
    preset: PresetOpt = None,
    limit: LimitOpt = None,
    rationale: Annotated[
        list[str] | None, typer.Option(help="Rationale placements to try: before|after|none.")
    ] = None,
    coverage: Annotated[float, typer.Option(min=0.5, max=0.99, help="Interval coverage.")] = 0.9,
    budget: Annotated[bool, typer.Option(help="Cheapest reading as good as the best.")] = False,
    store: StoreOpt = None,
) -> None:
    """Grade a labelled sample under candidate readings, choose by nested grouped CV and
    write the profile (`jurist grade --profile` applies it)."""
    report = tune_job(
        rubric, data, output=output, preset=preset, label_fields=label_field or (),
        group_field=group_field, judge=judge, limit=limit, coverage=coverage, budget=budget,
        rationales=rationale or ("before", "none"), store=store,
        on_reading=lambda r: errors.print(f"grading under {r.name}", highlight=False),
        mode=mode, overall_field=overall_field,
    )  # fmt: skip
    for part in report.render():
        console.print(part)
