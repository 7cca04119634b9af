"""The Backend protocol every judge model implements, and the errors the runner acts on."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from jurist.completion import Completion, Request


class BackendError(RuntimeError):
    """A call that failed. `retryable` tells the runner whether trying again can help;
    `retry_after` is the server's own wait hint in seconds."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


@runtime_checkable
class Backend(Protocol):
    """A judge model. `name` and `model` identify it in cache keys and results."""

    name: str
    model: str

    async def complete(self, request: Request) -> Completion:
        """Answer one request or raise BackendError."""
        ...

    async def aclose(self) -> None:
        """Release connections or model memory."""
        ...
