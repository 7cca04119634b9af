"""An optional length penalty: judges tend to prefer longer answers, and a policy trained on
a judge's reward learns to pad unless length past a budget costs something."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from jurist.core.errors import ConfigError


@dataclass(frozen=True)
class LengthPenalty:
    """Subtract `weight * min(1, (length - budget) / ramp)` once a completion passes
    `budget` characters (or tokens, read from the trainer's `completion_ids`); the penalty
    grows linearly over `ramp` (default: the budget) and then stays at `weight`."""

    budget: int
    weight: float = 0.5
    ramp: int | None = None
    unit: Literal["chars", "tokens"] = "chars"

    def __post_init__(self) -> None:
        if self.budget < 0:
            raise ConfigError(f"length penalty budget must be >= 0, not {self.budget}")
        if self.weight < 0:
            raise ConfigError(f"length penalty weight must be >= 0, not {self.weight}")
        if self.ramp is not None and self.ramp <= 0:
            raise ConfigError(f"length penalty ramp must be > 0, not {self.ramp}")
        if self.unit not in ("chars", "tokens"):
            raise ConfigError(f"length penalty unit must be chars or tokens, not {self.unit!r}")

    def penalty(self, length: int) -> float:
        over = length - self.budget
        if over <= 0:
            return 0.0
        ramp = self.ramp or max(self.budget, 1)
        return self.weight * min(1.0, over / ramp)
