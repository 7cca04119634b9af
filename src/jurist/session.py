"""The one place a judge is built: a `JudgeSetup` becomes backend -> layers -> judge.

Everything that asks a judge (grading, juries, rubric pipelines, rewards, training, the Ray
worker, injection audits, the pytest plugin) gets it from a `JudgeSession`, so each of them
has the same caching, retrying and throttling, and ownership is decided once: a session
closes only what it built (a backend or store handed to it stays open for its owner).

`JudgeSetup` is frozen and picklable (a Ray worker is built from it); `JudgeSession` can be
called many times, also from several `asyncio.run` calls. `with_options` hands out a judge
with other options, rubric or mode over the same stack: one model in memory, one limiter
that sees every request, one cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from jurist.backends import (
    DEFAULT_API_KEY_ENV,
    Backend,
    CallPolicy,
    CallStats,
    layered,
    make_backend,
    parse_judge_spec,
)
from jurist.backends.stack import client_timeout, items_in_flight
from jurist.core.data import Item
from jurist.core.errors import ConfigError
from jurist.core.judgment import Judgment
from jurist.core.rubric import Rubric, load_rubric
from jurist.core.secrets import redact_urls
from jurist.judges import Judge, JudgeOptions, make_judge
from jurist.judges.answering import SamplingOptions, judge_item
from jurist.store import Store

__all__ = [
    "ItemJudge",
    "ItemLike",
    "JudgeSession",
    "JudgeSetup",
    "ajudge",
    "as_item",
    "judge",
    "judge_all",
]

ItemLike = Item | Mapping[str, Any]

# Backends that read token probabilities for free (the model runs in this process); a
# server is asked for them only when the user says so, since some refuse or charge.
_LOGPROBS_BY_DEFAULT = frozenset({"local", "hf"})


@dataclass(frozen=True)
class JudgeSetup:
    """Which judge answers and how: the spec, the mode, prompt options, call policy and
    sampling. Everything that decides a judgment's prompts or calls, and nothing about
    where results go; frozen and picklable."""

    judge: str | None = field(
        default=None,
        metadata={
            "help": "local (default: embedded Gemma 3 270M), local:PATH.gguf, openai:MODEL, "
            "openai:URL#MODEL"
        },
    )
    mode: str = "pointwise"
    options: JudgeOptions = field(default_factory=JudgeOptions)
    calls: CallPolicy = field(default_factory=CallPolicy)
    sampling: SamplingOptions = field(default_factory=SamplingOptions)
    api_key_env: str = field(
        default=DEFAULT_API_KEY_ENV, metadata={"help": "Environment variable holding the API key."}
    )
    # None: on for in-process models, off for servers (the one default, decided here).
    logprobs: bool | None = field(
        default=None,
        metadata={
            "help": "Ask for token log-probabilities (score distributions). Default: on for local, "
            "off for openai."
        },
    )

    @property
    def kind(self) -> str:
        return parse_judge_spec(self.judge).kind

    @property
    def reads_logprobs(self) -> bool:
        """Whether the backend is asked for token probabilities."""
        if self.logprobs is not None:
            return self.logprobs
        return self.kind in _LOGPROBS_BY_DEFAULT

    @property
    def label(self) -> str:
        """The judge as reports name it: without credentials in its URL."""
        return redact_urls(self.judge) if self.judge else "local"

    def check(self) -> None:
        """Refuse an unknown judge spec before anything is written."""
        parse_judge_spec(self.judge)

    def with_changes(self, **changes: Any) -> JudgeSetup:
        return replace(self, **changes)

    def build_backend(self) -> Backend:
        """The raw backend the spec names (heavy libraries imported only now)."""
        return make_backend(
            self.judge,
            api_key_env=self.api_key_env,
            timeout=client_timeout(self.calls),
            logprobs=self.logprobs,
        )


@runtime_checkable
class ItemJudge(Protocol):
    """Anything an engine can schedule: a session, a jury panel."""

    @property
    def in_flight(self) -> int:
        """How many items may be judged at once."""
        ...

    async def judge_item(self, item: Item, index: int) -> Judgment: ...

    async def aclose(self) -> None: ...


def as_item(value: ItemLike, index: int) -> Item:
    """An `Item` from an item or a plain mapping (its id defaults to its position)."""
    if isinstance(value, Item):
        return value
    record = dict(value)
    record.setdefault("id", str(index))
    return Item.model_validate(record)


@dataclass
class _Stack:
    """What a root session built and its `with_options` children share."""

    raw: Backend
    backend: Backend
    store: Store | None
    stats: CallStats
    owns_store: bool
    # A backend handed in is the caller's to close; the layers only forward `aclose`.
    owns_backend: bool


class JudgeSession:
    """A judge ready to be asked many times; every call goes through one layered stack.

    `store`: a Store (borrowed), a path or None (the user's store, opened and closed here),
    or `cache=False` for no cache at all (a Ray worker, whose driver holds the cache).
    `backend`: a ready backend to use instead of building the one `setup.judge` names; it
    is borrowed, never closed here. `rubric` None: only the stack, for callers whose rubrics
    come later (a rubric pipeline, rewards); they judge through `with_options(rubric=...)`.
    """

    def __init__(
        self,
        rubric: Rubric | str | Path | None = None,
        setup: JudgeSetup | None = None,
        *,
        store: Store | str | Path | None = None,
        cache: bool = True,
        backend: Backend | None = None,
        stats: CallStats | None = None,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        _stack: _Stack | None = None,
    ) -> None:
        if rubric is not None and not isinstance(rubric, Rubric):
            rubric = load_rubric(rubric)
        self._rubric = rubric
        self.setup = setup or JudgeSetup()
        self._planner = (
            None if rubric is None else make_judge(self.setup.mode, rubric, self.options)
        )
        self._owner = _stack is None
        if _stack is None:
            self.setup.check()
            owns_store = cache and not isinstance(store, Store)
            opened = (store if isinstance(store, Store) else Store(store)) if cache else None
            raw = self.setup.build_backend() if backend is None else backend
            stats = stats if stats is not None else CallStats()
            stack = layered(raw, opened, self.setup.calls, stats=stats, sleep=sleep)
            _stack = _Stack(raw, stack, opened, stats, owns_store, owns_backend=backend is None)
        self._stack = _stack

    @property
    def rubric(self) -> Rubric:
        if self._rubric is None:
            raise ConfigError("this session has no rubric: judge with with_options(rubric=...)")
        return self._rubric

    @property
    def planner(self) -> Judge:
        """The mode's judge: which calls an item needs and how their answers merge."""
        if self._planner is None:
            raise ConfigError("this session has no rubric: judge with with_options(rubric=...)")
        return self._planner

    @property
    def backend(self) -> Backend:
        """The layered stack (cache -> retries -> limits -> backend)."""
        return self._stack.backend

    @property
    def raw_backend(self) -> Backend:
        return self._stack.raw

    @property
    def store(self) -> Store | None:
        return self._stack.store

    @property
    def stats(self) -> CallStats:
        return self._stack.stats

    @property
    def options(self) -> JudgeOptions:
        return self.setup.options

    @property
    def in_flight(self) -> int:
        return items_in_flight(self._stack.raw, self.setup.calls.concurrency)

    def with_options(
        self,
        options: JudgeOptions | None = None,
        *,
        rubric: Rubric | None = None,
        mode: str | None = None,
        sampling: SamplingOptions | None = None,
    ) -> JudgeSession:
        """Another judge over this session's stack; closing it closes nothing."""
        setup = replace(
            self.setup,
            options=options or self.setup.options,
            mode=mode or self.setup.mode,
            sampling=sampling or self.setup.sampling,
        )
        return JudgeSession(rubric or self._rubric, setup, _stack=self._stack)

    async def judge_item(self, item: Item, index: int) -> Judgment:
        """One item's calls through the stack, merged into its Judgment."""
        return await judge_item(self.backend, self.planner, item, index, self.setup.sampling)

    async def ajudge(self, items: Iterable[ItemLike]) -> list[Judgment]:
        """Judgments in the order of `items`, at most `in_flight` items at once."""
        return await judge_all(self, items)

    def judge(self, items: Iterable[ItemLike]) -> list[Judgment]:
        """`ajudge` for code that is not async."""
        return asyncio.run(self.ajudge(items))

    __call__ = judge

    async def aclose(self) -> None:
        """Close what this session built; a `with_options` child closes nothing."""
        if not self._owner:
            return
        if self._stack.owns_backend:
            await self._stack.backend.aclose()
        if self._stack.owns_store and self._stack.store is not None:
            self._stack.store.close()

    def close(self) -> None:
        asyncio.run(self.aclose())

    async def __aenter__(self) -> JudgeSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __enter__(self) -> JudgeSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def judge_all(judging: ItemJudge, items: Iterable[ItemLike]) -> list[Judgment]:
    """Every item judged by `judging` (a session, a panel), in the order of `items`, at most
    `judging.in_flight` at once: the whole list in memory, for callers that want it so."""
    slots = asyncio.Semaphore(judging.in_flight)

    async def one(index: int, item: Item) -> Judgment:
        async with slots:  # items start in order; each item's calls go back to back
            return await judging.judge_item(item, index)

    listed = [as_item(item, index) for index, item in enumerate(items)]
    return list(await asyncio.gather(*(one(i, item) for i, item in enumerate(listed))))


async def ajudge(
    rubric: Rubric | str | Path,
    items: Iterable[ItemLike],
    setup: JudgeSetup | None = None,
    *,
    judge: str | Backend | None = None,
    mode: str | None = None,
    store: Store | str | Path | None = None,
    backend: Backend | None = None,
) -> list[Judgment]:
    """Judge `items` against `rubric` once, cached in `store` (default: the user's store).

    The one-shot shorthand: `judge` is a spec (or a ready backend, borrowed) and `mode`
    a judging mode, each replacing that part of `setup`."""
    setup = setup or JudgeSetup()
    if isinstance(judge, str):
        setup = replace(setup, judge=judge)
    elif judge is not None:
        backend = judge
    if mode is not None:
        setup = replace(setup, mode=mode)
    session = JudgeSession(rubric, setup, store=store, backend=backend)
    try:
        return await session.ajudge(items)
    finally:
        await session.aclose()


def judge(
    rubric: Rubric | str | Path,
    items: Iterable[ItemLike],
    setup: JudgeSetup | None = None,
    *,
    judge: str | Backend | None = None,
    mode: str | None = None,
    store: Store | str | Path | None = None,
    backend: Backend | None = None,
) -> list[Judgment]:
    """`ajudge` for code that is not async; takes the same arguments."""
    return asyncio.run(
        ajudge(rubric, items, setup, judge=judge, mode=mode, store=store, backend=backend)
    )
