"""Scheduling any item judge over many items in one process, streaming.

`judging.in_flight` workers take items from the input one at a time as they become free,
so memory stays flat however many items there are. Each worker judges one item at a time
(its calls back to back, which keeps the item's prompt prefix warm on servers with a
prompt cache) and hands the judgment to the result sink the moment it is finished. The
engine builds nothing and closes nothing: caching, retries, rate limits and timeouts are
layers of the judge's session (`jurist.session`), and whoever built the judge closes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from collections.abc import Set as AbstractSet

from jurist.core.data import Item
from jurist.engine.sink import ResultSink, RunCounters
from jurist.session import ItemJudge

__all__ = ["LocalEngine", "ResultSink", "RunCounters"]


class LocalEngine:
    """Runs a `JudgeSession`, a jury panel or any other `ItemJudge` over an item stream."""

    def __init__(self, judging: ItemJudge, sink: ResultSink | None = None) -> None:
        self.judging = judging
        self.sink = sink if sink is not None else ResultSink()

    @property
    def counters(self) -> RunCounters:
        return self.sink.counters

    async def run(self, items: Iterable[Item], skip: AbstractSet[int] | None = None) -> RunCounters:
        """Judge every item whose index is not in `skip` (already finished in this run);
        the first error ends the run, with the judgments finished so far kept."""
        skip = skip or set()
        # One iterator shared by the workers: each takes the next item when it is free.
        # Taking one never awaits, so no two workers ever get the same item.
        pending = ((i, item) for i, item in enumerate(items) if i not in skip)

        async def work() -> None:
            for index, item in pending:
                self.sink.add(await self.judging.judge_item(item, index))

        workers = [asyncio.create_task(work()) for _ in range(self.judging.in_flight)]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        if self.sink.store is not None:
            self.sink.store.flush()  # what this loop turn wrote, before the loop may end
        return self.sink.counters
