"""`jurist injection`: how far prompt injection moves the judge, and how much the defence
takes back. Thin: options in, one library call, the report out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

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
)
from jurist.cli.output import exit_on_error, show
from jurist.core.data import FieldMap
from jurist.datasets import ItemSource
from jurist.injection import injection_audit
from jurist.session import JudgeSetup
from jurist.store import Store


@exit_on_error()
@option_groups(setup=judge_setup(JudgeSetup()))
def injection(
    rubric: RubricArg,
    data: DataArg = None,
    preset: PresetOpt = None,
    limit: LimitOpt = None,
    criterion: Annotated[
        str | None, typer.Option(help="Pointwise: the criterion to grade (needed if several).")
    ] = None,
    mode: Annotated[
        Literal["pointwise", "pairwise"] | None,
        typer.Option(
            help="pointwise | pairwise (default: pairwise when items have two responses)."
        ),
    ] = None,
    attack: Annotated[
        list[str] | None,
        typer.Option(help="Built-in attack to run (repeatable; default: all of the mode's)."),
    ] = None,
    store: StoreOpt = None,
    defend: Annotated[
        bool, typer.Option(help="Also grade every variant with judge-directed text removed.")
    ] = True,
    id_field: IdFieldOpt = None,
    label_field: LabelFieldsOpt = None,
    output_format: FormatOpt = "table",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Also write the report as JSON here.")
    ] = None,
    *,
    setup: JudgeSetup,
) -> None:
    """Grade items clean and with injected text (instructions to the judge, fake answers,
    fence escapes, claimed rubric changes) and report the score shift per attack.

    Every grade is cached, so a re-run makes no model calls.
    """
    fields = FieldMap(
        id=id_field,
        response_b="response_b" if mode == "pairwise" else None,
        labels=tuple(label_field or ()),
    )
    source = ItemSource(data=data, preset=preset, limit=limit, fields=fields)
    with Store(store) as db:
        report = injection_audit(
            rubric,
            source,
            setup.judge,
            db,
            attacks=attack or None,
            defend=defend,
            criterion=criterion,
            mode=mode,
            setup=setup,
        )
    if output is not None:
        output.write_text(report.to_json() + "\n", encoding="utf-8")
    show(report, output_format == "json")
