"""Typed building blocks of the reports: an estimate with its interval and n, the shapes
the statistics return, and the report frame (header, body, plots) each report fills in.

Sections drop their optional parts from the JSON when absent (`_OPTIONAL`), so a figure
that was not computed is missing rather than null, while an estimate that could not be
computed keeps `"value": null` next to its n.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)
from rich.console import Group, RenderableType

from jurist.meta.text import escape, line
from jurist.stats.results import Figure

StatusCounts = dict[str, int]


class Section(BaseModel):
    """A block of a report; fields named in `_OPTIONAL` are left out of the JSON when None."""

    model_config = ConfigDict(extra="forbid")
    _OPTIONAL: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _drop_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data = handler(self)
        return {k: v for k, v in data.items() if not (v is None and k in self._OPTIONAL)}


class Part(Section):
    """A section that renders itself; `name` is the criterion it belongs to, if any."""

    def render(self, name: str = "") -> list[RenderableType]:
        raise NotImplementedError


PairPart = TypeVar("PairPart", bound=Part)
CriterionPart = TypeVar("CriterionPart", bound=Part)


class Confusion(BaseModel):
    """Counts of human labels (rows) against judge answers (columns)."""

    labels: list[str]
    counts: list[list[int]]
    n: int
    n_excluded: int


class AlphaBlock(BaseModel):
    """Krippendorff's alpha of the judge against each rater, with the raters' own."""

    level: str
    judge_vs_annotator: list[Figure]
    among_annotators: Figure
    judge_with_annotators: Figure


class VerbosityFigure(BaseModel):
    """Spearman(score, length) and, with human labels, the same with the label held fixed."""

    spearman: Figure
    partial: Figure | None = None


class DifferenceFigure(Section):
    """x - y on shared units with a paired test; Holm's adjustment when several are made."""

    _OPTIONAL = frozenset({"p_holm", "significant_holm"})

    name_x: str
    name_y: str
    value: float | None = None
    low: float | None = None
    high: float | None = None
    n: int
    n_excluded: int
    se_paired: float | None = None
    se_naive: float | None = None
    t: float | None = None
    p_value: float | None = None
    alpha: float = 0.05
    unit: str = "prompts"
    significant: bool
    sentence: str
    p_holm: float | None = None
    significant_holm: bool | None = None


class LabelJoin(BaseModel):
    """Where the human labels came from and how many items they matched; labels carried
    in the results leave no label id outside them."""

    source: str
    matched: int
    unlabelled: int
    label_ids_not_in_results: int = 0
    examples_not_in_results: list[str] = Field(default_factory=list)


class ResamplingSummary(BaseModel):
    resamples: int
    seed: int
    confidence: float


class Header(Section):
    """What every report starts with: which results, how many items, which labels."""

    _OPTIONAL = frozenset({"plots"})

    command: str
    results: str
    mode: str
    judges: list[str]
    rubric: list[str]
    n_items: int
    status: StatusCounts
    labels: LabelJoin
    settings: ResamplingSummary
    by: str | None = None
    plots: list[str] | None = None

    def render(self) -> Group:
        """The whole report for a Rich console: header, the report's own part, plots."""
        return Group(
            *(line(t) for t in self.header_lines()),
            *self.body(),
            *(line(f"plot: {escape(p)}") for p in self.plots or []),
        )

    def body(self) -> list[RenderableType]:
        """What a report shows between its header and its plots."""
        raise NotImplementedError

    def header_lines(self) -> list[str]:
        status = self.status
        labels = self.labels
        text = (
            f"labels from {labels.source}: {labels.matched} items matched, "
            f"{labels.unlabelled} without"
        )
        if labels.label_ids_not_in_results:
            text += f", {labels.label_ids_not_in_results} label ids not in the results"
        return [
            f"[bold]{escape(self.results)}[/]: {self.n_items} {self.mode} items "
            f"(ok {status['ok']}, parse_error {status['parse_error']}, failed {status['failed']}); "
            f"judge {', '.join(self.judges)}",
            f"{escape(text)}; bootstrap {self.settings.resamples} resamples, "
            f"seed {self.settings.seed}",
        ]

    def to_dict(self) -> dict[str, Any]:
        """The report as strict JSON-ready data (NaN is already None)."""
        return self.model_dump(mode="json")


class Report(Header, Generic[PairPart, CriterionPart]):
    """A report on pairwise results (`pairwise`) or on criteria (`criteria`)."""

    _OPTIONAL = Header._OPTIONAL | {"pairwise", "criteria"}

    pairwise: PairPart | None = None
    criteria: dict[str, CriterionPart] | None = None

    def body(self) -> list[RenderableType]:
        parts = [] if self.pairwise is None else self.pairwise.render()
        for name, entry in (self.criteria or {}).items():
            parts += entry.render(name)
        return parts
