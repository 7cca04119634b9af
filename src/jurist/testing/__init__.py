"""Grading inside test suites and CI: judged assertions, statistical assertions over many
cases, data-file parametrization, suite files (`jurist run`) and the regression gate.

The pytest plugin itself is `jurist.testing.plugin` (loaded through the `pytest11` entry
point); nothing here needs pytest until a test uses it.
"""

from jurist.testing.assertions import (
    active_judge,
    assert_judged,
    assert_preferred,
    assert_rate,
    use_judge,
)
from jurist.testing.cases import cases
from jurist.testing.judge import JuristJudge
from jurist.testing.judged import JudgedCase
from jurist.testing.rates import RateDecision, cases_to_decide, decide_rate
from jurist.testing.settings import PluginSettings, read_settings

__all__ = [
    "JudgedCase",
    "JuristJudge",
    "PluginSettings",
    "RateDecision",
    "active_judge",
    "assert_judged",
    "assert_preferred",
    "assert_rate",
    "cases",
    "cases_to_decide",
    "decide_rate",
    "read_settings",
    "use_judge",
]
