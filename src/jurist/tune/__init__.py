"""Judge profiles: measure, choose and calibrate a judge on the user's own labelled sample.

`tune` grades the sample under candidate readings (rationale placement, layout, samples),
chooses each criterion's estimator and calibration by nested grouped cross-validation, and
fits a `Profile`: how to ask the judge, how to read and calibrate its answers, and
split-conformal intervals for each criterion. `jurist grade --profile` applies one.
Given people's overall score it also chooses the criterion weights of the overall score,
and given several judges, between each judge alone and juries of them (`combine`).

Modules here are public unless their name starts with `_`; a `_name`, module or
symbol, is never imported from outside this package (tests included).
"""

from jurist.grading import register_profile_reader
from jurist.tune.agreement import Agreement, Resamples, agreement_reps, summarise
from jurist.tune.builtin import builtin_names, fit_general, read_profile, resolve_profile
from jurist.tune.calibration import Calibration, fit_calibration
from jurist.tune.candidates import Candidate, Cost, Reading, candidates, readings
from jurist.tune.conformal import Conformal, conformal_quantile, coverage_of, fit_conformal
from jurist.tune.cv import Choice, Sample, choose, fit_choice, group_folds, nested_cv
from jurist.tune.pairwise import PairwiseChoice, PairwiseReport, tune_pairwise
from jurist.tune.profile import CriterionProfile, Profile, Provenance, load_profile
from jurist.tune.settings import TuneSettings
from jurist.tune.tune import Tuned, TuneReport, atune, profile_for_grading, tune, tune_job

__all__ = [
    "Agreement",
    "Calibration",
    "Candidate",
    "Choice",
    "Conformal",
    "Cost",
    "CriterionProfile",
    "PairwiseChoice",
    "PairwiseReport",
    "Profile",
    "Provenance",
    "Reading",
    "Resamples",
    "Sample",
    "TuneReport",
    "TuneSettings",
    "Tuned",
    "agreement_reps",
    "atune",
    "builtin_names",
    "candidates",
    "choose",
    "conformal_quantile",
    "coverage_of",
    "fit_calibration",
    "fit_choice",
    "fit_conformal",
    "fit_general",
    "group_folds",
    "load_profile",
    "nested_cv",
    "profile_for_grading",
    "read_profile",
    "readings",
    "resolve_profile",
    "summarise",
    "tune",
    "tune_job",
    "tune_pairwise",
]

# `jurist grade --profile` reads profiles with this package's reader (and
# `jurist.tune.builtin` decides, on import, which profile a plain `grade` uses).
register_profile_reader(profile_for_grading)
