"""`jurist calibrate lager|probe RESULTS`: fit a white-box judge's estimators on a graded,
labelled run and save them beside the model. The fit is `jurist tune`'s, which chooses
among estimators by nested CV; these commands fit one of them on a whole run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jurist.cli.options import JsonOpt
from jurist.cli.output import console, exit_on_error

_TUNE = " (`jurist tune` fits both in nested CV and keeps the best in a profile.)"
calibrate_app = typer.Typer(
    help="Fit LAGER layer weights or a learned head for an hf: judge." + _TUNE,
    no_args_is_help=True,
)

ResultsArg = Annotated[Path, typer.Argument(help="results.jsonl (or its folder) of an hf: run.")]
JudgeOpt = Annotated[str, typer.Option(help="The hf judge the run used: embedded or a model path.")]
GroupOpt = Annotated[
    str, typer.Option(help="Item metadata field grouping items for cross-validation.")
]
FoldsOpt = Annotated[int, typer.Option(min=2, help="Grouped cross-validation folds.")]


def _fitting(kind: str, summary: str) -> None:
    """Register the command that fits `kind` (both fits take the same options)."""

    @calibrate_app.command(
        kind, help=summary + _TUNE, epilog=f"Example: jurist calibrate {kind} out/results.jsonl"
    )
    @exit_on_error()
    def fit(
        results: ResultsArg,
        judge: JudgeOpt = "embedded",
        group: GroupOpt = "doc_id",
        folds: FoldsOpt = 5,
    ) -> None:
        from jurist.meta.calibrate import calibrate

        report = calibrate(kind, results, judge=judge, group_field=group, folds=folds)  # type: ignore[arg-type]
        console.print(report.render())


_fitting("lager", "Fit softmax-parameterised layer weights (Adam, cross-entropy + squared error).")
_fitting("probe", "Fit a ridge head on one layer's hidden state, the layer chosen by grouped CV.")


@calibrate_app.command(epilog="Example: jurist calibrate compare out/results.jsonl")
@exit_on_error()
def compare(
    results: ResultsArg,
    group: Annotated[
        str, typer.Option(help="Item metadata field to rank within and resample by.")
    ] = "doc_id",
    as_json: JsonOpt = False,
) -> None:
    """Every estimator side by side (parsed, expected, LAGER, learned head): Spearman with
    the labels, pooled and within group, with CIs and paired differences from expected
    (`jurist meta --within FIELD` shows the same table beside the agreement figures)."""
    from jurist.meta.estimators import estimators_report

    report = estimators_report(results, group_field=group)
    if as_json:
        console.print_json(data=report.to_dict())
    else:
        console.print(report.render())
