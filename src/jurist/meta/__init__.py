"""Meta-evaluation: how far a judge is from people, which biases it shows, and how models
compare once it has graded them.

`Results` joins judgments (from a results file, an output folder or a run id) with human
labels; `agreement_report`, `bias_report` and `model_report` return typed reports that
render themselves (`report.render()`) and export as JSON (`report.model_dump_json()`);
`run_agreement`, `run_audit` and `run_compare` do what the CLI commands do; `run_retest`
compares two runs of the same items (test-retest agreement). A run labelled on a sample
gets its mean by prediction-powered inference (`ppi_mean`, `criterion_ppi`), and
`criterion_escalation` / `pair_escalation` say where the judge should hand verdicts on.
Every figure carries its n, and items that failed or could not be parsed are counted and
left out, never filled in: an imputed score would look like agreement.

Modules here are public unless their name starts with `_`; a `_name`, module or
symbol, is never imported from outside this package (tests included).
"""

from jurist.core.judgment import VERDICTS
from jurist.meta.agreement import agreement_report, confusion_on_scale, meta_report
from jurist.meta.agreement_report import (
    AgreementReport,
    CriterionAgreement,
    PairAgreement,
    ScoreAgreement,
)
from jurist.meta.audit import audit_report, bias_report
from jurist.meta.audit_report import AuditReport, CriterionAudit, PairAudit
from jurist.meta.compare import compare_report, model_report
from jurist.meta.compare_report import CompareReport, ModelComparison, PairComparison
from jurist.meta.errors import MetaInputError
from jurist.meta.escalate import EscalationBlock, criterion_escalation, pair_escalation
from jurist.meta.figures import Figure
from jurist.meta.join import (
    CriterionData,
    PairData,
    Results,
    ScoreKind,
    criterion_data,
    majority_verdict,
    normalise_verdict,
)
from jurist.meta.load import Labels, LoadedResults, load_results, read_labels, read_results
from jurist.meta.options import (
    Inputs,
    PlotOptions,
    Settings,
    parse_mapping,
    parse_scale,
    rubric_scales,
)
from jurist.meta.ppi import PPIBlock, PPIFigures, criterion_ppi, ppi_mean
from jurist.meta.report_plots import agreement_plots, audit_plots, compare_plots
from jurist.meta.retest import RetestCriterion, RetestReport, retest_report, run_retest
from jurist.meta.run import (
    AgreementParams,
    AuditParams,
    CompareParams,
    run_agreement,
    run_audit,
    run_compare,
    run_meta,
)

__all__ = [
    "VERDICTS",
    "AgreementParams",
    "AgreementReport",
    "AuditParams",
    "AuditReport",
    "CompareParams",
    "CompareReport",
    "CriterionAgreement",
    "CriterionAudit",
    "CriterionData",
    "EscalationBlock",
    "Figure",
    "Inputs",
    "Labels",
    "LoadedResults",
    "MetaInputError",
    "ModelComparison",
    "PPIBlock",
    "PPIFigures",
    "PairAgreement",
    "PairAudit",
    "PairComparison",
    "PairData",
    "PlotOptions",
    "Results",
    "RetestCriterion",
    "RetestReport",
    "ScoreAgreement",
    "ScoreKind",
    "Settings",
    "agreement_plots",
    "agreement_report",
    "audit_plots",
    "audit_report",
    "bias_report",
    "compare_plots",
    "compare_report",
    "confusion_on_scale",
    "criterion_data",
    "criterion_escalation",
    "criterion_ppi",
    "load_results",
    "majority_verdict",
    "meta_report",
    "model_report",
    "normalise_verdict",
    "pair_escalation",
    "parse_mapping",
    "parse_scale",
    "ppi_mean",
    "read_labels",
    "read_results",
    "retest_report",
    "rubric_scales",
    "run_agreement",
    "run_audit",
    "run_compare",
    "run_meta",
    "run_retest",
]
