"""The one stack every caller judges through: cache, then retries, then limits, then the
backend. Composed once per backend and shared by grading, rubric pipelines, rewards and
training, so each of them gets the same caching, retrying and throttling for free.

Order matters: a cache hit must cost no slot and no quota, so the cache is outermost; each
retry is a real request, so it passes through the limiter again, which is also where a 429
or a timeout teaches the limiter to send less.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from jurist.backends.base import Backend, CallStats
from jurist.backends.caching import CachingBackend
from jurist.backends.limiting import AdaptiveLimit, LimitingBackend, TokenBucket
from jurist.backends.retrying import RetryingBackend, RetryPolicy
from jurist.store import Store


@dataclass(frozen=True)
class CallPolicy:
    """How calls are made: retries, the concurrency ceiling, timeouts and rate limits."""

    retry: RetryPolicy = field(default_factory=RetryPolicy)
    concurrency: int = field(
        default=4,
        metadata={
            "help": "Items in flight at once, and the ceiling of the adaptive request limit "
            "(halved on 429s and timeouts, grown back on success).",
            "min": 1,
        },
    )
    timeout: float | None = field(
        default=120.0,
        metadata={
            "help": "Seconds a request may take once sent (scaled by the requests queued at a "
            "serialising server) before it is retried."
        },
    )
    rpm: float | None = field(
        default=None, metadata={"help": "Stay under this many requests per minute."}
    )
    tpm: float | None = field(
        default=None, metadata={"help": "Stay under this many tokens per minute (estimated)."}
    )


# Requests a batch backend may hold at once: it answers a whole batch together, so the
# limit on requests in flight must not cut batches down to `--concurrency`.
PATIENT_IN_FLIGHT = 10_000


def in_flight_ceiling(backend: Backend, concurrency: int) -> int:
    """How many requests may be outstanding: `concurrency`, or far more for a backend that
    batches them (`patient`), where each is cheap to hold and the batch is the unit."""
    return (
        max(concurrency, PATIENT_IN_FLIGHT) if getattr(backend, "patient", False) else concurrency
    )


def items_in_flight(backend: Backend, concurrency: int) -> int:
    """How many items are judged at once. A `serial` in-process model answers one request
    at a time and its answers depend on what its key/value cache already holds, so it
    takes items one by one: its calls then come in the same order every run, and two
    runs of the same items give the same answers (an item's calls still share its prefix)."""
    if getattr(backend, "serial", False):
        return 1
    return in_flight_ceiling(backend, concurrency)


def client_timeout(policy: CallPolicy) -> float:
    """The HTTP client's own limit: only a guard against a connection that never ends,
    since the limiting layer times requests out (scaled by the requests in flight)."""
    return (policy.timeout or 120.0) * policy.concurrency * 2


def layered(
    backend: Backend,
    store: Store | None,
    policy: CallPolicy | None = None,
    *,
    stats: CallStats | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> Backend:
    """`backend` wrapped in the limiting, retrying and (with a store) caching layers."""
    policy = policy or CallPolicy()
    use_store = getattr(backend, "use_store", None)
    if store is not None and callable(use_store):
        use_store(store)  # a batch backend keeps its batch ids there, to resume by collecting
    stats = stats if stats is not None else CallStats()
    limited = LimitingBackend(
        backend,
        AdaptiveLimit(in_flight_ceiling(backend, policy.concurrency)),
        timeout=policy.timeout,
        rpm=TokenBucket(policy.rpm) if policy.rpm else None,
        tpm=TokenBucket(policy.tpm) if policy.tpm else None,
        stats=stats,
    )
    retried: Backend = RetryingBackend(limited, policy.retry, stats, sleep=sleep)
    return CachingBackend(retried, store, stats) if store is not None else retried
