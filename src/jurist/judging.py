"""The library entry for judging: `judge(rubric, items)` and its async twin.

Grading runs, rubric pipelines, rewards and training loops all need "ask this judge about
these items, cached and retried, within limits" without a run folder. `JudgeSession`
composes the backend and its layers once and can be called many times (also from several
`asyncio.run` calls); `judge` / `ajudge` are the one-shot forms.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from jurist.backends import Backend, CallStats, layered, make_backend
from jurist.backends.stack import client_timeout
from jurist.data import Item
from jurist.judges import JudgeOptions, make_judge
from jurist.judgment import Judgment
from jurist.rubric import Rubric, load_rubric
from jurist.runner import Runner, RunOptions
from jurist.store import Store

ItemLike = Item | Mapping[str, Any]


def _as_item(value: ItemLike, index: int) -> Item:
    if isinstance(value, Item):
        return value
    record = dict(value)
    record.setdefault("id", str(index))
    return Item.model_validate(record)


class JudgeSession:
    """A judge ready to be asked many times; every call goes through the one layer stack."""

    def __init__(
        self,
        rubric: Rubric | str | Path,
        *,
        judge: str | Backend | None = None,
        mode: str = "pointwise",
        store: Store | str | Path | None = None,
        options: JudgeOptions | None = None,
        run: RunOptions | None = None,
        logprobs: bool | None = None,
    ) -> None:
        self.rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
        self.options = options or JudgeOptions()
        self.run_options = run or RunOptions()
        self.judge = make_judge(mode, self.rubric, self.options)
        self.store = store if isinstance(store, Store) else Store(store)
        self._owns_store = not isinstance(store, Store)
        backend = (
            make_backend(judge, timeout=client_timeout(self.run_options.calls), logprobs=logprobs)
            if judge is None or isinstance(judge, str)
            else judge
        )
        self.stats = CallStats()
        self.backend = layered(backend, self.store, self.run_options.calls, stats=self.stats)

    async def ajudge(self, items: Iterable[ItemLike]) -> list[Judgment]:
        """Judgments in the order of `items` (each item judged once, calls cached)."""
        found: dict[int, Judgment] = {}
        runner = Runner(
            self.backend,
            self.judge,
            self.store,
            self.run_options,
            on_result=lambda judgment: found.__setitem__(judgment.index, judgment),
            layer=False,
        )
        await runner.run(_as_item(item, index) for index, item in enumerate(items))
        return [found[index] for index in sorted(found)]

    def __call__(self, items: Iterable[ItemLike]) -> list[Judgment]:
        return asyncio.run(self.ajudge(items))

    async def aclose(self) -> None:
        await self.backend.aclose()
        if self._owns_store:
            self.store.close()

    def close(self) -> None:
        asyncio.run(self.aclose())


async def ajudge(
    rubric: Rubric | str | Path, items: Iterable[ItemLike], **options: Any
) -> list[Judgment]:
    """Judge `items` against `rubric` once: cached in `store` (default: the user's store).
    Takes JudgeSession's keyword options (judge, mode, store, options, run, logprobs)."""
    session = JudgeSession(rubric, **options)
    try:
        return await session.ajudge(items)
    finally:
        await session.aclose()


def judge(rubric: Rubric | str | Path, items: Iterable[ItemLike], **options: Any) -> list[Judgment]:
    """`ajudge` for code that is not async; takes the same keyword options."""
    return asyncio.run(ajudge(rubric, items, **options))
