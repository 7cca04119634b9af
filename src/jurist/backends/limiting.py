"""The limiting layer: how many requests go out at once, and how fast.

Concurrency adapts like TCP's congestion window (additive increase, multiplicative
decrease): a 429 or a timeout halves the number of requests allowed in flight, each
success grows it back by about one per round, and `--concurrency` is the ceiling.
Optional token buckets keep under a requests-per-minute and a tokens-per-minute quota.

The per-request timeout lives here because this layer knows how many requests are in
flight: a server that serialises requests (llama.cpp's servers with one slot) is still
working for us while our request waits behind the others, so the deadline scales with the
number in flight when the request was sent instead of abandoning work the server goes on
doing anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Callable

from jurist.backends.base import Backend, CallStats, identity_of
from jurist.core.completion import Completion, Request
from jurist.core.errors import BackendError

# Request timeout, too many requests, overloaded: the server wants less from us.
_BACKOFF_STATUSES = frozenset({408, 429, 503})


class AdaptiveLimit:
    """An AIMD limit on requests in flight, between `floor` and `ceiling`.

    A free slot is taken at once; otherwise requests queue in arrival order and each
    release hands its slot to the longest waiting one (no lock: the event loop runs one
    coroutine at a time, and a slot is taken without an `await` in between)."""

    def __init__(self, ceiling: int, *, floor: int = 1, decrease: float = 0.5) -> None:
        if ceiling < 1:
            raise ValueError("concurrency ceiling must be at least 1")
        self.ceiling = ceiling
        self.floor = max(1, min(floor, ceiling))
        self.decrease = decrease
        self.limit = float(ceiling)
        self.in_flight = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def allowed(self) -> int:
        return max(self.floor, int(self.limit))

    def _enter_loop(self) -> asyncio.AbstractEventLoop:
        """The running event loop: one stack may serve several `asyncio.run` calls, and
        requests (and waiters) of a finished loop hold no slot any more."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self._loop = loop
            self._waiters = deque()
            self.in_flight = 0
        return loop

    async def acquire(self) -> int:
        """Wait for a free slot; returns the number in flight including this request."""
        loop = self._enter_loop()
        if not self._waiters and self.in_flight < self.allowed:
            self.in_flight += 1
            return self.in_flight
        granted: asyncio.Future[None] = loop.create_future()
        self._waiters.append(granted)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._hand_back()  # the slot came with the cancellation: pass it on
            else:
                with contextlib.suppress(ValueError):  # gone with a finished loop's queue
                    self._waiters.remove(granted)
            raise
        return self.in_flight

    def _hand_back(self) -> None:
        self.in_flight -= 1
        self._grant()

    def _grant(self) -> None:
        """Give free slots to the longest waiting requests (the slot is theirs at once)."""
        while self._waiters and self.in_flight < self.allowed:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a waiter cancelled before its turn has left
                self.in_flight += 1
                waiter.set_result(None)

    async def release(self, *, congested: bool) -> None:
        self._enter_loop()
        if congested:
            self.limit = max(float(self.floor), self.limit * self.decrease)
        else:
            # +1 per window of `limit` successes: the additive increase of AIMD.
            self.limit = min(float(self.ceiling), self.limit + 1.0 / self.limit)
        self._hand_back()


class TokenBucket:
    """`rate` units per second, bursts up to `capacity`; `take` waits until there are enough."""

    def __init__(
        self,
        per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = asyncio.sleep,
    ) -> None:
        if not per_minute > 0 or math.isinf(per_minute):
            raise ValueError("a rate limit must be a positive finite number per minute")
        self.rate = per_minute / 60.0
        self.capacity = per_minute
        self.level = per_minute
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        self._locks: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}

    def _refill(self) -> None:
        now = self._clock()
        self.level = min(self.capacity, self.level + (now - self._last) * self.rate)
        self._last = now

    async def take(self, amount: float) -> float:
        """Consume `amount` (at most the capacity); returns the seconds waited."""
        amount = min(amount, self.capacity)
        waited = 0.0
        lock = self._locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        async with lock:
            self._refill()
            while self.level < amount:
                pause = (amount - self.level) / self.rate
                await self._sleep(pause)  # type: ignore[misc]
                waited += pause
                self._refill()
            self.level -= amount
        return waited


def estimated_tokens(request: Request) -> int:
    """Prompt tokens (about four characters each) plus the most the answer may use."""
    chars = sum(len(message.get("content", "")) for message in request.messages)
    return chars // 4 + request.max_tokens


class LimitingBackend:
    """Wraps any backend with an adaptive concurrency limit, rate limits and timeouts."""

    def __init__(
        self,
        inner: Backend,
        limit: AdaptiveLimit,
        *,
        timeout: float | None = 120.0,
        rpm: TokenBucket | None = None,
        tpm: TokenBucket | None = None,
        stats: CallStats | None = None,
    ) -> None:
        if timeout is not None and not timeout > 0:
            raise ValueError("timeout must be positive")
        if getattr(inner, "patient", False):
            timeout = None  # a batch backend answers in hours, by design
        self.inner = inner
        self.limit = limit
        self.timeout = timeout
        self.rpm = rpm
        self.tpm = tpm
        self.stats = stats or CallStats()
        self.name = inner.name
        self.model = inner.model
        self.identity = identity_of(inner)
        self.patient = bool(getattr(inner, "patient", False))

    async def complete(self, request: Request) -> Completion:
        in_flight = await self.limit.acquire()
        congested = False
        try:
            if self.rpm is not None and await self.rpm.take(1):
                self.stats.throttled += 1
            if self.tpm is not None and await self.tpm.take(estimated_tokens(request)):
                self.stats.throttled += 1
            if self.timeout is None:
                return await self.inner.complete(request)
            deadline = self.timeout * in_flight
            try:
                async with asyncio.timeout(deadline):
                    return await self.inner.complete(request)
            except TimeoutError:
                congested = True
                raise BackendError(f"no answer within {deadline:g}s", retryable=True) from None
        except BackendError as error:
            congested = congested or error.status in _BACKOFF_STATUSES
            raise
        finally:
            await self.limit.release(congested=congested)

    async def aclose(self) -> None:
        await self.inner.aclose()
