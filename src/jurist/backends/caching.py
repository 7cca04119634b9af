"""The cache layer: a completion is paid for once, whoever asks for it again.

Answers are keyed by the request and the backend's identity (its server and model), read
from and written to the SQLite store. Identical requests in flight at the same time are
sent once and share the answer.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from jurist.backends.base import Backend, CallStats, identity_of
from jurist.core.completion import Completion, Request


class CompletionCache(Protocol):
    """Where answers are kept: the SQLite `Store`, or a Ray worker's relay to its driver."""

    def get_completion(self, key: str) -> Completion | None: ...

    def put_completion(
        self, key: str, backend: str, model: str, completion: Completion
    ) -> None: ...


class CachingBackend:
    """Wraps any backend; hits and shared answers come back with `cached=True, attempts=0`."""

    def __init__(
        self, inner: Backend, store: CompletionCache, stats: CallStats | None = None
    ) -> None:
        self.inner = inner
        self.store = store
        self.stats = stats or CallStats()
        self.name = inner.name
        self.model = inner.model
        self.identity = identity_of(inner)
        self.patient = bool(getattr(inner, "patient", False))
        self._in_flight: dict[str, asyncio.Future[Completion]] = {}

    async def complete(self, request: Request) -> Completion:
        key = request.cache_key(self.identity)
        cached = self.store.get_completion(key)
        if cached is not None:
            self.stats.cache_hits += 1
            return cached
        pending = self._in_flight.get(key)
        if pending is not None:
            answer = await asyncio.shield(pending)
            self.stats.shared += 1
            return answer.model_copy(update={"cached": True, "attempts": 0})
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            completion = await self.inner.complete(request)
        except BaseException as error:
            if isinstance(error, Exception):
                future.set_exception(error)
                future.exception()  # retrieved here, so an unshared failure is not logged
            else:
                future.cancel()
            raise
        finally:
            self._in_flight.pop(key, None)
        self.store.put_completion(key, self.inner.name, self.inner.model, completion)
        future.set_result(completion)
        return completion

    async def aclose(self) -> None:
        await self.inner.aclose()
