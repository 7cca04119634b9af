"""The judge behind rewards: one `JudgeSession` (cache, retries, adaptive concurrency) on a
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
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from jurist.backends import Backend, CallStats
from jurist.core.data import Item
from jurist.core.judgment import Judgment
from jurist.core.rubric import Rubric
from jurist.judges import make_judge
from jurist.session import JudgeSession, JudgeSetup
from jurist.store import Store, default_store_path

T = TypeVar("T")


class RewardJudge:
    """A judge for reward functions; several reward functions may share one (and so one
    cache, one model in memory, one concurrency limit).

    `judge`: a spec (it replaces `setup.judge`) or a ready backend (borrowed: the caller
    closes it). `setup`: the options, call policy and sampling every reward is judged with.
    """

    def __init__(
        self,
        judge: str | Backend | None = None,
        *,
        store: Store | str | Path | None = None,
        setup: JudgeSetup | None = None,
    ) -> None:
        setup = setup or JudgeSetup()
        self.setup = replace(setup, judge=judge) if isinstance(judge, str) else setup
        self.stats = CallStats()
        # A Store's connection belongs to its thread: the judge opens its own on the same file.
        self.store_path = (
            store.path
            if isinstance(store, Store)
            else Path(store)
            if store is not None
            else default_store_path()
        )
        self._backend = None if judge is None or isinstance(judge, str) else judge
        self._checked: set[tuple[str, str]] = set()
        self._children: dict[tuple[str, str], JudgeSession] = {}
        self._start_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._session: JudgeSession | None = None

    def check(self, mode: str, rubric: Rubric) -> None:
        """Refuse a rubric that cannot be judged in `mode` now, before any call is made."""
        key = (mode, rubric.content_hash)
        if key not in self._checked:
            make_judge(mode, rubric, self.setup.options)
            self._checked.add(key)

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

    def _root(self) -> JudgeSession:
        """Built on first use, on the judge's own thread."""
        if self._session is None:
            self._session = JudgeSession(
                setup=self.setup,
                store=self.store_path,
                backend=self._backend,
                stats=self.stats,
            )
        return self._session

    def _judging(self, mode: str, rubric: Rubric) -> JudgeSession:
        key = (mode, rubric.content_hash)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = self._root().with_options(rubric=rubric, mode=mode)
        return found

    async def judge(self, work: Sequence[tuple[str, Rubric, Item]]) -> list[Judgment]:
        """Judgments of (mode, rubric, item) triples, in order, judged concurrently (the
        limiting layer keeps requests in flight within `setup.calls.concurrency`)."""
        return list(
            await asyncio.gather(
                *(
                    self._judging(mode, rubric).judge_item(item, index)
                    for index, (mode, rubric, item) in enumerate(work)
                )
            )
        )

    async def _aclose(self) -> None:
        session, self._session = self._session, None
        self._children.clear()
        if session is not None:
            await session.aclose()  # closes the store it opened and the backend it built

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
