"""Any OpenAI-compatible server (OpenAI, vLLM, llama.cpp's servers, SGLang) via the official
async client.

The client's own retries are off: the runner owns retries so that backoff, Retry-After and
failure accounting are the same for every backend. The API key is read from the environment
and scrubbed from every error message.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import time
from typing import Any, Literal

import openai

from jurist.completion import Completion, Request, ScoreSlot
from jurist.errors import BackendError
from jurist.secrets import normalise_url, register_secret, scrub, split_credentials

OPENAI_URL = "https://api.openai.com/v1"

StructuredMode = Literal["auto", "json_schema", "json_object", "none"]


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _logsumexp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values))


def _choice_of(token: str, choices: tuple[str, ...]) -> str | None:
    word = token.strip().strip('"').strip()
    return word if word in choices else None


def slot_logprobs_from_tokens(
    tokens: list[tuple[str, list[tuple[str, float]]]], slots: tuple[ScoreSlot, ...]
) -> list[dict[str, float]]:
    """Log-probabilities over each slot's choices, read at the token that holds the value.

    `tokens` is (token text, [(alternative, logprob), ...]) per generated position. A slot's
    position is the first token after its marker whose text is one of the choices.
    """
    results: list[dict[str, float]] = []
    text = ""
    slot_index = 0
    search_from = 0
    for token, top in tokens:
        if slot_index < len(slots):
            slot = slots[slot_index]
            if re.search(slot.marker, text[search_from:]) and _choice_of(token, slot.choices):
                grouped: dict[str, list[float]] = {}
                for alternative, logprob in top:
                    choice = _choice_of(alternative, slot.choices)
                    if choice is not None:
                        grouped.setdefault(choice, []).append(logprob)
                results.append({c: _logsumexp(lps) for c, lps in grouped.items()})
                slot_index += 1
                search_from = len(text) + len(token)
        text += token
    return results


class OpenAIBackend:
    """Chat completions with JSON-schema constrained output where the server supports it."""

    name = "openai"

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 120.0,
        structured: StructuredMode = "auto",
        logprobs: bool = False,
        top_logprobs: int = 10,
    ) -> None:
        raw_key = os.environ.get(api_key_env)
        register_secret(raw_key)
        # A key pasted with a trailing newline or CR would be an illegal header value.
        key = (raw_key or "").strip()
        url_secret = None
        if base_url is not None:
            _, url_secret = split_credentials(base_url)
        if not key:
            if base_url is None:
                raise BackendError(
                    f"set {api_key_env} to use the OpenAI API (or give a server URL)",
                    retryable=False,
                )
            key = "no-key"  # local servers ignore it, but the client requires one
        self.model = model
        self.base_url = base_url
        self.endpoint = normalise_url(base_url or OPENAI_URL)
        self.identity = f"openai:{self.endpoint}#{model}"
        self._secret = key if key != "no-key" else url_secret
        self._client_options = {"api_key": key, "base_url": base_url, "timeout": timeout}
        self._clients: dict[asyncio.AbstractEventLoop, openai.AsyncOpenAI] = {}
        self.structured: StructuredMode = structured
        self.logprobs = logprobs
        self.top_logprobs = top_logprobs

    @property
    def _client(self) -> openai.AsyncOpenAI:
        """The client of the running event loop: its pooled connections belong to that loop,
        so a backend used from successive `asyncio.run` calls gets one client per loop."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            for old in [old for old in self._clients if old.is_closed()]:
                del self._clients[old]  # their sockets died with their loop
            client = openai.AsyncOpenAI(max_retries=0, **self._client_options)  # type: ignore[arg-type]
            self._clients[loop] = client
        return client

    def __repr__(self) -> str:
        return f"OpenAIBackend(model={self.model!r}, endpoint={self.endpoint!r})"

    def _scrub(self, message: str) -> str:
        if self._secret:
            message = message.replace(self._secret, "***")
        return scrub(message)

    def _response_format(self, request: Request) -> dict[str, Any] | None:
        if request.json_schema is None or self.structured == "none":
            return None
        if self.structured == "json_object":
            # llama-cpp-python's server reads the schema from this form.
            return {"type": "json_object", "schema": request.json_schema}
        return {
            "type": "json_schema",
            "json_schema": {"name": "judgment", "schema": request.json_schema},
        }

    async def complete(self, request: Request) -> Completion:
        want_logprobs = self.logprobs and request.want_logprobs and bool(request.score_slots)
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": list(request.messages),
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.seed is not None:
            kwargs["seed"] = request.seed
        if want_logprobs:
            kwargs.update(logprobs=True, top_logprobs=self.top_logprobs)
        response_format = self._response_format(request)
        if response_format is not None:
            kwargs["response_format"] = response_format
        started = time.perf_counter()
        try:
            response = await self._client.chat.completions.create(**kwargs)
        except openai.APIStatusError as error:
            if self._falls_back(error):
                # The rejected probe was a request too: count it where it happened.
                try:
                    completion = await self.complete(request)
                except BackendError as retried:
                    retried.attempts += 1
                    raise
                return completion.model_copy(update={"attempts": completion.attempts + 1})
            raise self._error(error) from None
        except (openai.APIError, json.JSONDecodeError, ValueError) as error:
            raise self._error(error) from None
        latency = time.perf_counter() - started
        if not getattr(response, "choices", None):
            raise BackendError("malformed response: no choices", retryable=True)
        choice = response.choices[0]
        # A server that echoes the key must not get it into results or the store.
        text = self._scrub(choice.message.content or "")
        slots: list[dict[str, float]] = []
        if want_logprobs and choice.logprobs is not None and choice.logprobs.content:
            tokens = [
                (t.token, [(alt.token, alt.logprob) for alt in (t.top_logprobs or [])])
                for t in choice.logprobs.content
            ]
            slots = slot_logprobs_from_tokens(tokens, request.score_slots)
        usage = response.usage
        return Completion(
            text=text,
            slot_logprobs=slots,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            latency_s=latency,
            finish_reason=choice.finish_reason,
        )

    def _falls_back(self, error: openai.APIStatusError) -> bool:
        """In auto mode, a server that rejects `json_schema` gets `json_object` + schema next.

        llama-cpp-python's server rejects it with a validation error (as an HTTP 500)."""
        if self.structured != "auto" or error.status_code not in (400, 422, 500):
            return False
        if "response_format" in str(error) and "json_schema" in str(error):
            self.structured = "json_object"
            return True
        return False

    def _error(self, error: Exception) -> BackendError:
        if isinstance(error, openai.APIStatusError):
            status = error.status_code
            retry_after = _parse_retry_after(error.response.headers.get("retry-after"))
            retryable = status in (408, 409, 425, 429) or status >= 500
            message = f"HTTP {status}: {error.message}"
            return BackendError(
                self._scrub(message), retryable=retryable, retry_after=retry_after, status=status
            )
        if isinstance(error, openai.APITimeoutError):
            return BackendError("request timed out", retryable=True, status=408)
        if isinstance(error, openai.APIConnectionError):
            cause = error.__cause__ or error
            return BackendError(self._scrub(f"connection error: {cause}"), retryable=True)
        # A body that is not the JSON it claims to be: a proxy or server fault, worth a retry.
        return BackendError(
            self._scrub(f"malformed response: {type(error).__name__}: {error}"), retryable=True
        )

    async def aclose(self) -> None:
        """Close the running loop's client; clients of finished loops are only dropped, as
        their connections cannot be closed from another loop."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        self._clients.clear()
        if client is not None:
            await client.close()
