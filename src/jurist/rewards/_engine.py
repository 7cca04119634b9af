"""The judge behind rewards: one layered stack (cache, retries, adaptive concurrency) on a
thread and event loop of its own.

A trainer calls a reward function from its main thread (synchronous rewards) or from an
event loop on a daemon thread (async rewards). SQLite connections belong to the thread that
opened them, and an HTTP client or a limiter to its event loop, so every call is handed to
this one loop: the store, the clients and the limiter's state live there for the whole
training run, whoever calls.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from jurist.backends import Backend, CallStats, layered, make_backend
from jurist.backends.stack import client_timeout
from jurist.core.data import Item
from jurist.judges import Judge, JudgeOptions, make_judge
from jurist.judges.answering import judge_item
from jurist.core.judgment import Judgment
from jurist.core.rubric import Rubric
from jurist.engine.local import RunOptions
from jurist.store import Store, default_store_path

T = TypeVar("T")


class RewardJudge:
    """A judge for reward functions; several reward functions may share one (and so one
    cache, one model in memory, one concurrency limit)."""

    def __init__(
        self,
        judge: str | Backend | None = None,
        *,
        store: Store | str | Path | None = None,
        options: JudgeOptions | None = None,
        run: RunOptions | None = None,
        logprobs: bool | None = None,
    ) -> None:
        self.options = options or JudgeOptions()
        self.run_options = run or RunOptions()
        self.stats = CallStats()
        # A Store's connection belongs to its thread: the judge opens its own on the same file.
        self.store_path = (
            store.path
            if isinstance(store, Store)
            else Path(store)
            if store is not None
            else default_store_path()
        )
        self._judge = judge
        self._logprobs = logprobs
        self._judges: dict[tuple[str, str], Judge] = {}
        self._start_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._backend: Backend | None = None
        self._store: Store | None = None

    def judge_for(self, mode: str, rubric: Rubric) -> Judge:
        """The judge of `rubric` in `mode`, built once (a bad rubric fails here, early)."""
        key = (mode, rubric.content_hash)
        found = self._judges.get(key)
        if found is None:
            found = self._judges[key] = make_judge(mode, rubric, self.options)
        return found

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._start_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=loop.run_forever, name="jurist-reward-judge", daemon=True
                )
                thread.start()
                self._loop, self._thread = loop, thread
            return self._loop

    def submit(self, work: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(work, self._started())

    def call(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` on the judge's loop and wait for it (from any thread)."""
        return self.submit(work).result()

    async def acall(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` on the judge's loop and await it from another loop."""
        return await asyncio.wrap_future(self.submit(work))

    def _stack(self) -> Backend:
        """Built on first use, on the judge's own thread."""
        if self._backend is None:
            self._store = Store(self.store_path)
            raw = (
                make_backend(
                    self._judge,
                    timeout=client_timeout(self.run_options.calls),
                    logprobs=self._logprobs,
                )
                if self._judge is None or isinstance(self._judge, str)
                else self._judge
            )
            self._backend = layered(raw, self._store, self.run_options.calls, stats=self.stats)
        return self._backend

    async def judge(self, work: Sequence[tuple[str, Rubric, Item]]) -> list[Judgment]:
        """Judgments of (mode, rubric, item) triples, in order, judged concurrently (the
        limiting layer keeps requests in flight within `run.concurrency`)."""
        backend = self._stack()
        sampling = self.run_options.sampling
        return list(
            await asyncio.gather(
                *(
                    judge_item(backend, self.judge_for(mode, rubric), item, index, sampling)
                    for index, (mode, rubric, item) in enumerate(work)
                )
            )
        )

    async def _aclose(self) -> None:
        if self._backend is not None:
            await self._backend.aclose()
            self._backend = None
        if self._store is not None:
            self._store.close()
            self._store = None

    def close(self) -> None:
        """Release the model or connections and stop the judge's thread; a later call
        starts them again."""
        with self._start_lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._aclose(), loop).result()
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            loop.close()

    def __enter__(self) -> RewardJudge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
