"""`jurist tune`: choose and calibrate a judge on a labelled sample, save its profile."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jurist.cli.options import (
    DataArg,
    LimitOpt,
    PresetOpt,
    StoreOpt,
    dataclass_options,
    field_help,
    option_groups,
)
from jurist.cli.output import console, errors, exit_on_error
from jurist.session import JudgeSetup
from jurist.tune import TuneSettings, tune_job

_JUDGES = f"{field_help(JudgeSetup, 'judge')}; repeat it to try juries of them"


@exit_on_error()
@option_groups(settings=dataclass_options(TuneSettings))
def tune(
    rubric: Annotated[Path | None, typer.Argument(help="Rubric YAML file.")] = None,
    data: DataArg = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Profile.")] = Path("profile.yaml"),
    judge: Annotated[list[str] | None, typer.Option(help=_JUDGES)] = None,
    preset: PresetOpt = None,
    limit: LimitOpt = None,
    store: StoreOpt = None,
    *,
    settings: TuneSettings,
) -> None:
    """Grade a labelled sample under candidate readings, choose by nested grouped CV and
    write the profile (`jurist grade --profile` applies it)."""
    shown = lambda r: errors.print(f"grading under {r.name}", highlight=False)  # noqa: E731
    report = tune_job(rubric, data, output=output, preset=preset, judge=judge, limit=limit,
                      store=store, on_reading=shown, settings=settings)  # fmt: skip
    console.print(*report.render(), sep="\n")
