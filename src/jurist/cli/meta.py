"""`jurist meta`, `jurist audit` and `jurist compare`: judge-vs-human agreement, judge
biases, and model comparison. Thin: options in, one library call, the report out.

The three commands read results and labels the same way, so those options are declared
once, as the builders of the library's `Inputs`, `Settings` and `PlotOptions`; each
command declares only its own options and names the one library function it calls.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pydantic import BaseModel

from jurist.cli.options import (
    FormatOpt,
    StoreOpt,
    dataclass_options,
    field_option,
    option_groups,
    settings_options,
)
from jurist.cli.output import exit_on_error, show
from jurist.meta import (
    AgreementParams,
    AuditParams,
    CompareParams,
    Inputs,
    PlotOptions,
    Settings,
    parse_mapping,
    parse_scale,
    run_audit,
    run_compare,
    run_meta,
)

ResultsArg = Annotated[
    str,
    typer.Argument(
        help="results.jsonl, the folder `jurist grade -o` wrote, or a run id in the store."
    ),
]
RetestArg = Annotated[
    str | None,
    typer.Argument(
        help="A second run of the same items and judge (file, folder or run id): report "
        "test-retest agreement between the two runs instead."
    ),
]


def inputs(
    results: ResultsArg,
    labels: Annotated[Path | None, field_option(Inputs, "labels")] = None,
    label_id_field: Annotated[str, field_option(Inputs, "label_id_field")] = "id",
    label_field: Annotated[list[str] | None, field_option(Inputs, "label_fields")] = None,
    annotator_field: Annotated[str | None, field_option(Inputs, "annotator_field")] = None,
    mapping: Annotated[list[str] | None, field_option(Inputs, "mapping", "--map")] = None,
    scale: Annotated[str | None, field_option(Inputs, "scale")] = None,
    rubric: Annotated[Path | None, field_option(Inputs, "rubric")] = None,
    store: StoreOpt = None,
) -> Inputs:
    """Where the judgments are and the labels they are measured against."""
    return Inputs(
        results=results,
        store=store,
        labels=labels,
        label_id_field=label_id_field,
        label_fields=tuple(label_field or ()),
        annotator_field=annotator_field,
        mapping=parse_mapping(mapping),
        scale=parse_scale(scale),
        rubric=rubric,
    )


# The bootstrap every figure of the report uses.
settings = settings_options(Settings, "seed", n_resamples=typer.Option("--resamples"))


def plots(
    plots: Annotated[Path | None, typer.Option(help="Write figures to this folder.")] = None,
    plot_format: Annotated[Literal["png", "svg"], typer.Option(help="png | svg")] = "png",
) -> PlotOptions | None:
    return None if plots is None else PlotOptions(plots, plot_format)


# What every analysis takes besides its own options: the output format, then the groups.
_SHARED = [
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind)
    for name, kind, default in (
        ("output_format", FormatOpt, "table"),
        ("inputs", Inputs, inspect.Parameter.empty),
        ("settings", Settings, inspect.Parameter.empty),
        ("plots", PlotOptions | None, inspect.Parameter.empty),
    )
]


def _analysis(
    library: Callable[..., BaseModel], params: type[Any]
) -> Callable[[Callable[..., None]], Any]:
    """A command from a function that declares only its arguments (its docstring is the
    help): it takes `params`' fields and the shared options too, calls `library` and
    prints the report."""

    def decorate(declaration: Callable[..., None]) -> Any:
        own = list(inspect.signature(declaration, eval_str=True).parameters.values())

        def command(output_format: str, params: Any, **options: Any) -> None:
            show(library(**asdict(params), **options), output_format == "json")

        command.__signature__ = inspect.Signature([*own, *_SHARED])  # type: ignore[attr-defined]
        command.__name__, command.__doc__ = declaration.__name__, declaration.__doc__
        own_params = dataclass_options(params)
        groups = option_groups(params=own_params, inputs=inputs, settings=settings, plots=plots)
        return exit_on_error()(groups(command))

    return decorate


def _meta(results: str, **options: Any) -> BaseModel:
    """`run_meta`: RESULTS is declared by the command only to come before RETEST."""
    return run_meta(**options)


@_analysis(_meta, AgreementParams)
def meta(results: ResultsArg, retest: RetestArg = None) -> None:
    """How far the judge is from human labels: correlations, agreement, kappa and alpha
    for scores (parsed and expected side by side), accuracy and consistency for pairs.
    Labels on a sample: the run's mean by PPI++ beside labels-only and judge-only.

    Results of a white-box (hf:) judge also get every estimator side by side (parsed,
    expected, LAGER, learned head) with CIs and paired differences from expected.
    Every figure states its n; failed and unparseable items are counted and left out.
    Given two runs of the same items and judge, it reports their test-retest agreement.
    """


@_analysis(run_audit, AuditParams)
def audit() -> None:
    """Judge biases: position (first-slot and flip rates), verbosity (raw and with the
    human label held fixed), self-preference, and how the scale is used."""


@_analysis(run_compare, CompareParams)
def compare() -> None:
    """Compare models under the judge: per-model means with prompt-clustered SEs and
    paired differences, or Bradley-Terry ratings, win rates and length-controlled win
    rates for pairs; says in words when a difference is not significant."""


def register(app: typer.Typer) -> None:
    """Add meta, audit and compare to the `jurist` app (once)."""
    names = {
        c.name or (c.callback.__name__ if c.callback else None) for c in app.registered_commands
    }
    if "meta" in names:
        return
    app.command(epilog="Example: jurist meta out/ --by scenario --plots out/plots")(meta)
    app.command(epilog="Example: jurist audit out/results.jsonl --by bias")(audit)
    app.command(epilog="Example: jurist compare RUN_ID --by system_id --prompt-field doc_id")(
        compare
    )
