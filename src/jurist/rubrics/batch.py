"""Write rubrics for a whole data set: one per item (or per labelled pair), optionally one
summary rubric over them all, and a report of every item's outcome.

Each rubric is saved next to the prompt it was written for (NAME.yaml + NAME.prompts.txt),
so the output folder is itself a library for `--retrieve`.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from jurist.core.data import Item
from jurist.core.errors import ConfigError
from jurist.core.rubric import Rubric, save_rubric
from jurist.datasets import ItemSource
from jurist.judges import JudgeOptions
from jurist.rubrics import embeddings
from jurist.rubrics.answers import GenerationResult, Style
from jurist.rubrics.contrastive import generate_contrastive, preference_label
from jurist.rubrics.generate import generate_instance_rubric
from jurist.rubrics.lint import Finding
from jurist.rubrics.pipeline import RubricPipeline
from jurist.rubrics.retrieve import RubricIndex, load_index
from jurist.rubrics.session import (
    JudgeSettings,
    open_pipeline,
    query_text,
    writing,
)
from jurist.rubrics.summarise import summarise_rubrics

ItemStatus = Literal["ok", "repaired", "rejected", "failed", "skipped"]
USABLE: tuple[ItemStatus, ...] = ("ok", "repaired")
REPORT_NAME = "report.json"
SUMMARY_NAME = "summary.yaml"


@dataclass(frozen=True)
class GenerateSettings:
    """How rubrics are written; the defaults are the CLI's."""

    # What is asked for: Likert criteria or checklist items (None: checklist items with
    # `contrastive`, else Likert), per item or per labelled pair.
    style: Style | None = field(
        default=None,
        metadata={
            "help": "likert | checklist (default likert; with --contrastive, the principles are "
            "checklist items unless likert is asked for)"
        },
    )
    contrastive: bool = field(
        default=False,
        metadata={
            "help": "Derive rubrics from labelled pairs; keep only those under which the judge "
            "prefers the preferred response."
        },
    )
    max_parts: int = field(
        default=5, metadata={"help": "Most criteria (or checklist items) per rubric.", "min": 1}
    )
    keep: int = field(
        default=1,
        metadata={"help": "With --contrastive: accepted rubrics to keep per item.", "min": 1},
    )
    # Library rubrics shown as examples: the `retrieve_k` nearest to each item's prompt.
    library: Path | None = field(
        default=None, metadata={"help": "Rubric library folder for --retrieve."}
    )
    retrieve_k: int = field(
        default=0, metadata={"help": "Show the K nearest library rubrics as examples.", "min": 0}
    )
    # How each answer is sampled (temperature, seed, token budget); an unusable (or, with
    # `contrastive`, unaccepted) one is asked again, up to `tries` times.
    tries: int = field(
        default=2,
        metadata={"help": "Answers asked per item until one is usable (or accepted).", "min": 1},
    )
    writing: JudgeOptions = field(
        default_factory=lambda: JudgeOptions(temperature=0.7, max_tokens=1536)
    )
    # The data-set rubric: parts at least `similarity` alike merge, `min_support` keeps
    # those found in that many rubrics, `reword` asks the judge for the merged wording.
    summarise: bool = field(
        default=False,
        metadata={"help": "Also write summary.yaml: one rubric for the whole data set."},
    )
    reword: bool = field(
        default=False,
        metadata={"help": "With --summarise: ask the judge to reword merged criteria."},
    )
    similarity: float = field(
        default=0.8, metadata={"help": "With --summarise: cosine similarity that merges criteria."}
    )
    min_support: int = field(
        default=1,
        metadata={"help": "With --summarise: keep criteria found in >= N rubrics.", "min": 1},
    )

    def __post_init__(self) -> None:
        if self.retrieve_k > 0 and self.library is None:
            raise ConfigError("--retrieve needs --library DIR")
        if self.style is None:
            object.__setattr__(self, "style", "checklist" if self.contrastive else "likert")

    def sampling(self) -> dict[str, Any]:
        """The keyword arguments every rubric writer takes for its tries."""
        options = self.writing
        return {
            "tries": self.tries,
            "temperature": options.temperature,
            "seed": options.seed,
            "max_tokens": options.max_tokens,
        }


class Example(BaseModel):
    """A library rubric shown to the model as an example, and how near its prompts were."""

    path: str
    score: float


