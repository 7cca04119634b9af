"""Juries of judges: several jurors grade every item, their scores are combined per
criterion, their agreement with each other is measured, split items are flagged for human
review, and a cascade asks an expensive juror only where a cheap one is unsure.

Modules here are public unless their name starts with `_`; a `_name`, module or symbol, is
never imported from outside this package (tests included).
"""

from jurist.jury.aggregation import METHODS, Method, aggregate, majority, spread
from jurist.jury.agreement import JuryTally, inter_juror_alpha, is_jury_judgment, tally
from jurist.jury.cascade import CascadeOutcome, calibrate_thresholds, evaluate_cascade, route
from jurist.jury.combine import JuryRule, cascade_judgment, combine_judgments, confidence
from jurist.jury.panel import JuryPanel, Seat, jury_spec
from jurist.jury.render import jury_lines
from jurist.jury.spec import AGGREGATES, Juror, JurySpec, jury_from_judges, load_jury
from jurist.jury.weights import load_weights, weights_from_report

__all__ = [
    "AGGREGATES",
    "METHODS",
    "CascadeOutcome",
    "Juror",
    "JuryPanel",
    "JuryRule",
    "JurySpec",
    "JuryTally",
    "Method",
    "Seat",
    "aggregate",
    "calibrate_thresholds",
    "cascade_judgment",
    "combine_judgments",
    "confidence",
    "evaluate_cascade",
    "inter_juror_alpha",
    "is_jury_judgment",
    "jury_from_judges",
    "jury_lines",
    "jury_spec",
    "load_jury",
    "load_weights",
    "majority",
    "route",
    "spread",
    "tally",
    "weights_from_report",
]
