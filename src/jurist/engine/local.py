"""Scheduling any item judge over many items in one process: a bounded queue, streaming.

Items flow through a bounded queue to `judging.in_flight` workers, so memory stays flat
however many items there are. Each worker judges one item at a time (its calls back to
back, which keeps the item's prompt prefix warm on servers with a prompt cache) and hands
the judgment to the result sink the moment it is finished. The engine builds nothing and
closes nothing: caching, retries, rate limits and timeouts are layers of the judge's
session (`jurist.session`), and whoever built the judge closes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

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

    async def run(self, items: Iterable[Item], skip: set[int] | None = None) -> RunCounters:
        """Judge every item whose index is not in `skip` (already finished in this run);
        the first error ends the run, with the judgments finished so far kept."""
        skip = skip or set()
        concurrency = self.judging.in_flight
        queue: asyncio.Queue[tuple[int, Item] | None] = asyncio.Queue(maxsize=2 * concurrency)

        async def produce() -> None:
            for index, item in enumerate(items):
                if index not in skip:
                    await queue.put((index, item))
            for _ in range(concurrency):
                await queue.put(None)

        async def work() -> None:
            while (entry := await queue.get()) is not None:
                index, item = entry
                self.sink.add(await self.judging.judge_item(item, index))

        workers = [asyncio.create_task(work()) for _ in range(concurrency)]
        producer = asyncio.create_task(produce())
        try:
            await asyncio.gather(producer, *workers)
        finally:
            for task in (producer, *workers):
                task.cancel()
            await asyncio.gather(producer, *workers, return_exceptions=True)
        return self.sink.counters
