"""The retry layer: transient failures are tried again with backoff, honestly counted.

Exponential backoff with jitter spreads many workers' retries apart; a server's
Retry-After wins when it gives one. Every attempt is counted where it happened, so the
number of requests a server received matches what the results say.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from jurist.backends.base import Backend, CallStats, identity_of
from jurist.core.completion import Completion, Request
from jurist.core.errors import BackendError


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter; a server's Retry-After wins when it gives one."""

    max_attempts: int = field(
        default=6, metadata={"help": "Attempts per request on 429 / 5xx / timeouts.", "min": 1}
    )
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


class RetryingBackend:
    """Wraps any backend; gives up with a BackendError that says how many attempts it made."""

    def __init__(
        self,
        inner: Backend,
        policy: RetryPolicy | None = None,
        stats: CallStats | None = None,
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.inner = inner
        self.policy = policy or RetryPolicy()
        self.stats = stats or CallStats()
        self.name = inner.name
        self.model = inner.model
        self.identity = identity_of(inner)
        self.patient = bool(getattr(inner, "patient", False))
        self._sleep = sleep

    async def complete(self, request: Request) -> Completion:
        policy = self.policy
        sent = 0
        for attempt in range(1, policy.max_attempts + 1):
            try:
                completion = await self.inner.complete(request)
            except BackendError as error:
                sent += error.attempts
                self.stats.calls += error.attempts
                if not error.retryable or attempt == policy.max_attempts:
                    message = str(error)
                    if error.retryable:
                        message = f"gave up after {attempt} attempts: {error}"
                    raise BackendError(
                        message, retryable=False, status=error.status, attempts=sent
                    ) from None
                self.stats.retries += 1
                await self._sleep(policy.delay(attempt, error.retry_after))
                continue
            sent += completion.attempts
            self.stats.calls += completion.attempts
            if sent == completion.attempts:
                return completion  # answered at the first try: nothing to add
            return completion.model_copy(update={"attempts": sent})
        raise AssertionError("unreachable")

    async def aclose(self) -> None:
        await self.inner.aclose()
