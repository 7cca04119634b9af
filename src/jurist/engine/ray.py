"""The Ray engine: the same grading job spread over a pool of workers on a Ray cluster.

Shape. The driver reads the items lazily, keeps at most `workers x concurrency` of them in
flight, and hands each to the least busy worker of a pool of Ray actors. Every worker builds
its own `JudgeSession` from the job's `(JudgeSetup, Rubric)` (the embedded model, a
transformers model, or a client to an endpoint; no cache of its own) and judges its items
through the session's limiting and retrying layers, `concurrency` items at a time.

Why an actor pool fed by the driver, not Ray Data. Ray Data's `map_batches` over an actor
pool fits a fixed dataset transformed in bulk; grading needs three things it does not give.
(1) The cache is consulted before an item is sent: the driver looks up every answer the item
could need in the SQLite store and sends the hits along, so a re-run or a resumed run costs
no model call, and a fully cached item is judged on the driver without reaching a worker.
(2) A worker returns each new completion the moment it has it (a streaming generator), so
the driver stores it at once: a worker killed mid-item loses none of its finished calls, and
the item, sent again with them, repeats only the calls that were in flight. Ray Data hands
back a batch only when it is whole, and retries a failed batch from scratch. (3) Items come
from a generator and memory stays flat; `ray.data.from_items` wants a list, and reading the
file inside Ray Data would move the cache lookups off the driver. Throughput is not the
reason: measured on a shared 2-core machine with a 200 ms stand-in judge, a Ray Data
actor pool (`map_batches`, 2 async actors) kept up in steady state (0.84 of ideal at 8 rows
in flight) but gave its first row after 7-13 s of planning and start-up, and a batch returns
only when its slowest row does.

Why the driver alone writes. SQLite allows one writer, and `results.jsonl` must hold each
item exactly once. Workers never touch the store or the results file: completions and
judgments are streamed back and written by the driver in the order they finish, as the
asyncio engine does, so a killed driver resumes with `--resume` exactly like the asyncio
engine, and both engines share one cache. Shards merged at the end would need a merge step
after every kill and would keep finished work out of the cache until then.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from jurist.backends.base import Backend, CallStats, identity_of
from jurist.backends.caching import CachingBackend
from jurist.core.completion import Completion, Request
from jurist.core.data import Item
from jurist.core.errors import BackendError, ConfigError, JuristError
from jurist.core.judgment import Judgment
from jurist.core.rubric import Rubric
from jurist.engine.sink import ResultSink, RunCounters
from jurist.judges import make_judge
from jurist.judges.answering import SamplingOptions, judge_item, varied
from jurist.judges.base import Answer, Judge
from jurist.session import JudgeSession, JudgeSetup
from jurist.store import Store

__all__ = [
    "CacheMiss",
    "CacheOnly",
    "JudgeWorker",
    "RayEngine",
    "RayOptions",
    "Relay",
    "per_worker",
]

# A local cluster started by the engine: no dashboard, a small object store (judgments and
# completions are small; nothing large ever travels), bound to loopback.
LOCAL_OBJECT_STORE_BYTES = 96 * 1024**2


@dataclass(frozen=True)
class RayOptions:
    """Where and how wide: `address` None starts a local cluster (or joins `RAY_ADDRESS`);
    `workers` None is one worker per CPU of the cluster."""

    address: str | None = None
    workers: int | None = None
    cpus_per_worker: float = 1.0
    # Times an item is sent again after its worker died before it is recorded as failed.
    attempts_per_item: int = 4
    # Names the workers `{name_prefix}-{k}` (default `jurist-{run id}`), so an operator can
    # find them with `ray.get_actor`.
    name_prefix: str | None = None


class _RelayCache:
    """A worker's completion cache: the answers the driver sent with the item, and every
    new answer handed to `sink` so the driver stores it before the item is finished."""

    def __init__(
        self, known: dict[str, Completion], sink: Callable[[str, Completion], None]
    ) -> None:
        self.known = known
        self.sink = sink

    def get_completion(self, key: str) -> Completion | None:
        return self.known.get(key)

    def put_completion(self, key: str, backend: str, model: str, completion: Completion) -> None:
        self.known[key] = completion.model_copy(update={"cached": True, "attempts": 0})
        self.sink(key, completion)


class Relay(CachingBackend):
    """A worker's cache layer: the usual caching (and sharing of identical requests in
    flight) over the driver's answers instead of the store, which only the driver holds."""

    def __init__(
        self,
        inner: Backend,
        known: dict[str, Completion],
        sink: Callable[[str, Completion], None],
        stats: CallStats,
    ) -> None:
        super().__init__(inner, _RelayCache(known, sink), stats)

    async def aclose(self) -> None:
        """The worker's backend outlives each item; the worker closes it."""


class CacheMiss(Exception):
    """An answer the cache does not hold: the item must go to a worker."""


class CacheOnly:
    """Answers only from the completions the driver found; a miss sends the item out."""

    def __init__(self, identity: str, name: str, model: str, known: dict[str, Completion]) -> None:
        self.identity = identity
        self.name = name
        self.model = model
        self.known = known

    async def complete(self, request: Request) -> Completion:
        hit = self.known.get(request.cache_key(self.identity))
        if hit is None:
            raise CacheMiss
        return hit

    async def aclose(self) -> None:
        pass


