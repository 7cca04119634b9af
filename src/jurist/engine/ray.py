"""The Ray engine: the same grading job spread over a pool of workers on a Ray cluster.

Shape. The driver reads the items lazily and hands them out in batches to a pool of Ray
actors, keeping each worker's queue topped up. Every worker builds its own `JudgeSession`
from the job's `(JudgeSetup, Rubric)` (the embedded model, a transformers model, or a client
to an endpoint; no cache of its own) and judges its items through the session's limiting
and retrying layers, `concurrency` items at a time, so `workers x concurrency` requests are
in flight.

Why batches and a queue on each worker. Against a judge answering in 200 ms at 64 requests
in flight, one Ray call and one streamed object per item cost about 2.5 ms of CPU per
judgment on the driver and as much on the workers (the asyncio engine: 0.5 ms in all), and a
slot freed on a worker stayed empty for a round trip to the driver and back: Ray reached
0.62-0.72 of the asyncio engine's rate on 2 cores. Items now go out in batches and results
come back in batches on one stream per worker (a batch is whatever finished since the last
one, so batches grow with load and cost nothing in latency), and each worker holds up to
`concurrency` items more than it judges: a freed slot is filled from its own queue at once.
That cut the CPU to about 0.75 ms per judgment on the driver and 0.8 ms on the workers,
and Ray keeps up with the asyncio engine (`bench/ray.py`).

Why an actor pool fed by the driver, not Ray Data. Ray Data's `map_batches` over an actor
pool fits a fixed dataset transformed in bulk; grading needs three things it does not give.
(1) The cache is consulted before an item is sent: the driver looks up every answer the item
could need in the SQLite store and sends the hits along, so a re-run or a resumed run costs
no model call, and a fully cached item is judged on the driver without reaching a worker.
(2) A worker streams each new completion back the moment it has it, and the driver stores
it at once: a worker killed mid-item loses none of its finished calls, and the item, sent
again with them, repeats only the calls that were in flight. Ray Data hands
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
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
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
# Calls a worker serves at once: its result stream, the driver's feeds, a health check.
_ACTOR_CALLS = 16


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

    async def complete(self, request: Request) -> Completion:
        completion = await super().complete(request)
        if not completion.cached:
            # One turn of the loop, so the worker's result stream sends this answer on
            # before the item's next call goes out: a worker that dies loses only the calls
            # it had in flight.
            await asyncio.sleep(0)
        return completion

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


# What a worker streams back about an item: (index, "completion", (key, completion)) for
# each new call the moment it is answered, then (index, "judgment", judgment).
Event = tuple[int, str, Any]
# What the driver sends: the item and every answer it could use that the store holds.
Job = tuple[int, Item, dict[str, Completion]]


class JudgeWorker:
    """One worker of the pool (a Ray actor): its own judge session, built from the job's
    setup and rubric, with no cache (the driver owns it); limits and retries are per worker.

    Items arrive in batches (`feed`) into a local queue that `concurrency` judging tasks
    drain, so a finished item's slot is refilled at once from the queue, without waiting a
    round trip to the driver; what they produce leaves in batches too (`results`, one
    stream per worker), so Ray's cost per call is shared by every item of a batch."""

    def __init__(self, setup: JudgeSetup, rubric: Rubric) -> None:
        try:
            self.session = JudgeSession(rubric, setup, cache=False)
        except JuristError as error:
            raise WorkerSetupError(str(error)) from None
        self.stats = self.session.stats
        self.stack = self.session.backend
        self.judge = self.session.planner
        self.sampling = setup.sampling
        self.concurrency = setup.calls.concurrency
        self._inbox: asyncio.Queue[Job] = asyncio.Queue()
        self._events: list[Event] = []
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._error: BaseException | None = None
        self._closed = False

    def describe(self) -> tuple[str, str, str, int]:
        """(identity, name, model, process id): what the driver keys the cache with."""
        return identity_of(self.stack), self.stack.name, self.stack.model, os.getpid()

    async def feed(self, jobs: list[Job]) -> None:
        """Queue items to judge; they are judged `concurrency` at a time."""
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._judging()) for _ in range(self.concurrency)]
        for job in jobs:
            self._inbox.put_nowait(job)

    async def results(self) -> AsyncIterator[list[Event]]:
        """Every event since the last batch, as soon as there is one; a judging error ends
        the stream (and the run) with that error."""
        while not self._closed:
            await self._wake.wait()
            self._wake.clear()
            if self._error is not None:
                raise self._error
            if self._events:
                batch, self._events = self._events, []
                yield batch

    async def _judging(self) -> None:
        while True:
            index, item, known = await self._inbox.get()
            try:
                judgment = await self.judge_one(index, item, known)
            except Exception as error:  # carried to the driver by `results`
                self._error = error
                self._wake.set()
                return
            self._events.append((index, "judgment", judgment))
            self._wake.set()

    async def judge_one(self, index: int, item: Item, known: dict[str, Completion]) -> Judgment:
        """Judge one item; every new completion is queued for the driver as it comes."""

        def keep(key: str, completion: Completion) -> None:
            self._events.append((index, "completion", (key, completion)))
            self._wake.set()

        relay = Relay(self.stack, known, keep, self.stats)
        return await judge_item(relay, self.judge, item, index, self.sampling)

    async def close(self) -> None:
        self._closed = True
        self._wake.set()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.session.aclose()


