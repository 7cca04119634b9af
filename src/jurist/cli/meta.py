"""`jurist meta`, `jurist audit` and `jurist compare`: judge-vs-human agreement, judge
biases, and model comparison. Thin: options in, one library call, the report out.

The three commands read results and labels the same way, so those options are declared
once (`_SHARED`); each command declares only its own options and names the one library
function it calls (`_analysis`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from jurist.cli.output import console, errors
from jurist.core.errors import JuristError
from jurist.meta import (
    AgreementReport,
    AuditReport,
    CompareReport,
    Inputs,
    PlotOptions,
    Settings,
    parse_mapping,
    parse_scale,
    run_agreement,
    run_audit,
    run_compare,
)

Report = AgreementReport | AuditReport | CompareReport
ByOpt = Annotated[
    str | None, typer.Option(help="Break down by a metadata field (scenario, bias, ...).")
]
PromptOpt = Annotated[
    str | None,
    typer.Option(help="Metadata field of the prompt: pairs responses, clusters SEs, tie rates."),
]
AlphaOpt = Annotated[float, typer.Option(min=0.0001, max=0.5, help="Significance level.")]
_KEYWORD = inspect.Parameter.KEYWORD_ONLY


def _option(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    return inspect.Parameter(name, _KEYWORD, default=default, annotation=annotation)


_RESULTS = inspect.Parameter(
    "results",
    inspect.Parameter.POSITIONAL_OR_KEYWORD,
    annotation=Annotated[
        str,
        typer.Argument(
            help="results.jsonl, the folder `jurist grade -o` wrote, or a run id in the store."
        ),
    ],
)
_SHARED = (
    _option(
        "labels",
        Annotated[
            Path | None,
            typer.Option(
                "--labels",
                help="JSONL / JSON / CSV / TSV of human labels joined by id "
                "(default: the labels carried in the results).",
            ),
        ],
        None,
    ),
    _option(
        "label_id_field", Annotated[str, typer.Option(help="Id column of the labels file.")], "id"
    ),
    _option(
        "label_field",
        Annotated[
            list[str] | None,
            typer.Option(
                help="Label field(s) to use; for pairs, the preference field (A / B / tie)."
            ),
        ],
        None,
    ),
    _option(
        "annotator_field",
        Annotated[
            str | None, typer.Option(help="Labels-file column naming the annotator of each row.")
        ],
        None,
    ),
    _option(
        "mapping",
        Annotated[
            list[str] | None,
            typer.Option("--map", help="criterion=labelfield, when the names differ (repeatable)."),
        ],
        None,
    ),
    _option(
        "scale",
        Annotated[
            str | None, typer.Option(help="Scale points for every criterion: '1-5' or '0,1,2,3'.")
        ],
        None,
    ),
    _option(
        "rubric",
        Annotated[
            Path | None, typer.Option(help="Rubric YAML to take each criterion's scale from.")
        ],
        None,
    ),
    _option("seed", Annotated[int, typer.Option(help="Bootstrap seed.")], 0),
    _option("resamples", Annotated[int, typer.Option(min=100, help="Bootstrap resamples.")], 1000),
    _option(
        "output_format",
        Annotated[Literal["table", "json"], typer.Option("--format", help="table | json")],
        "table",
    ),
    _option(
        "plots", Annotated[Path | None, typer.Option(help="Write figures to this folder.")], None
    ),
    _option("plot_format", Annotated[Literal["png", "svg"], typer.Option(help="png | svg")], "png"),
    _option(
        "store",
        Annotated[
            Path | None,
            typer.Option(help="SQLite store to look run ids up in (default: the one grade uses)."),
        ],
        None,
    ),
)


def _show(build: Callable[[], Report], output_format: str) -> None:
    """Print the report (table or JSON); bad input is one red line and its exit code."""
    try:
        report = build()
    except (JuristError, ValueError) as error:
        errors.print(f"[red]error:[/] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(getattr(error, "exit_code", 2)) from None
    if output_format == "json":
        typer.echo(report.model_dump_json(indent=2))
    else:
        console.print(report.render())


def _inputs(shared: dict[str, Any]) -> Inputs:
    return Inputs(
        results=shared["results"],
        store=shared["store"],
        labels=shared["labels"],
        label_id_field=shared["label_id_field"],
        label_fields=tuple(shared["label_field"] or ()),
        annotator_field=shared["annotator_field"],
        mapping=parse_mapping(shared["mapping"]),
        scale=parse_scale(shared["scale"]),
        rubric=shared["rubric"],
    )


def _analysis(library: Callable[..., Report]) -> Callable[[Callable[..., None]], Any]:
    """Turn a function that only declares a command's own options (its docstring is the
    help) into a Typer command that also takes the shared ones and calls `library`."""

    def decorate(declaration: Callable[..., None]) -> Callable[..., None]:
        own = [
            p.replace(kind=_KEYWORD)
            for p in inspect.signature(declaration, eval_str=True).parameters.values()
        ]
        shared_names = {_RESULTS.name, *(p.name for p in _SHARED)}

        def command(**options: Any) -> None:
            shared = {k: options.pop(k) for k in shared_names}
            folder = shared["plots"]
            _show(
                lambda: library(
                    inputs=_inputs(shared),
                    settings=Settings(n_resamples=shared["resamples"], seed=shared["seed"]),
                    plots=None if folder is None else PlotOptions(folder, shared["plot_format"]),
                    **options,
                ),
                shared["output_format"],
            )

        parameters = [_RESULTS, *own, *_SHARED]
        command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in parameters}
        command.__name__ = declaration.__name__
        command.__doc__ = declaration.__doc__
        return command

    return decorate


@_analysis(run_agreement)
def meta(
    by: ByOpt = None,
    within: Annotated[
        str | None,
        typer.Option(
            help="White-box estimators: metadata field (e.g. doc_id) to rank within and "
            "resample by (default: each item alone)."
        ),
    ] = None,
) -> None:
    """How far the judge is from human labels: correlations, agreement, kappa and alpha
    for scores (parsed and expected side by side), accuracy and consistency for pairs.

    Results of a white-box (hf:) judge also get every estimator side by side (parsed,
    expected, LAGER, learned head) with CIs and paired differences from expected.
    Every figure states its n; failed and unparseable items are counted and left out.
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
