"""What one call of a reward function saw: the numbers a training run should watch.

A judge that starts failing, or a criterion that every completion passes (and so teaches
nothing), shows here step by step; the same numbers go to the trainer's metrics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


@dataclass(frozen=True)
class RewardStep:
    """One batch: how many completions, how many the judge could not score, the mean
    reward before and after the length penalty, and each criterion's pass rate."""

    step: int | None
    samples: int
    failed: int
    parse_errors: int
    mean_reward: float | None
    mean_unpenalised: float | None
    mean_penalty: float | None
    pass_rates: dict[str, float] = field(default_factory=dict)
    rewards: tuple[float | None, ...] = ()
    penalties: tuple[float, ...] = ()
    judge_calls: int = 0
    cache_hits: int = 0

    @property
    def failures(self) -> int:
        """Completions without a reward (None): failed calls and unparseable answers."""
        return self.failed + self.parse_errors

    @property
    def failure_rate(self) -> float:
        return self.failures / self.samples if self.samples else 0.0

    def metrics(self, prefix: str) -> dict[str, float]:
        """Scalars for a trainer's log, each named `prefix/...`."""
        found: dict[str, float] = {
            f"{prefix}/judge_failed": float(self.failed),
            f"{prefix}/judge_parse_errors": float(self.parse_errors),
            f"{prefix}/judge_failure_rate": self.failure_rate,
            f"{prefix}/judge_calls": float(self.judge_calls),
            f"{prefix}/judge_cache_hits": float(self.cache_hits),
        }
        if self.mean_penalty is not None:
            found[f"{prefix}/length_penalty"] = self.mean_penalty
            if self.mean_unpenalised is not None:
                found[f"{prefix}/unpenalised"] = self.mean_unpenalised
        for part, rate in self.pass_rates.items():
            found[f"{prefix}/pass_rate/{part}"] = rate
        return {name: value for name, value in found.items() if math.isfinite(value)}


def pass_rates(per_sample: Sequence[dict[str, float]], by_part: bool) -> dict[str, float]:
    """Mean of each part's pass values over the samples that answered it, and `all` over
    every answered part; parts by id only when every sample shares one rubric."""
    rates: dict[str, float] = {}
    every = [value for sample in per_sample for value in sample.values()]
    overall = _mean(every)
    if overall is not None:
        rates["all"] = overall
    if by_part:
        ids = dict.fromkeys(part for sample in per_sample for part in sample)
        for part in ids:
            mean = _mean([sample[part] for sample in per_sample if part in sample])
            if mean is not None:
                rates[part] = mean
    return rates


def mean_of(values: Sequence[float | None]) -> float | None:
    return _mean([v for v in values if v is not None])
