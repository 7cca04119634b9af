"""What the statistics return: an Estimate (value, interval, n), and result dataclasses
that export themselves as JSON-ready data.

An estimate has one reportable form, `Figure`: the same value, interval and n with "not
computable" as None instead of NaN, so it can sit in a typed report and its JSON. The
computation keeps NaN (it propagates through arithmetic); every report, summary and audit
holds a `Figure`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from jurist.stats.intervals import mean_interval, wilson_interval


def clean(value: float | None) -> float | None:
    """JSON-safe float: NaN (not computable) becomes None."""
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else value


def plain(value: Any) -> Any:
    """A result as JSON-ready data: dataclasses as dicts, tuples as lists, NaN as None."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, float):
        return clean(value)
    return value


class Result:
    """What every result dataclass shares: export as JSON-ready data."""

    def to_dict(self) -> dict[str, Any]:
        return plain(self)


class Described(Result):
    """A result that also says itself in a sentence, which its JSON carries."""

    def sentence(self) -> str:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {**plain(self), "sentence": self.sentence()}


@dataclass(frozen=True)
class Estimate(Result):
    """A point estimate with its confidence interval and the items it rests on."""

    value: float
    low: float
    high: float
    n: int
    n_excluded: int = 0
    se: float | None = None
    confidence: float = 0.95

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}], n={self.n}"


def nan_estimate(n: int, n_excluded: int = 0, confidence: float = 0.95) -> Estimate:
    """The honest answer when a statistic cannot be computed from the data at hand."""
    return Estimate(math.nan, math.nan, math.nan, n, n_excluded, None, confidence)


class Figure(BaseModel):
    """An estimate as reports hold it: value, interval and n (None: not computable)."""

    model_config = ConfigDict(extra="forbid")

    value: float | None = None
    low: float | None = None
    high: float | None = None
    n: int = 0
    n_excluded: int = 0
    se: float | None = None
    confidence: float = 0.95

    @classmethod
    def of(cls, estimate: Estimate) -> Figure:
        """From a computed Estimate (NaN becomes None)."""
        return cls.model_validate(estimate.to_dict())

    @classmethod
    def mean(cls, values: Sequence[float], confidence: float = 0.95) -> Figure:
        """Mean with a percentile bootstrap interval (paired when the values are differences)."""
        if not len(values):
            return cls(value=None, n=0, confidence=confidence)
        interval = mean_interval(values, confidence)
        return cls.spanning(sum(values) / len(values), interval, len(values), confidence)

    @classmethod
    def share(cls, hits: int, n: int, confidence: float = 0.95) -> Figure:
        """Proportion with a Wilson interval."""
        interval = wilson_interval(hits, n, confidence)
        return cls.spanning(hits / n if n else None, interval, n, confidence)

    @classmethod
    def spanning(
        cls,
        value: float | None,
        interval: tuple[float, float] | None,
        n: int,
        confidence: float = 0.95,
    ) -> Figure:
        low, high = interval if interval is not None else (None, None)
        return cls(value=value, low=low, high=high, n=n, confidence=confidence)

    @property
    def ci95(self) -> tuple[float, float] | None:
        """The interval as a pair, or None when either bound is not computable."""
        if self.low is None or self.high is None:
            return None
        return (self.low, self.high)

    def compact(self) -> dict[str, Any]:
        """{value, ci95, n}: the short form audits and summaries write."""
        interval = None if self.ci95 is None else list(self.ci95)
        return {"value": self.value, "ci95": interval, "n": self.n}

    def cell(self, signed: bool = False) -> str:
        if self.value is None:
            return f"- n={self.n}"
        number = f"{self.value:+.2f}" if signed else f"{self.value:.2f}"
        if self.ci95 is None:
            return f"{number} n={self.n}"
        low, high = self.ci95
        return f"{number} [{low:.2f},{high:.2f}] n={self.n}"