@dataclass(eq=False)
class _Worker:
    handle: Any
    # Indices sent to it and not yet judged: sent again elsewhere if it dies.
    open: set[int] = field(default_factory=set)
    # Cleared when it dies, set again once it answers after its restart; items go only to
    # ready workers.
    ready: bool = True


@dataclass(eq=False)
class _Open:
    """An item out on a worker, with what it needs to be sent again if that worker dies."""

    item: Item
    known: dict[str, Completion]
    worker: _Worker | None = None
    lost: int = 0  # times its worker died under it
    reason: str = ""


class RayEngine:
    """Grades items on a pool of Ray workers, each built from `(setup, rubric)`; the driver
    (this object) alone reads and writes the cache in `store` and hands each judgment to
    the result sink once.

    Each worker holds up to twice its `concurrency` items (half judged, half queued), and
    is topped up once it has room for half its concurrency, so batches stay large while the
    server always has `workers x concurrency` requests in flight."""

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
        concurrency = setup.calls.concurrency
        self._hold = 2 * concurrency
        self._step = max(1, concurrency // 2)
        self._open: dict[int, _Open] = {}
        self._again: deque[int] = deque()
        self._source: Iterator[tuple[int, Item]] = iter(())
        self._drained = False
        self._filling = asyncio.Lock()
        self._over = asyncio.Event()
        self._failure: BaseException | None = None
        self._sending: set[asyncio.Task[None]] = set()

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
        self._source = ((i, item) for i, item in enumerate(items) if i not in skip)
        self._drained, self._failure = False, None
        self._filling, self._over = asyncio.Lock(), asyncio.Event()
        listeners: list[asyncio.Task[None]] = []
        try:
            await self._start_pool()
            listeners = [asyncio.create_task(self._listen(w)) for w in list(self._pool)]
            await self._guarded(self._fill())
            await self._over.wait()
            if self._failure is not None:
                raise self._failure
        finally:
            for task in listeners:
                task.cancel()
            await asyncio.gather(*listeners, return_exceptions=True)
            await self._stop_pool()
        return self.sink.counters

    async def _guarded(self, step: Awaitable[None]) -> None:
        """The first error anywhere ends the run, as in the asyncio engine."""
        try:
            await step
        except Exception as error:
            if self._failure is None:
                self._failure = error
            self._over.set()
        else:
            if self._drained and not self._open and not self._again:
                self._over.set()

    async def _start_pool(self) -> None:
        import ray

        workers = self.options.workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        actor = ray.remote(JudgeWorker)
        prefix = self.options.name_prefix
        setup = per_worker(self.setup, workers)
        for k in range(workers):
            chosen = actor.options(
                num_cpus=self.options.cpus_per_worker,
                max_restarts=-1,  # a killed worker comes back with a fresh backend
                max_task_retries=0,  # the driver resends its items, with their finished calls
                max_concurrency=_ACTOR_CALLS,
                name=f"{prefix}-{k}" if prefix else None,
            )
            self._pool.append(_Worker(chosen.remote(setup, self.rubric)))
        try:
            described = await self._pool[0].handle.describe.remote()
        except ray.exceptions.RayActorError as error:
            raise BackendError(
                f"the Ray workers could not build the judge: {_last_line(error)}", retryable=False
            ) from None
        self._identity, self._name, self._model, _ = described

    async def _stop_pool(self) -> None:
        import ray

        async def close(worker: _Worker) -> None:
            if worker.ready:  # a dead or stuck worker is killed below anyway
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(worker.handle.close.remote(), timeout=30)
            ray.kill(worker.handle)

        await asyncio.gather(*(close(worker) for worker in self._pool))
        self._pool.clear()

    async def _listen(self, worker: _Worker) -> None:
        """Take in one worker's results for the whole run, through its deaths and restarts."""
        import ray

        while True:
            try:
                async for ref in worker.handle.results.remote():
                    events = await ref
                    await self._guarded(self._take(worker, events))
                return
            except ray.exceptions.RayActorError as error:
                # Its items go to other workers with the calls they had already finished.
                self._orphan(worker, _last_line(error))
                await self._guarded(self._fill())
                if not await self._revived(worker):
                    await self._guarded(self._fill())
                    return
                await self._guarded(self._fill())
            except Exception as error:  # a judging error: the end of the run
                await self._guarded(_raise(error))
                return

    async def _take(self, worker: _Worker, events: list[Event]) -> None:
        """Store a batch's new completions in one transaction, then hand on its judgments."""
        fresh = [(self._open[i], payload) for i, kind, payload in events
                 if kind == "completion" and i in self._open]  # fmt: skip
        if self.store is not None and fresh:
            self.store.put_completions((key, self._name, self._model, completion)
                                       for _, (key, completion) in fresh)  # fmt: skip
        for entry, (key, completion) in fresh:
            entry.known[key] = completion.model_copy(update={"cached": True, "attempts": 0})
        for index, kind, judgment in events:
            entry = self._open.get(index)
            # Only the worker it is out on may finish it: exactly once, whoever died.
            if kind == "judgment" and entry is not None and entry.worker is worker:
                del self._open[index]
                worker.open.discard(index)
                self._record(judgment)
        await self._fill()

    async def _fill(self) -> None:
        """Top up every ready worker with room for half its concurrency, least busy first."""
        async with self._filling:
            for worker in sorted(self._pool, key=lambda w: len(w.open)):
                if not worker.ready or len(worker.open) > self._hold - self._step:
                    continue
                jobs: list[Job] = []
                while len(worker.open) < self._hold and (index := await self._next()) is not None:
                    entry = self._open[index]
                    entry.worker = worker
                    worker.open.add(index)
                    jobs.append((index, entry.item, entry.known))
                if jobs:
                    task = asyncio.create_task(self._guarded(self._send(worker, jobs)))
                    self._sending.add(task)
                    task.add_done_callback(self._sending.discard)
            if not self._pool and (self._again or not self._drained):
                raise BackendError(
                    "every Ray worker died and none could be restarted", retryable=False
                )

    async def _send(self, worker: _Worker, jobs: list[Job]) -> None:
        import ray

        # A worker that died takes its items with it; its listener sends them again.
        with contextlib.suppress(ray.exceptions.RayActorError):
            await worker.handle.feed.remote(jobs)

    async def _next(self) -> int | None:
        """The next item to send out (one whose worker died first, then a new one), with its
        index in `_open`; an item the cache answers whole is judged here and never sent."""
        while self._again:
            index = self._again.popleft()
            entry = self._open[index]
            if entry.lost < self.options.attempts_per_item:
                return index
            del self._open[index]
            lost = self.options.attempts_per_item
            reason = f"its worker was lost {lost} times: {entry.reason}"
            self._record(self._failed(index, entry.item, reason))
        while not self._drained:
            try:
                index, item = next(self._source)
            except StopIteration:
                self._drained = True
                return None
            known = self._known(item)
            if known:
                cached = CacheOnly(self._identity, self._name, self._model, known)
                try:
                    self._record(await judge_item(cached, self.judge, item, index, self.sampling))
                    continue
                except CacheMiss:
                    pass
            self._open[index] = _Open(item, known)
            return index
        return None

    def _record(self, judgment: Judgment) -> None:
        # No layers on the driver count calls: each judgment brings its own.
        self.sink.counters.calls += judgment.calls
        self.sink.counters.cache_hits += judgment.cache_hits
        self.sink.add(judgment)

    def _known(self, item: Item) -> dict[str, Completion]:
        """Every answer the item could use that the store already holds. A re-ask is sent
        only after the one before it, so a missing re-ask ends that chain."""
        if self.store is None:
            return {}
        found: dict[str, Completion] = {}
        for call in self.judge.calls(item):
            for sample in range(self.sampling.samples):
                for retry in range(self.sampling.parse_retries + 1):
                    request = varied(call.request, sample, retry, self.sampling)
                    key = request.cache_key(self._identity)
                    if (hit := self.store.get_completion(key)) is None:
                        break
                    found[key] = hit
        return found

    def _orphan(self, worker: _Worker, reason: str) -> None:
        """A worker died: its items are sent again, each counting one loss."""
        worker.ready = False
        for index in sorted(worker.open):
            entry = self._open[index]
            entry.worker, entry.lost, entry.reason = None, entry.lost + 1, reason
            self._again.append(index)
        worker.open.clear()

    async def _revived(self, worker: _Worker) -> bool:
        """Wait for Ray to restart a dead worker; drop it when it cannot come back."""
        import ray

        pause = 0.2
        while True:
            try:
                await worker.handle.describe.remote()
            except ray.exceptions.ActorDiedError:
                self._pool.remove(worker)
                return False
            except ray.exceptions.RayActorError:
                await asyncio.sleep(pause)
                pause = min(2.0, pause * 2)
                continue
            worker.ready = True
            return True

    def _failed(self, index: int, item: Item, reason: str) -> Judgment:
        """An honest failure for an item no worker could finish."""
        answers = {
            call.key: [Answer("failed", error=reason)] * self.sampling.samples
            for call in self.judge.calls(item)
        }
        return self.judge.judgment(item, index, answers, self._identity)


async def _raise(error: BaseException) -> None:
    raise error


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
