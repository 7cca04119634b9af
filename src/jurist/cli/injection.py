"""`jurist injection`: how far prompt injection moves the judge, and how much the defence
takes back. Thin: options in, one library call, the report out."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated

import typer

from jurist.cli.options import (
    DataArg,
    FormatOpt,
    IdFieldOpt,
    LabelFieldsOpt,
    LimitOpt,
    PresetOpt,
    RubricArg,
    StoreOpt,
    judge_setup,
    option_groups,
    settings_options,
)
from jurist.cli.output import exit_on_error, show
from jurist.datasets import ItemSource
from jurist.injection import InjectionSettings, injection_audit
from jurist.session import JudgeSetup
from jurist.store import Store

_ATTACK = typer.Option("--attack")


@exit_on_error()
@option_groups(
    setup=judge_setup(JudgeSetup()),
    settings=settings_options(InjectionSettings, "criterion", "mode", "defend", attacks=_ATTACK),
)
def injection(
    rubric: RubricArg,
    data: DataArg = None,
    preset: PresetOpt = None,
    limit: LimitOpt = None,
    store: StoreOpt = None,
    id_field: IdFieldOpt = None,
    label_field: LabelFieldsOpt = None,
    output_format: FormatOpt = "table",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Also write the report as JSON here.")
    ] = None,
    *,
    setup: JudgeSetup,
    settings: InjectionSettings,
) -> None:
    """Grade items clean and with injected text (instructions to the judge, fake answers,
    fence escapes, claimed rubric changes) and report the score shift per attack.

    Every grade is cached, so a re-run makes no model calls.
    """
    labels = label_field or ()
    source = ItemSource.for_mode(
        settings.mode, data=data, preset=preset, limit=limit, id=id_field, labels=labels
    )
    with Store(store) as db:
        report = injection_audit(
            rubric,
            source,
            setup.judge,
            db,
            setup=setup,
            **asdict(replace(settings, attacks=settings.attacks or None)),
        )
    if output is not None:
        output.write_text(report.to_json() + "\n", encoding="utf-8")
    show(report, output_format == "json")
