"""What a `tune` job is told besides its data and judge, as one documented value: where
people's scores are, how items group, and which candidate readings to grade."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import get_args

from jurist.core.errors import ConfigError
from jurist.judges.base import Layout, Rationale

__all__ = ["TuneSettings"]


@dataclass(frozen=True)
class TuneSettings:
    """`tune_job`'s choices; every field is a `jurist tune` option of the same name."""

    label_field: list[str] | None = field(
        default=None, metadata={"help": "CRITERION=FIELD holding people's score (repeat)."}
    )
    group_field: str | None = field(
        default=None, metadata={"help": "Field grouping items (e.g. doc_id): folds split by it."}
    )
    overall_field: str | None = field(
        default=None,
        metadata={"help": "Field holding people's overall score: choose criterion weights."},
    )
    mode: str | None = field(
        default=None, metadata={"help": "pointwise or pairwise (default: the preset's)."}
    )
    rationale: list[str] | None = field(
        default=None, metadata={"help": "Rationale placements to try: before|after|none."}
    )
    layout: list[str] | None = field(
        default=None, metadata={"help": "Prompt layouts to try: rubric-first|item-first."}
    )
    samples: list[int] | None = field(
        default=None, metadata={"help": "Samples per call to try (default 1 and 3).", "min": 1}
    )
    coverage: float = field(
        default=0.9, metadata={"help": "Interval coverage.", "min": 0.5, "max": 0.99}
    )
    budget: bool = field(default=False, metadata={"help": "Cheapest reading as good as the best."})

    def rationales(self) -> list[Rationale]:
        return self._known("--rationale", self.rationale or ("before", "none"), Rationale)

    def layouts(self) -> list[Layout]:
        return self._known("--layout", self.layout or ("rubric-first", "item-first"), Layout)

    def sample_counts(self) -> list[int]:
        counts = sorted(set(self.samples or (1, 3)))
        if counts[0] < 1:
            raise ConfigError(f"--samples {counts[0]}: give at least 1")
        return counts

    @staticmethod
    def _known(option: str, given: object, kind: object) -> list:  # type: ignore[type-arg]
        """The given values in the type's own order; an unknown one is refused by name."""
        accepted = get_args(kind)
        unknown = sorted(set(given) - set(accepted))  # type: ignore[call-overload]
        if unknown:
            raise ConfigError(f"{option} {', '.join(unknown)}: use {', '.join(accepted)}")
        return [value for value in accepted if value in given]  # type: ignore[operator]
