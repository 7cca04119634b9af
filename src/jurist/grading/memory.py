"""The grading job in memory: a rubric, items and a setup (or a jury) in, judgments
out as they finish, nothing written but the cache. `run_grade` schedules the same item
judge with files around it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
)

from jurist.core.judgment import Judgment
from jurist.core.rubric import Rubric, load_rubric
from jurist.datasets import ItemSource
from jurist.engine.local import LocalEngine
from jurist.engine.sink import ResultSink, RunCounters
from jurist.engine.summary import GradeSummary, SummaryBuilder, Tally
from jurist.jury import JuryPanel, JurySpec, JuryTally
from jurist.session import ItemJudge, ItemLike, JudgeSession, JudgeSetup, as_item
from jurist.store import Store


class GradeRun(BaseModel):
    """An in-memory job's outcome: its judgments in item order, and their summary."""

    run_id: str | None
    judgments: list[Judgment]
    summary: GradeSummary


# --- the job in memory ----------------------------------------------------------------------


def item_judge(
    rubric: Rubric,
    setup: JudgeSetup,
    jury: JurySpec | None,
    store: Store | None,
    stats: RunCounters,
) -> ItemJudge:
    """One judge's session, or a panel of them; its layers count into `stats`."""
    if jury is not None:
        return JuryPanel(jury, rubric, setup, store=store, stats=stats)
    return JudgeSession(rubric, setup, store=store, stats=stats)


async def _judge_locally(
    judging: ItemJudge, sink: ResultSink, items: Iterable[Any], skip: set[int]
) -> None:
    try:
        await LocalEngine(judging, sink).run(items, skip)
    finally:
        await judging.aclose()


async def agrade(
    rubric: Rubric | str | Path,
    items: Iterable[ItemLike] | ItemSource,
    setup: JudgeSetup | None = None,
    *,
    jury: JurySpec | None = None,
    store: Store | str | Path | None = None,
    run_id: str | None = None,
    on_result: Callable[[Judgment], None] | None = None,
) -> GradeRun:
    """Grade `items` in memory: each judgment goes to `on_result` as it finishes, and all
    of them come back in item order. Every call is cached in `store` (default: the user's
    store); with a `run_id` the judgments are also saved under that run."""
    rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    setup = setup or JudgeSetup()
    stream = items.iter() if isinstance(items, ItemSource) else items
    found: list[Judgment] = []
    summary = SummaryBuilder(tallies=_tallies(jury))
    with contextlib.ExitStack() as stack:
        db = store if isinstance(store, Store) else stack.enter_context(Store(store))
        if run_id is not None:
            db.create_run(run_id, {"rubric": rubric.name, "setup": asdict(setup)})

        def keep(judgment: Judgment) -> None:
            found.append(judgment)
            if on_result is not None:
                on_result(judgment)

        sink = ResultSink(db, run_id, summary=summary, on_result=keep)
        judging = item_judge(rubric, setup, jury, db, sink.counters)
        await _judge_locally(judging, sink, (as_item(v, i) for i, v in enumerate(stream)), set())
        if run_id is not None:
            db.set_run_status(run_id, "finished")
    found.sort(key=lambda judgment: judgment.index)
    return GradeRun(run_id=run_id, judgments=found, summary=_summary(summary, run_id))


def grade(
    rubric: Rubric | str | Path,
    items: Iterable[ItemLike] | ItemSource,
    setup: JudgeSetup | None = None,
    *,
    jury: JurySpec | None = None,
    store: Store | str | Path | None = None,
    run_id: str | None = None,
    on_result: Callable[[Judgment], None] | None = None,
) -> GradeRun:
    """`agrade` for code that is not async."""
    return asyncio.run(
        agrade(rubric, items, setup, jury=jury, store=store, run_id=run_id, on_result=on_result)
    )


def _tallies(jury: JurySpec | None) -> dict[str, Tally]:
    """A jury's judgments also feed its inter-juror figures."""
    return {"jury": JuryTally()} if jury is not None else {}


def _summary(
    builder: SummaryBuilder, run_id: str | None, status: str | None = None, skipped: int = 0
) -> GradeSummary:
    built = builder.build()
    if status is not None:
        built |= {"run_id": run_id, "status": status, "skipped_rows": skipped}
    return GradeSummary.model_validate(built)


# --- the job with files ---------------------------------------------------------------------