class ItemOutcome(BaseModel):
    """What became of one item: the files written, or the reason there are none."""

    id: str
    status: ItemStatus
    reason: str | None = None
    examples: list[Example] | None = None
    files: list[str] | None = None
    repairs: list[str] | None = None
    findings: list[Finding] | None = None
    attempt: int | None = None
    raw: str | None = None
    attempts: list[GenerationResult] | None = None
    # The rubrics themselves, for the summary; the files hold them, so reports leave them out.
    rubrics: list[Rubric] = Field(default_factory=list, exclude=True)

    @property
    def usable(self) -> bool:
        return self.status in USABLE


class SummaryOutcome(BaseModel):
    """The data-set rubric: where it was written and what it was made from."""

    file: str
    rubrics: int
    criteria: int
    checklist: int
    parts_in: int


class GenerateReport(BaseModel):
    """Every item's outcome, with the settings and model usage that produced them."""

    data: str | None
    preset: str | None
    judge: str
    style: Style
    contrastive: bool
    retrieve: int
    library: str | None
    items: int
    counts: dict[str, int]
    model_calls: int
    cache_hits: int
    summary: SummaryOutcome | None
    results: list[ItemOutcome]
    report_file: str = Field(exclude=True)

    @property
    def usable(self) -> int:
        return sum(outcome.usable for outcome in self.results)

    def to_json(self) -> str:
        """report.json: an outcome lists only the fields that apply to it, and its attempts
        leave out the rubrics and raw answers that the files and `raw` already hold."""
        document = self.model_dump(mode="json", exclude={"results"})
        document["results"] = [
            outcome.model_dump(
                mode="json", exclude_none=True, exclude={"attempts": {"__all__": {"rubric", "raw"}}}
            )
            for outcome in self.results
        ]
        return json.dumps(document, indent=2)


OnOutcome = Callable[[ItemOutcome], None]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def file_stem(item_id: str, taken: set[str]) -> str:
    """A file name for an item id, unique among `taken` (which it joins)."""
    stem = _UNSAFE.sub("_", item_id).strip("._-") or "item"
    unique, number = stem, 2
    while unique in taken:
        unique, number = f"{stem}-{number}", number + 1
    taken.add(unique)
    return unique


def _write_rubric(rubric: Rubric, item: Item, folder: Path, stem: str) -> str:
    path = folder / f"{stem}.yaml"
    with writing(path):
        save_rubric(rubric, path)
        sidecar = folder / f"{stem}.prompts.txt"
        sidecar.write_text(query_text(item).strip() + "\n", encoding="utf-8")
    return str(path)


async def _contrastive_outcome(
    item: Item,
    pipeline: RubricPipeline,
    settings: GenerateSettings,
    label: str | None,
    output: Path,
    stem: str,
) -> ItemOutcome:
    side = preference_label(item, label)
    if side not in ("A", "B") or item.response is None or item.response_b is None:
        reason = f"needs two responses and an A / B preference (label is {side or 'missing'})"
        return ItemOutcome(id=item.id, status="skipped", reason=reason)
    pair = item.model_copy(update={"labels": {**item.labels, "preferred": side}})
    result = await generate_contrastive(
        pair,
        pipeline.backend,
        pipeline.prefers,
        keep=settings.keep,
        principles=settings.style,
        max_principles=settings.max_parts,
        **settings.sampling(),
    )
    outcome = ItemOutcome(
        id=item.id, status="rejected", attempts=result.attempts, rubrics=result.accepted
    )
    if result.accepted:
        last_ok = next(attempt for attempt in reversed(result.attempts) if attempt.ok)
        outcome.status, outcome.repairs = last_ok.status, last_ok.repairs
        outcome.files = [
            _write_rubric(rubric, item, output, stem if n == 0 else f"{stem}-{n + 1}")
            for n, rubric in enumerate(result.accepted)
        ]
    else:
        last = result.attempts[-1] if result.attempts else None
        outcome.status = "rejected" if last is None else last.status
        outcome.reason = (last.reason if last else None) or "no try was accepted"
    return outcome


async def _instance_outcome(
    item: Item,
    pipeline: RubricPipeline,
    settings: GenerateSettings,
    examples: list[Rubric],
    output: Path,
    stem: str,
) -> ItemOutcome:
    generated = await generate_instance_rubric(
        item,
        pipeline.backend,
        style=settings.style,
        examples=examples,
        max_parts=settings.max_parts,
        **settings.sampling(),
    )
    outcome = ItemOutcome(
        id=item.id,
        status=generated.status,
        reason=generated.reason,
        repairs=generated.repairs,
        findings=generated.findings,
        attempt=generated.attempt,
        raw=None if generated.ok else generated.raw,
    )
    if generated.rubric is not None:
        outcome.files = [_write_rubric(generated.rubric, item, output, stem)]
        outcome.rubrics = [generated.rubric]
    return outcome


