"""Statistics on plain arrays: judge-human agreement, model comparison, judge biases.

Pure functions, no I/O. Missing values (NaN / None) are dropped and counted, and every
figure carries its n and a 95% interval: Wilson for rates, bootstrap or t otherwise.

Modules here are public unless their name starts with `_`; a `_name`, module or
symbol, is never imported from outside this package (tests included).
"""

from jurist.stats.agreement import (
    AlphaAgreement,
    ConfusionMatrix,
    by_group,
    cohen_kappa,
    exact_agreement,
    judge_alpha,
    kendall,
    krippendorff_alpha,
    mean_absolute_error,
    pairwise_accuracy,
    pairwise_confusion,
    pairwise_kappa,
    pearson,
    position_consistency,
    results_to_dict,
    snap,
    spearman,
    within_one,
)
from jurist.stats.bias import (
    LongerPreference,
    PositionBias,
    ScaleUse,
    SelfPreference,
    VerbosityBias,
    longer_preference,
    partial_spearman,
    position_bias,
    scale_use,
    self_preference,
    verbosity_bias,
)
from jurist.stats.bootstrap import bootstrap_ci, bootstrap_counts, percentile_interval
from jurist.stats.compare import (
    Difference,
    LengthControlled,
    Ratings,
    bradley_terry,
    compare_models,
    length_controlled_win_rate,
    mean_estimate,
    model_means,
    paired_difference,
    verdict_preference,
    win_rates,
)
from jurist.stats.multiple import holm
from jurist.stats.proportion import proportion, proportion_estimate
from jurist.stats.resampling import Resampling
from jurist.stats.results import Estimate

__all__ = [
    "AlphaAgreement",
    "ConfusionMatrix",
    "Difference",
    "Estimate",
    "LengthControlled",
    "LongerPreference",
    "PositionBias",
    "Ratings",
    "Resampling",
    "ScaleUse",
    "SelfPreference",
    "VerbosityBias",
    "bootstrap_ci",
    "bootstrap_counts",
    "bradley_terry",
    "by_group",
    "cohen_kappa",
    "compare_models",
    "exact_agreement",
    "holm",
    "judge_alpha",
    "kendall",
    "krippendorff_alpha",
    "length_controlled_win_rate",
    "longer_preference",
    "mean_absolute_error",
    "mean_estimate",
    "model_means",
    "paired_difference",
    "pairwise_accuracy",
    "pairwise_confusion",
    "pairwise_kappa",
    "partial_spearman",
    "pearson",
    "percentile_interval",
    "position_bias",
    "position_consistency",
    "proportion",
    "proportion_estimate",
    "results_to_dict",
    "scale_use",
    "self_preference",
    "snap",
    "spearman",
    "verbosity_bias",
    "verdict_preference",
    "win_rates",
    "within_one",
]
