"""Refine a rubric file by grading a data set with it, and record what changed and why.

The refined rubric and a report (settings, model usage, criteria before and after, one
line per change) are written side by side, so a refinement can be reviewed or replayed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from jurist.core.data import Item
from jurist.core.errors import InputError
from jurist.core.rubric import Rubric, load_rubric, save_rubric
from jurist.datasets import ItemSource
from jurist.judges import JudgeOptions
from jurist.rubrics import embeddings
from jurist.rubrics.batch import reading
from jurist.rubrics.refine import Embed, RefineReport, pair_sides, refine_rubric
from jurist.rubrics.session import JudgeSettings, open_pipeline, writing


@dataclass(frozen=True)
class RefineSettings:
    """Thresholds and budgets of a refinement; the defaults are the CLI's."""

    depth: int = field(
        default=1,
        metadata={"help": "Rounds of splitting criteria that separate nothing.", "min": 0},
    )
    min_std: float = field(
        default=0.1, metadata={"help": "Split a criterion whose scores (on [0, 1]) vary less."}
    )
    max_tie_rate: float = field(
        default=0.8, metadata={"help": "Split a criterion when two responses tie more often."}
    )
    min_pairs: int = field(
        default=10,
        metadata={"help": "Decided labelled pairs needed before judging alignment.", "min": 1},
    )
    agreement: float = field(
        default=0.5,
        metadata={"help": "Drop a criterion agreeing with people on fewer pairs than this."},
    )
    redundancy: float = field(
        default=0.9,
        metadata={"help": "Drop a criterion whose scores correlate at least this with another."},
    )
    text_redundancy: float = field(
        default=0.9,
        metadata={"help": "Drop a criterion whose wording is at least this similar to another."},
    )
    embeddings: bool = field(
        default=True, metadata={"help": "Compare wording with the embedding model."}
    )
    prune: bool = field(
        default=True, metadata={"help": "Drop misaligned and redundant criteria and re-weight."}
    )
    # Tied responses shown to the judge when it is asked to split a criterion, and how
    # that split is sampled (its temperature and seed).
    ties_shown: int = field(
        default=3, metadata={"help": "Tied responses shown when asking for a split.", "min": 0}
    )
    splitting: JudgeOptions = field(default_factory=lambda: JudgeOptions(temperature=0.7))


class RefineRun(BaseModel):
    """A finished refinement: where its outputs are, what it graded, and what it changed."""

    rubric: str
    output: str
    data: str | None
    preset: str | None
    judge: str
    responses: int
    pairs: int
    settings: dict[str, Any]
    model_calls: int
    cache_hits: int
    criteria_before: list[str]
    criteria_after: list[str]
    changes: list[str]
    report: RefineReport
    report_file: str = Field(exclude=True)


def _responses(items: list[Item], pairs: bool) -> Iterator[Item]:
    for item in items:
        if pairs and item.response_b is not None:
            yield from pair_sides(item)
        elif item.response is not None:
            yield item


def _part_ids(rubric: Rubric) -> list[str]:
    return [part.id for part in (*rubric.criteria, *rubric.checklist)]


def _wording_model(settings: RefineSettings) -> tuple[Embed | None, list[str]]:
    """The embedding function for the wording check, or a note saying why there is none."""
    if not (settings.embeddings and settings.prune):
        return None, []
    if embeddings.available():
        return embeddings.embed, []
    return None, [f"wording not compared: {embeddings.INSTALL_HINT}"]


def refine_with_data(
    rubric_path: Path,
    source: ItemSource,
    judge: JudgeSettings,
    settings: RefineSettings,
    *,
    output: Path | None = None,
    report_path: Path | None = None,
) -> RefineRun:
    """Refine RUBRIC over the source's responses (and labelled pairs), then write the
    refined rubric (default RUBRIC.refined.yaml) and its report (default next to it)."""
    rubric = load_rubric(rubric_path)
    pairs_mode = source.preset is not None or source.label is not None
    items = reading(source, responses=True, pairs=pairs_mode).load()
    responses = list(_responses(items, pairs_mode))
    pairs = [item for item in items if item.response_b is not None] if pairs_mode else []
    if not responses:
        raise InputError(str(source.data or source.preset), problem="no responses to grade")
    embed, notes = _wording_model(settings)
    output = output or rubric_path.with_name(rubric_path.stem + ".refined.yaml")
    report_path = report_path or output.with_name(output.stem + ".report.json")

    async def run() -> tuple[Rubric, RefineReport, int, int]:
        async with open_pipeline(judge) as pipeline:
            refined, report = await refine_rubric(
                rubric,
                responses,
                pipeline.backend,
                pipeline.grade,
                depth=settings.depth,
                min_std=settings.min_std,
                max_tie_rate=settings.max_tie_rate,
                prune=settings.prune,
                redundancy=settings.redundancy,
                samples=settings.ties_shown,
                temperature=settings.splitting.temperature,
                seed=settings.splitting.seed,
                pairs=pairs,
                label=source.label,
                min_pairs=settings.min_pairs,
                agreement_threshold=settings.agreement,
                embed=embed,
                text_redundancy=settings.text_redundancy,
            )
            return refined, report, pipeline.usage.calls, pipeline.usage.cache_hits

    refined, report, calls, cache_hits = asyncio.run(run())
    report = report.model_copy(update={"notes": [*report.notes, *notes]})
    run_record = RefineRun(
        rubric=str(rubric_path),
        output=str(output),
        **source.describe(),
        judge=judge.label,
        responses=len(responses),
        pairs=len(pairs),
        settings={
            "depth": settings.depth,
            "min_std": settings.min_std,
            "max_tie_rate": settings.max_tie_rate,
            "min_pairs": settings.min_pairs,
            "agreement_threshold": settings.agreement,
            "score_redundancy": settings.redundancy if settings.prune else None,
            "text_redundancy": settings.text_redundancy if embed is not None else None,
        },
        model_calls=calls,
        cache_hits=cache_hits,
        criteria_before=_part_ids(rubric),
        criteria_after=_part_ids(refined),
        changes=report.lines(),
        report=report,
        report_file=str(report_path),
    )
    with writing(output):
        save_rubric(refined, output)
    with writing(report_path):
        report_path.write_text(
            json.dumps(run_record.model_dump(mode="json"), indent=2), encoding="utf-8"
        )
    return run_record
