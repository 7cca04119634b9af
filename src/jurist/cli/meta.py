"""`jurist meta`, `jurist audit` and `jurist compare`: judge-vs-human agreement, judge
biases, and model comparison. Thin: options in, one library call, the report out.

The three commands read results and labels the same way, so those options are declared
once, as the builders of the library's `Inputs`, `Settings` and `PlotOptions`; each
command declares only its own options and names the one library function it calls.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from pydantic import BaseModel

from jurist.cli.options import FormatOpt, StoreOpt, field_option, option_groups, settings_options
from jurist.cli.output import exit_on_error, show
from jurist.meta import (
    Inputs,
    PlotOptions,
    Settings,
    parse_mapping,
    parse_scale,
    run_audit,
    run_compare,
    run_meta,
)

ByOpt = Annotated[
    str | None, typer.Option(help="Break down by a metadata field (scenario, bias, ...).")
]
PromptOpt = Annotated[
    str | None,
    typer.Option(help="Metadata field of the prompt: pairs responses, clusters SEs, tie rates."),
]
AlphaOpt = Annotated[float, typer.Option(min=0.0001, max=0.5, help="Significance level.")]
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


def _analysis(library: Callable[..., BaseModel]) -> Callable[[Callable[..., None]], Any]:
    """A command from a function that only declares its own options (its docstring is the
    help): it takes the shared options too, calls `library` and prints the report."""

    def decorate(declaration: Callable[..., None]) -> Any:
        own = list(inspect.signature(declaration, eval_str=True).parameters.values())

        def command(output_format: str, **options: Any) -> None:
            show(library(**options), output_format == "json")

        command.__signature__ = inspect.Signature([*own, *_SHARED])  # type: ignore[attr-defined]
        command.__name__, command.__doc__ = declaration.__name__, declaration.__doc__
        return exit_on_error()(
            option_groups(inputs=inputs, settings=settings, plots=plots)(command)
        )

    return decorate


def _meta(results: str, **options: Any) -> BaseModel:
    """`run_meta`: RESULTS is declared by the command only to come before RETEST."""
    return run_meta(**options)


@_analysis(_meta)
def meta(
    results: ResultsArg,
    retest: RetestArg = None,
    by: ByOpt = None,
    within: Annotated[
        str | None,
        typer.Option(
            help="White-box estimators: metadata field (e.g. doc_id) to rank within and "
            "resample by (default: each item alone)."
        ),
    ] = None,
    pass_threshold: Annotated[float | None, typer.Option(help="PPI: also the pass rate.")] = None,
    escalate_target: Annotated[
        float | None, typer.Option(help="Confidence threshold keeping this agreement (α 0.1).")
    ] = None,
) -> None:
    """How far the judge is from human labels: correlations, agreement, kappa and alpha
    for scores (parsed and expected side by side), accuracy and consistency for pairs.
    Labels on a sample: the run's mean by PPI++ beside labels-only and judge-only.

    Results of a white-box (hf:) judge also get every estimator side by side (parsed,
    expected, LAGER, learned head) with CIs and paired differences from expected.
    Every figure states its n; failed and unparseable items are counted and left out.
    Given two runs of the same items and judge, it reports their test-retest agreement.
    """


@_analysis(run_audit)
def audit(
    by: ByOpt = None,
    judge_family: Annotated[
        str | None, typer.Option(help="The judge's model family, matched inside model names.")
    ] = None,
    model_field: Annotated[
        str | None,
        typer.Option(help="Metadata field naming the response's model (pairs: FIELD_a/_b)."),
    ] = None,
    prompt_field: PromptOpt = None,
    alpha: AlphaOpt = 0.05,
) -> None:
    """Judge biases: position (first-slot and flip rates), verbosity (raw and with the
    human label held fixed), self-preference, and how the scale is used."""


@_analysis(run_compare)
def compare(
    by: Annotated[
        str, typer.Option(help="Metadata field naming the model (pairs: FIELD_a / FIELD_b).")
    ] = "model",
    prompt_field: PromptOpt = None,
    baseline: Annotated[str | None, typer.Option(help="Compare every model with this one.")] = None,
    all_pairs: Annotated[
        bool, typer.Option(help="Compare every pair of models (default: ranking neighbours).")
    ] = False,
    score: Annotated[
        Literal["parsed", "expected"], typer.Option(help="parsed | expected")
    ] = "parsed",
    model_a_field: Annotated[
        str | None, typer.Option(help="Pairs: metadata field of model A.")
    ] = None,
    model_b_field: Annotated[
        str | None, typer.Option(help="Pairs: metadata field of model B.")
    ] = None,
    alpha: AlphaOpt = 0.05,
) -> None:
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
