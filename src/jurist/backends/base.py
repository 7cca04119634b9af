"""The Backend protocol every judge model implements, and the counters its layers share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from jurist.core.completion import Completion, Request
from jurist.core.errors import BackendError

__all__ = ["Backend", "BackendError", "CallStats", "identity_of"]


@runtime_checkable
class Backend(Protocol):
    """A judge model. `name` and `model` say what it is; `identity_of` says which server."""

    name: str
    model: str

    async def complete(self, request: Request) -> Completion:
        """Answer one request or raise BackendError."""
        ...

    async def aclose(self) -> None:
        """Release connections or model memory."""
        ...


def identity_of(backend: Backend) -> str:
    """Which model on which server answered: the cache key's and the results' `judge`.

    Two servers that both call their model `m` must never share cache entries, so a backend
    that talks to a server exposes `identity` with its normalised base URL: no credentials,
    but its query parameters (`?api-version=`, secret ones masked), since two versions of
    one endpoint may answer differently.
    """
    identity = getattr(backend, "identity", None)
    return identity if isinstance(identity, str) else f"{backend.name}:{backend.model}"


@dataclass
class CallStats:
    """What the layers around a backend did: requests sent (every attempt, failed ones
    too), answers served from the cache or shared with an identical request in flight,
    and retries. One instance is shared by the layers of one stack."""

    calls: int = 0
    cache_hits: int = 0
    shared: int = 0
    retries: int = 0
    throttled: int = 0


def shared_prefix_length(a: str, b: str) -> int:
    """Characters two prompts share at their start: how much of a model's cached prompt a
    new one can reuse (binary search on slices, fast on long prompts)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low