async def generate_for_items(
    items: list[Item],
    pipeline: RubricPipeline,
    output: Path,
    settings: GenerateSettings,
    *,
    label: str | None = None,
    on_outcome: OnOutcome | None = None,
) -> list[ItemOutcome]:
    """One outcome per item, in order; `on_outcome` hears of each as it is decided."""
    index: RubricIndex | None = None
    if settings.retrieve_k > 0:
        if settings.library is None:
            raise ConfigError("--retrieve needs --library DIR")
        index = load_index(settings.library)
    taken: set[str] = set()
    outcomes: list[ItemOutcome] = []
    for item in items:
        examples: list[Rubric] = []
        found: list[Example] | None = None
        if index is not None:
            hits = index.retrieve(query_text(item), settings.retrieve_k)
            examples = [hit.rubric for hit in hits]
            found = [Example(path=str(hit.path), score=round(hit.score, 4)) for hit in hits]
        stem = file_stem(item.id, taken)
        if settings.contrastive:
            outcome = await _contrastive_outcome(item, pipeline, settings, label, output, stem)
        else:
            outcome = await _instance_outcome(item, pipeline, settings, examples, output, stem)
        outcome.examples = found
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return outcomes


async def summarise_into(
    rubrics: list[Rubric], pipeline: RubricPipeline, output: Path, settings: GenerateSettings
) -> SummaryOutcome:
    """Write summary.yaml, one rubric for the data set, from the instance rubrics."""
    summary = await summarise_rubrics(
        rubrics,
        pipeline.backend if settings.reword else None,
        embed=embeddings.embed,
        threshold=settings.similarity,
        min_support=settings.min_support,
        name=f"summary-{output.name}",
        seed=settings.writing.seed,
    )
    path = output / SUMMARY_NAME
    with writing(path):
        save_rubric(summary, path)
    return SummaryOutcome(
        file=str(path),
        rubrics=len(rubrics),
        criteria=len(summary.criteria),
        checklist=len(summary.checklist),
        parts_in=sum(len(r.criteria) + len(r.checklist) for r in rubrics),
    )


def reading(source: ItemSource, *, responses: bool, pairs: bool) -> ItemSource:
    """`source` reading only the response columns a job uses, so that data without them
    (prompts alone, to write rubrics from) is not refused for lacking a default column."""
    fields = replace(
        source.fields,
        response=source.fields.response if responses else None,
        response_b=source.fields.response_b if pairs else None,
    )
    return replace(source, fields=fields)


def generate_rubrics(
    source: ItemSource,
    judge: JudgeSettings,
    output: Path,
    settings: GenerateSettings,
    *,
    on_outcome: OnOutcome | None = None,
) -> GenerateReport:
    """Read the items, write a rubric for each (and the summary), and save report.json."""
    if settings.contrastive and source.preset is None and source.label is None:
        raise ConfigError("--contrastive needs --label-field (or a pairwise --preset)")
    contrastive = settings.contrastive
    items = reading(source, responses=contrastive, pairs=contrastive).load()
    with writing(output):
        output.mkdir(parents=True, exist_ok=True)

    async def run() -> tuple[list[ItemOutcome], SummaryOutcome | None, int, int]:
        async with open_pipeline(judge) as pipeline:
            outcomes = await generate_for_items(
                items, pipeline, output, settings, label=source.label, on_outcome=on_outcome
            )
            rubrics = [rubric for outcome in outcomes for rubric in outcome.rubrics]
            summary = None
            if settings.summarise and rubrics:
                summary = await summarise_into(rubrics, pipeline, output, settings)
            return outcomes, summary, pipeline.usage.calls, pipeline.usage.cache_hits

    outcomes, summary, calls, cache_hits = asyncio.run(run())
    counts: dict[str, int] = {}
    for outcome in outcomes:
        counts[outcome.status] = counts.get(outcome.status, 0) + 1
    report = GenerateReport(
        **source.describe(),
        judge=judge.label,
        style=settings.style,
        contrastive=settings.contrastive,
        retrieve=settings.retrieve_k,
        library=str(settings.library) if settings.library else None,
        items=len(outcomes),
        counts=counts,
        model_calls=calls,
        cache_hits=cache_hits,
        summary=summary,
        results=outcomes,
        report_file=str(output / REPORT_NAME),
    )
    with writing(output / REPORT_NAME):
        (output / REPORT_NAME).write_text(report.to_json(), encoding="utf-8")
    return report