class WorkerSetupError(RuntimeError):
    """Why a worker could not build its judge; a plain error, so Ray can carry it back."""


class JudgeWorker:
    """One worker of the pool (a Ray actor): its own judge session, built from the job's
    setup and rubric, with no cache (the driver owns it); limits and retries are per worker."""

    def __init__(self, setup: JudgeSetup, rubric: Rubric) -> None:
        try:
            self.session = JudgeSession(rubric, setup, cache=False)
        except JuristError as error:
            raise WorkerSetupError(str(error)) from None
        self.stats = self.session.stats
        self.stack = self.session.backend
        self.judge = self.session.planner
        self.sampling = setup.sampling

    def describe(self) -> tuple[str, str, str, int]:
        """(identity, name, model, process id): what the driver keys the cache with."""
        return identity_of(self.stack), self.stack.name, self.stack.model, os.getpid()

    async def judge_one(
        self, index: int, item: Item, known: dict[str, Completion]
    ) -> AsyncIterator[tuple[str, Any]]:
        """Yields ("completion", (key, completion)) for each new call as it is answered,
        then ("judgment", judgment)."""
        fresh: asyncio.Queue[tuple[str, Completion] | None] = asyncio.Queue()
        relay = Relay(self.stack, known, lambda k, c: fresh.put_nowait((k, c)), self.stats)
        task = asyncio.create_task(judge_item(relay, self.judge, item, index, self.sampling))
        task.add_done_callback(lambda _: fresh.put_nowait(None))
        try:
            while (entry := await fresh.get()) is not None:
                yield "completion", entry
            yield "judgment", task.result()
        finally:
            task.cancel()

    async def close(self) -> None:
        await self.session.aclose()


@dataclass
class _Worker:
    handle: Any
    load: int = 0
    # Cleared when an item on it fails because it died, set again once it answers after
    # its restart; items go only to ready workers.
    ready: bool = True
    revival: asyncio.Task[None] | None = None


