"""Running a judge over items: bounded concurrency, retries, caching, streaming results.

Items flow through a bounded queue to `concurrency` workers, so memory stays flat however
many items there are. One item's calls are sent one after another, keeping its shared prompt
prefix warm on servers with a prompt cache. Each result is saved to the store and appended to
the results file the moment its item is finished.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from jurist.backends.base import Backend, BackendError
from jurist.completion import Completion, Request
from jurist.data import Item
from jurist.judges.base import Answer, Call, Judge
from jurist.judgment import Judgment
from jurist.parse import ParseError
from jurist.store import Store


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; a server's Retry-After wins when it gives one."""

    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def delay(
        self, failures: int, retry_after: float | None = None, rng: random.Random | None = None
    ) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * 2 ** (failures - 1))
        # Jitter in [ceiling/2, ceiling] spreads retries from many workers apart.
        return ceiling * (0.5 + 0.5 * (rng or random).random())


@dataclass(frozen=True)
class RunOptions:
    concurrency: int = 4
    samples: int = 1
    sample_temperature: float = 0.7
    parse_retries: int = 2
    timeout: float = 120.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)


@dataclass
class RunCounters:
    """Live counts for the progress display and the summary."""

    items: int = 0
    ok: int = 0
    parse_error: int = 0
    failed: int = 0
    calls: int = 0
    cache_hits: int = 0
    retries: int = 0

    def add(self, judgment: Judgment) -> None:
        self.items += 1
        setattr(self, judgment.status, getattr(self, judgment.status) + 1)


class Runner:
    def __init__(
        self,
        backend: Backend,
        judge: Judge,
        store: Store,
        options: RunOptions | None = None,
        *,
        on_result: Callable[[Judgment], None] | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.backend = backend
        self.judge = judge
        self.store = store
        self.options = options or RunOptions()
        self.on_result = on_result
        self.counters = RunCounters()
        self._sleep = sleep
        self._judge_name = f"{backend.name}:{backend.model}"

    async def run(
        self, items: Iterable[Item], run_id: str, skip: set[int] | None = None
    ) -> RunCounters:
        """Judge every item whose index is not in `skip` (already finished in this run)."""
        skip = skip or set()
        queue: asyncio.Queue[tuple[int, Item] | None] = asyncio.Queue(
            maxsize=2 * self.options.concurrency
        )

        async def produce() -> None:
            for index, item in enumerate(items):
                if index not in skip:
                    await queue.put((index, item))
            for _ in range(self.options.concurrency):
                await queue.put(None)

        async def work() -> None:
            while (entry := await queue.get()) is not None:
                index, item = entry
                judgment = await self.judge_item(item, index)
                self.store.save_result(run_id, judgment)
                self.counters.add(judgment)
                if self.on_result is not None:
                    self.on_result(judgment)

        workers = [asyncio.create_task(work()) for _ in range(self.options.concurrency)]
        producer = asyncio.create_task(produce())
        try:
            await asyncio.gather(producer, *workers)
        finally:
            for task in (producer, *workers):
                task.cancel()
            await asyncio.gather(producer, *workers, return_exceptions=True)
        return self.counters

    async def judge_item(self, item: Item, index: int) -> Judgment:
        answers: dict[str, list[Answer]] = {}
        for call in self.judge.calls(item):
            answers[call.key] = [
                await self._answer(call, sample) for sample in range(self.options.samples)
            ]
        return self.judge.judgment(item, index, answers, self._judge_name)

    def _request_for(self, call: Call, sample: int, retry: int) -> Request:
        request = call.request
        temperature = request.temperature
        if self.options.samples > 1 or retry > 0:
            # Identical greedy calls give identical answers: samples and retries must vary.
            temperature = max(temperature, self.options.sample_temperature)
        seed = (request.seed or 0) + 1000 * sample + retry
        return request.model_copy(
            update={"attempt": 1000 * sample + retry, "seed": seed, "temperature": temperature}
        )

    async def _answer(self, call: Call, sample: int) -> Answer:
        last: Answer | None = None
        for retry in range(self.options.parse_retries + 1):
            request = self._request_for(call, sample, retry)
            try:
                completion = await self.complete(request)
            except BackendError as error:
                return Answer("failed", error=str(error), attempts=retry + 1)
            try:
                parsed = call.parse(completion.text)
            except ParseError as error:
                last = Answer("parse_error", completion, error=str(error), attempts=retry + 1)
                continue
            return Answer("ok", completion, parsed, attempts=retry + 1)
        assert last is not None
        return last

    async def complete(self, request: Request) -> Completion:
        """A cached completion, or a fresh one with retries; raises BackendError when spent."""
        key = request.cache_key(self.backend.name, self.backend.model)
        cached = self.store.get_completion(key)
        if cached is not None:
            self.counters.cache_hits += 1
            return cached
        policy = self.options.retry
        for attempt in range(1, policy.max_attempts + 1):
            self.counters.calls += 1
            try:
                completion = await asyncio.wait_for(
                    self.backend.complete(request), timeout=self.options.timeout
                )
            except TimeoutError:
                error = BackendError(f"no answer within {self.options.timeout:g}s", retryable=True)
            except BackendError as raised:
                error = raised
            else:
                self.store.put_completion(key, self.backend.name, self.backend.model, completion)
                return completion
            if not error.retryable or attempt == policy.max_attempts:
                if error.retryable:
                    raise BackendError(
                        f"gave up after {attempt} attempts: {error}", retryable=False
                    ) from None
                raise error
            self.counters.retries += 1
            await self._sleep(policy.delay(attempt, error.retry_after))
        raise AssertionError("unreachable")
