"""Load, measure, draw: what `jurist meta`, `jurist audit` and `jurist compare` do, as one
call each for any caller. Options beyond the inputs are those of the report functions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypedDict, TypeVar, Unpack

from jurist.meta.agreement import agreement_report
from jurist.meta.agreement_report import AgreementReport
from jurist.meta.audit import bias_report
from jurist.meta.audit_report import AuditReport
from jurist.meta.compare import model_report
from jurist.meta.compare_report import CompareReport
from jurist.meta.escalate import criterion_escalation, pair_escalation
from jurist.meta.intervals import criterion_intervals
from jurist.meta.join import CriterionData, Results, ScoreKind, inputs_criteria
from jurist.meta.options import Inputs, PlotOptions, Settings, rubric_scales
from jurist.meta.ppi import criterion_ppi
from jurist.meta.report_plots import agreement_plots, audit_plots, compare_plots
from jurist.meta.retest import RetestReport, run_retest

R = TypeVar("R", AgreementReport, AuditReport, CompareReport)


class AgreementOptions(TypedDict, total=False):
    by: str | None
    within: str | None
    settings: Settings | None
    pass_threshold: float | None
    escalate_target: float | None
    escalate_alpha: float
    review_width: float | None


# Options of the sections added to an agreement report after it is built.
_RUN_ESTIMATES = ("pass_threshold", "escalate_target", "escalate_alpha", "review_width")


class AuditOptions(TypedDict, total=False):
    by: str | None
    judge_family: str | None
    model_field: str | None
    prompt_field: str | None
    alpha: float
    settings: Settings | None


class CompareOptions(TypedDict, total=False):
    by: str
    prompt_field: str | None
    baseline: str | None
    all_pairs: bool
    score: ScoreKind
    model_a_field: str | None
    model_b_field: str | None
    alpha: float
    settings: Settings | None


# The same options of `run_meta`, `run_audit` and `run_compare` as documented values, for
# callers (the command line among them) that build them from their fields.
_BY = "Break down by a metadata field (scenario, bias, ...)."
_PROMPT = "Metadata field of the prompt: pairs responses, clusters SEs, tie rates."


def _documented(default: Any, text: str, **bounds: float) -> Any:
    return field(default=default, metadata={"help": text, **bounds})


def _alpha() -> Any:
    return _documented(0.05, "Significance level.", min=0.0001, max=0.5)


@dataclass(frozen=True)
class AgreementParams:
    """The options of `run_meta` a caller sets beside the inputs."""

    by: str | None = _documented(None, _BY)
    within: str | None = _documented(
        None,
        "White-box estimators: metadata field (e.g. doc_id) to rank within and resample by "
        "(default: each item alone).",
    )
    pass_threshold: float | None = _documented(None, "PPI: also the pass rate.")
    escalate_target: float | None = _documented(
        None, "Confidence threshold keeping this agreement (α 0.1)."
    )
    review_width: float | None = _documented(
        None, "Profiled runs: list items whose interval is wider than this.", min=0.0
    )


@dataclass(frozen=True)
class AuditParams:
    """The options of `run_audit` a caller sets beside the inputs."""

    by: str | None = _documented(None, _BY)
    judge_family: str | None = _documented(
        None, "The judge's model family, matched inside model names."
    )
    model_field: str | None = _documented(
        None, "Metadata field naming the response's model (pairs: FIELD_a/_b)."
    )
    prompt_field: str | None = _documented(None, _PROMPT)
    alpha: float = _alpha()


@dataclass(frozen=True)
class CompareParams:
    """The options of `run_compare` a caller sets beside the inputs."""

    by: str = _documented("model", "Metadata field naming the model (pairs: FIELD_a / FIELD_b).")
    prompt_field: str | None = _documented(None, _PROMPT)
    baseline: str | None = _documented(None, "Compare every model with this one.")
    all_pairs: bool = _documented(
        False, "Compare every pair of models (default: ranking neighbours)."
    )
    score: ScoreKind = field(default="parsed", metadata={"help": "parsed | expected"})
    model_a_field: str | None = _documented(None, "Pairs: metadata field of model A.")
    model_b_field: str | None = _documented(None, "Pairs: metadata field of model B.")
    alpha: float = _alpha()


def _joining(inputs: Inputs) -> dict[str, Any]:
    """How criteria meet label fields and scales, as every report function takes it."""
    return {
        "mapping": inputs.mapping,
        "scale": inputs.scale,
        "scales": rubric_scales(inputs.rubric) if inputs.rubric else None,
        "label_fields": inputs.label_fields,
    }


def _measured(
    inputs: Inputs,
    plots: PlotOptions | None,
    build: Callable[..., R],
    draw: Callable[[R, list[CriterionData], PlotOptions], list[Path]],
    options: dict[str, Any],
    *,
    preference: bool = True,
    finish: Callable[[R, Results], R] | None = None,
) -> R:
    """Load the results, build the report, and add its figures when they were asked for.

    With `preference`, the first label field asked for names the pairwise preference;
    `finish` adds what needs the loaded results beside the built report.
    """
    results = Results.open(inputs)
    pairwise = results.mode == "pairwise"
    if preference:
        first = inputs.label_fields[0] if inputs.label_fields else None
        options = {**options, "label_field": first if pairwise else None}
    report = build(results, **_joining(inputs), **options)
    if finish is not None:
        report = finish(report, results)
    if plots is None:
        return report
    criteria = [] if pairwise else inputs_criteria(results, inputs)
    paths = draw(report, criteria, plots)
    return report.model_copy(update={"plots": [str(p) for p in paths]})


def run_agreement(
    inputs: Inputs, *, plots: PlotOptions | None = None, **options: Unpack[AgreementOptions]
) -> AgreementReport:
    """`jurist meta`: how far the judge is from the human labels; with labels on a sample
    of the items, the run-level mean by PPI++ (and the pass rate at `pass_threshold`);
    with `escalate_target`, the confidence threshold that keeps agreement at or above it
    with probability 1 - `escalate_alpha`."""
    own: dict[str, Any] = dict(options)
    added = {k: own.pop(k) for k in _RUN_ESTIMATES if k in own}

    def finish(report: AgreementReport, results: Results) -> AgreementReport:
        return with_run_estimates(report, results, inputs, settings=own.get("settings"), **added)

    return _measured(inputs, plots, agreement_report, agreement_plots, own, finish=finish)


def with_run_estimates(
    report: AgreementReport,
    results: Results,
    inputs: Inputs,
    *,
    settings: Settings | None = None,
    pass_threshold: float | None = None,
    escalate_target: float | None = None,
    escalate_alpha: float = 0.1,
    review_width: float | None = None,
) -> AgreementReport:
    """The agreement report with its PPI figures (criteria labelled on a sample), the
    profile's intervals checked against the labels (with `review_width`, the items wider
    than it) and, with `escalate_target`, its escalation thresholds."""
    if report.pairwise is not None and escalate_target is not None:
        data = results.pairs(report.pairwise.label_field)
        block = pair_escalation(results, data, escalate_target, alpha=escalate_alpha)
        pairwise = report.pairwise.model_copy(update={"escalation": block})
        return report.model_copy(update={"pairwise": pairwise})
    if not report.criteria:
        return report
    confidence = (settings or Settings()).confidence
    criteria = dict(report.criteria)
    for data in inputs_criteria(results, inputs):
        if data.criterion not in criteria:
            continue
        update: dict[str, Any] = {
            "ppi": criterion_ppi(data, pass_threshold=pass_threshold, confidence=confidence),
            "intervals": criterion_intervals(results, data, review_width),
        }
        if escalate_target is not None:
            update["escalation"] = criterion_escalation(
                results, data, escalate_target, alpha=escalate_alpha
            )
        criteria[data.criterion] = criteria[data.criterion].model_copy(update=update)
    return report.model_copy(update={"criteria": criteria})


def run_meta(
    inputs: Inputs,
    *,
    retest: str | Path | None = None,
    plots: PlotOptions | None = None,
    **options: Unpack[AgreementOptions],
) -> AgreementReport | RetestReport:
    """`jurist meta RESULTS [RETEST]`: agreement with the human labels, or, given a second
    run of the same items and judge, the test-retest agreement of the two runs."""
    if retest is None:
        return run_agreement(inputs, plots=plots, **options)
    return run_retest(inputs.results, retest, store=inputs.store, settings=options.get("settings"))


def run_audit(
    inputs: Inputs, *, plots: PlotOptions | None = None, **options: Unpack[AuditOptions]
) -> AuditReport:
    """`jurist audit`: the judge's position, verbosity and self-preference biases."""
    return _measured(inputs, plots, bias_report, audit_plots, dict(options))


def run_compare(
    inputs: Inputs, *, plots: PlotOptions | None = None, **options: Unpack[CompareOptions]
) -> CompareReport:
    """`jurist compare`: models ranked under the judge, with the differences tested.

    Intervals are at 1 - alpha, so they agree with the tests beside them.
    """
    settings = options.get("settings") or Settings()
    alpha = options.get("alpha", 0.05)
    at_alpha = {**options, "settings": replace(settings, confidence=1 - alpha)}
    return _measured(inputs, plots, model_report, compare_plots, at_alpha, preference=False)
