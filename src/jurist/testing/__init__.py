"""Grading inside test suites and CI: judged assertions, statistical assertions over many
cases, data-file parametrization, suite files (`jurist run`) and the regression gate.

The pytest plugin itself is `jurist.testing.plugin` (loaded through the `pytest11` entry
point); nothing here needs pytest until a test uses it.

Modules here are public unless their name starts with `_`; a `_name`, module or symbol, is
never imported from outside this package (tests included).
"""

from jurist.testing.assertions import (
    active_judge,
    assert_judged,
    assert_preferred,
    assert_rate,
    use_judge,
)
from jurist.testing.cases import cases
from jurist.testing.gate import GateSettings, JudgeMismatch, Run, gate, load_run
from jurist.testing.gate_report import GateReport, GateRow
from jurist.testing.judge import JuristJudge
from jurist.testing.judged import JudgedCase
from jurist.testing.outcomes import SuiteOutcome, SuitesReport, ThresholdCheck
from jurist.testing.rates import RateDecision, cases_to_decide, decide_rate
from jurist.testing.sequential import gate_sequential
from jurist.testing.settings import PluginSettings, read_settings
from jurist.testing.suites import SuiteFile, SuiteSpec, load_suite_file, run_suites

__all__ = [
    "GateReport",
    "GateRow",
    "GateSettings",
    "JudgeMismatch",
    "JudgedCase",
    "JuristJudge",
    "PluginSettings",
    "RateDecision",
    "Run",
    "SuiteFile",
    "SuiteOutcome",
    "SuiteSpec",
    "SuitesReport",
    "ThresholdCheck",
    "active_judge",
    "assert_judged",
    "assert_preferred",
    "assert_rate",
    "cases",
    "cases_to_decide",
    "decide_rate",
    "gate",
    "gate_sequential",
    "load_run",
    "load_suite_file",
    "read_settings",
    "run_suites",
    "use_judge",
]
