"""No settings class re-declares a judge option or a call-policy field: a judge's options
live in `JudgeOptions` and how calls are made in `CallPolicy` / `SamplingOptions`, and
every other settings class composes those instead of copying their fields (a copy
drifts: defaults restated in several places, one of them forgotten)."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil

from pydantic import BaseModel

import jurist
from jurist.backends import CallPolicy, RetryPolicy
from jurist.judges import JudgeOptions, ListwiseOptions
from jurist.judges.answering import SamplingOptions

SUFFIXES = ("Options", "Settings", "Config", "Policy", "Spec")
OWNERS = (JudgeOptions, ListwiseOptions, CallPolicy, SamplingOptions, RetryPolicy)
OWNED = {
    field.name: owner.__name__
    for owner in (JudgeOptions, CallPolicy, SamplingOptions)
    for field in dataclasses.fields(owner)
}
# Fields that only share a name with an owned one, each with why it is not a copy.
ALLOWED = {
    "jurist.backends.registry.BackendSettings.timeout": "the HTTP client's own guard, "
    "derived from CallPolicy.timeout by JudgeSetup (client_timeout), not a second knob",
    "jurist.meta.options.Settings.seed": "the bootstrap's resampling seed, not a judge's "
    "sampling seed",
    "jurist.testing.settings.PluginSettings.concurrency": "the flat `concurrency` key of "
    "the [tool.jurist] table, turned into a CallPolicy by PluginSettings.setup()",
    "jurist.view.report.ReportSettings.seed": "the report's item sample and bootstrap seed, "
    "not a judge's sampling seed",
    "jurist.train.lora.TrainSettings.seed": "the optimiser's seed (adapter initialisation, "
    "data order), not a judge's sampling seed",
    "jurist.train.pairs.SamplingSettings.samples": "judgments kept one by one (one seed "
    "each) to curate pairs, not samples merged by vote (its per_call: SamplingOptions)",
    **{
        f"jurist.tune.settings.TuneSettings.{name}": "the candidate values tune grades under "
        "(a list), each applied to the judge's own options by Reading.setup"
        for name in ("rationale", "layout", "samples")
    },
}


def settings_classes() -> list[type]:
    """Every dataclass or pydantic model defined in jurist whose name ends in a suffix."""
    found: dict[str, type] = {}
    for module in pkgutil.walk_packages(jurist.__path__, "jurist."):
        if module.name.endswith("__main__"):
            continue  # runs the command line
        loaded = importlib.import_module(module.name)
        for name, cls in inspect.getmembers(loaded, inspect.isclass):
            if cls.__module__ != loaded.__name__ or not name.endswith(SUFFIXES):
                continue
            if dataclasses.is_dataclass(cls) or issubclass(cls, BaseModel):
                found[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [found[key] for key in sorted(found)]


def field_names(cls: type) -> list[str]:
    if issubclass(cls, BaseModel):
        return list(cls.model_fields)
    return [field.name for field in dataclasses.fields(cls)]


def redeclared() -> dict[str, str]:
    """`module.Class.field` -> the owner class it copies, for every settings class."""
    return {
        f"{cls.__module__}.{cls.__qualname__}.{name}": OWNED[name]
        for cls in settings_classes()
        if cls not in OWNERS
        for name in field_names(cls)
        if name in OWNED
    }


def test_the_walk_finds_the_settings_classes() -> None:
    names = {cls.__name__ for cls in settings_classes()}
    assert {"GradeConfig", "GenerateSettings", "RefineSettings", "JudgeOptions"} <= names


def test_no_settings_class_redeclares_a_judge_option_or_call_policy_field() -> None:
    copies = {key: owner for key, owner in redeclared().items() if key not in ALLOWED}
    assert not copies, (
        "compose JudgeOptions / CallPolicy / SamplingOptions (or rename a field that "
        f"means something else) instead of re-declaring: {copies}"
    )


def test_every_allowed_exception_is_still_needed() -> None:
    assert not set(ALLOWED) - set(redeclared()), "remove the entries no longer needed"