class RayEngine:
    """Grades items on a pool of Ray workers, each built from `(setup, rubric)`; the driver
    (this object) alone reads and writes the cache in `store` and hands each judgment to
    the result sink once."""

    def __init__(
        self,
        setup: JudgeSetup,
        rubric: Rubric,
        store: Store | None,
        options: RayOptions | None = None,
        *,
        sink: ResultSink | None = None,
    ) -> None:
        if setup.kind == "openai-batch":
            raise ConfigError(
                "a batch API judge runs on the asyncio engine: the provider does the work, "
                "and its batch ids live in the store, which Ray workers do not hold"
            )
        self.setup = setup
        self.rubric = rubric
        self.store = store
        self.options = options or RayOptions()
        self.sink = sink if sink is not None else ResultSink()
        # The driver plans calls and reads the cache; it never builds a backend.
        self.judge: Judge = make_judge(setup.mode, rubric, setup.options)
        self.sampling: SamplingOptions = setup.sampling
        self._pool: list[_Worker] = []
        self._identity = self._name = self._model = ""

    @property
    def counters(self) -> RunCounters:
        return self.sink.counters

    def run(self, items: Iterable[Item], skip: set[int] | None = None) -> RunCounters:
        """Judge every item whose index is not in `skip`; joins (or starts) the cluster and
        leaves a cluster it started shut down."""
        import ray

        run_id = self.sink.run_id
        if self.options.name_prefix is None and run_id is not None:
            self.options = replace(self.options, name_prefix=f"jurist-{run_id}")
        started = not ray.is_initialized()
        if started:
            _start_ray(self.options.address)
        try:
            return asyncio.run(self._run(items, skip or set()))
        finally:
            if started:
                ray.shutdown()

    async def _run(self, items: Iterable[Item], skip: set[int]) -> RunCounters:
        pending: set[asyncio.Task[None]] = set()
        try:
            await self._start_pool()
            capacity = len(self._pool) * self.setup.calls.concurrency
            for index, item in enumerate(items):
                if index in skip:
                    continue
                while len(pending) >= capacity:
                    pending = await _first_done(pending)
                pending.add(asyncio.create_task(self._item(index, item)))
            while pending:
                pending = await _first_done(pending)
        finally:
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            await self._stop_pool()
        return self.sink.counters

    async def _start_pool(self) -> None:
        import ray
        from ray.exceptions import RayActorError

        workers = self.options.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        actor = ray.remote(JudgeWorker)
        prefix = self.options.name_prefix
        setup = per_worker(self.setup, workers)
        for k in range(workers):
            chosen = actor.options(
                num_cpus=self.options.cpus_per_worker,
                max_restarts=-1,  # a killed worker comes back with a fresh backend
                max_task_retries=0,  # the driver resends the item, with its finished calls
                max_concurrency=max(2, self.setup.calls.concurrency + 2),
                name=f"{prefix}-{k}" if prefix else None,
            )
            self._pool.append(_Worker(chosen.remote(setup, self.rubric)))
        try:
            described = await self._pool[0].handle.describe.remote()
        except RayActorError as error:
            raise BackendError(
                f"the Ray workers could not build the judge: {_last_line(error)}", retryable=False
            ) from None
        self._identity, self._name, self._model, _ = described

    async def _stop_pool(self) -> None:
        import ray

        for worker in self._pool:
            if worker.revival is not None:
                worker.revival.cancel()
            # A dead or stuck worker is killed below anyway.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(worker.handle.close.remote(), timeout=30)
            ray.kill(worker.handle)
        self._pool.clear()

    def _known(self, item: Item) -> dict[str, Completion]:
        """Every answer the item could use that the store already holds."""
        if self.store is None:
            return {}
        found: dict[str, Completion] = {}
        for call in self.judge.calls(item):
            for sample in range(self.sampling.samples):
                for retry in range(self.sampling.parse_retries + 1):
                    key = varied(call.request, sample, retry, self.sampling).cache_key(
                        self._identity
                    )
                    if (hit := self.store.get_completion(key)) is not None:
                        found[key] = hit
        return found

    async def _item(self, index: int, item: Item) -> None:
        judgment = await self._judged(index, item)
        # No layers on the driver count calls: each judgment brings its own.
        self.sink.counters.calls += judgment.calls
        self.sink.counters.cache_hits += judgment.cache_hits
        self.sink.add(judgment)

    async def _judged(self, index: int, item: Item) -> Judgment:
        from ray.exceptions import RayActorError

        known = self._known(item)
        if known:
            cached = CacheOnly(self._identity, self._name, self._model, known)
            try:
                return await judge_item(cached, self.judge, item, index, self.sampling)
            except CacheMiss:
                pass
        reason = ""
        for _ in range(self.options.attempts_per_item):
            worker = await self._ready_worker()
            worker.load += 1
            try:
                async for ref in worker.handle.judge_one.remote(index, item, known):
                    kind, payload = await ref
                    if kind == "judgment":
                        return payload
                    key, completion = payload
                    if self.store is not None:
                        self.store.put_completion(key, self._name, self._model, completion)
                    known[key] = completion.model_copy(update={"cached": True, "attempts": 0})
            except RayActorError as error:
                # The worker died; its finished calls are in `known` already.
                reason = _last_line(error)
                self._lost(worker)
            finally:
                worker.load -= 1
        lost = self.options.attempts_per_item
        return self._failed(index, item, f"its worker was lost {lost} times: {reason}")

    async def _ready_worker(self) -> _Worker:
        """The least busy worker that is up, waiting while every worker restarts."""
        while True:
            ready = [worker for worker in self._pool if worker.ready]
            if ready:
                return min(ready, key=lambda worker: worker.load)
            if not self._pool:
                raise BackendError(
                    "every Ray worker died and none could be restarted", retryable=False
                )
            await asyncio.sleep(0.1)

    def _lost(self, worker: _Worker) -> None:
        if worker.ready:
            worker.ready = False
            worker.revival = asyncio.create_task(self._revive(worker))

    async def _revive(self, worker: _Worker) -> None:
        """Wait for Ray to restart a dead worker; drop it when it cannot come back."""
        from ray.exceptions import ActorDiedError, RayActorError

        pause = 0.2
        while True:
            try:
                await worker.handle.describe.remote()
            except ActorDiedError:
                self._pool.remove(worker)
                return
            except RayActorError:
                await asyncio.sleep(pause)
                pause = min(2.0, pause * 2)
                continue
            worker.ready = True
            return

    def _failed(self, index: int, item: Item, reason: str) -> Judgment:
        """An honest failure for an item no worker could finish."""
        answers = {
            call.key: [Answer("failed", error=reason)] * self.sampling.samples
            for call in self.judge.calls(item)
        }
        return self.judge.judgment(item, index, answers, self._identity)


async def _first_done(pending: set[asyncio.Task[None]]) -> set[asyncio.Task[None]]:
    """Wait for one item to finish; the first error ends the run, as in the asyncio engine."""
    done, rest = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    for task in done:
        task.result()
    return rest


def _last_line(error: BaseException) -> str:
    """The telling line of a Ray error, whose text carries a remote traceback."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    return re.sub(r"^[\w.]+(Error|Exception): ", "", lines[-1])


def per_worker(setup: JudgeSetup, workers: int) -> JudgeSetup:
    """Each worker limits its own calls, so a job's request and token rates are shared out."""
    calls = setup.calls
    return replace(
        setup,
        calls=replace(
            calls,
            rpm=calls.rpm / workers if calls.rpm else None,
            tpm=calls.tpm / workers if calls.tpm else None,
        ),
    )


def _start_ray(address: str | None) -> None:
    """Join the cluster at `address` (or `RAY_ADDRESS`), else start a small local one."""
    import ray

    if address or os.environ.get("RAY_ADDRESS"):
        ray.init(address=address, log_to_driver=False)
        return
    ray.init(
        include_dashboard=False,
        object_store_memory=LOCAL_OBJECT_STORE_BYTES,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
    )
