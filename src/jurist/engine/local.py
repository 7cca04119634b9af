"""Scheduling a judge over many items: bounded concurrency and streaming results.

Items flow through a bounded queue to `concurrency` workers, so memory stays flat however
many items there are. Each worker judges one item at a time (its calls back to back, which
keeps the item's prompt prefix warm on servers with a prompt cache) and hands the judgment
on the moment it is finished. Caching, retries, rate limits and timeouts are not here: they
are layers around the backend (`jurist.backends.stack`), composed once in the constructor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from jurist.backends.base import Backend, CallStats
from jurist.backends.retrying import RetryPolicy
from jurist.backends.stack import CallPolicy, in_flight_ceiling, layered
from jurist.core.data import Item
from jurist.judges.answering import SamplingOptions, judge_item
from jurist.judges.base import Judge
from jurist.core.judgment import Judgment
from jurist.store import Store

__all__ = ["RetryPolicy", "RunCounters", "RunOptions", "Runner"]


@dataclass(frozen=True)
class RunOptions:
    concurrency: int = 4
    samples: int = 1
    sample_temperature: float = 0.7
    parse_retries: int = 2
    timeout: float | None = 120.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    rpm: float | None = None
    tpm: float | None = None

    @property
    def sampling(self) -> SamplingOptions:
        return SamplingOptions(self.samples, self.sample_temperature, self.parse_retries)

    @property
    def calls(self) -> CallPolicy:
        return CallPolicy(self.retry, self.concurrency, self.timeout, self.rpm, self.tpm)


@dataclass
class RunCounters(CallStats):
    """Live counts for the progress display and the summary."""

    items: int = 0
    ok: int = 0
    parse_error: int = 0
    failed: int = 0

    def add(self, judgment: Judgment) -> None:
        self.items += 1
        setattr(self, judgment.status, getattr(self, judgment.status) + 1)


class Runner:
    def __init__(
        self,
        backend: Backend,
        judge: Judge,
        store: Store | None,
        options: RunOptions | None = None,
        *,
        on_result: Callable[[Judgment], None] | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        layer: bool = True,
    ) -> None:
        """`layer=False` takes `backend` as already layered (shared by several runners)."""
        self.judge = judge
        self.store = store
        self.options = options or RunOptions()
        self.on_result = on_result
        self.counters = RunCounters()
        self.raw_backend = backend
        self.backend = (
            layered(backend, store, self.options.calls, stats=self.counters, sleep=sleep)
            if layer
            else backend
        )

    async def run(
        self, items: Iterable[Item], run_id: str | None = None, skip: set[int] | None = None
    ) -> RunCounters:
        """Judge every item whose index is not in `skip` (already finished in this run);
        with a run id and a store, each judgment is saved the moment it is finished."""
        skip = skip or set()
        concurrency = in_flight_ceiling(self.raw_backend, self.options.concurrency)
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
                judgment = await self.judge_item(item, index)
                if run_id is not None and self.store is not None:
                    self.store.save_result(run_id, judgment)
                self.counters.add(judgment)
                if self.on_result is not None:
                    self.on_result(judgment)

        workers = [asyncio.create_task(work()) for _ in range(concurrency)]
        producer = asyncio.create_task(produce())
        try:
            await asyncio.gather(producer, *workers)
        finally:
            for task in (producer, *workers):
                task.cancel()
            await asyncio.gather(producer, *workers, return_exceptions=True)
        return self.counters

    async def judge_item(self, item: Item, index: int) -> Judgment:
        return await judge_item(self.backend, self.judge, item, index, self.options.sampling)
