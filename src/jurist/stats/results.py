"""What the statistics return: an Estimate (value, interval, n), and result dataclasses
that export themselves as JSON-ready data."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, is_dataclass
from typing import Any


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
