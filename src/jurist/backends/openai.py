"""Any OpenAI-compatible server (OpenAI, vLLM, llama.cpp's servers, SGLang) via the official
async client.

With a chat template named for the server (`openai:URL?chat_template=gemma#MODEL`), a
value-only answer asked with log-probabilities goes to the raw-text completions endpoint:
the prompt ends with the answer's fixed beginning (`{"score": `), one token is generated, and
the server computes log-probabilities at that position alone instead of at every token of
the answer (llama-cpp-python's server sorts its whole vocabulary for each).

The client's own retries are off: the runner owns retries so that backoff, Retry-After and
failure accounting are the same for every backend. The API key is read from the environment
and scrubbed from every error message. Query parameters of the server URL (Azure's
`?api-version=`) are sent with every request and are part of the backend's identity.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import re
import sys
import time
from dataclasses import dataclass, replace
from importlib import metadata
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jurist.backends.chat_template import ChatTemplate
from jurist.backends.plainhttp import ConnectionFailed, PlainHttpClient, plain_http_target
from jurist.core.completion import Completion, Request, ScoreSlot, ValueOnly, value_only
from jurist.core.errors import BackendError
from jurist.core.secrets import normalise_url, register_secret, scrub, split_credentials

if TYPE_CHECKING:
    import openai

OPENAI_URL = "https://api.openai.com/v1"
CHAT_PATH = "/chat/completions"
COMPLETIONS_PATH = "/completions"

StructuredMode = Literal["auto", "json_schema", "json_object", "none"]


def _sdk() -> ModuleType:
    """The `openai` SDK, imported on first need: a plain-http server never needs it, and
    importing it costs a command's start more CPU than a thousand judgments."""
    import openai

    return openai


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


def _choice_logprobs(
    alternatives: list[tuple[str, float]], choices: tuple[str, ...]
) -> dict[str, float]:
    """Each choice's log-probability at one position: the alternatives that spell it
    (`"3"`, `" 3"`) added up."""
    grouped: dict[str, list[float]] = {}
    for alternative, logprob in alternatives:
        choice = _choice_of(alternative, choices)
        if choice is not None:
            grouped.setdefault(choice, []).append(logprob)
    return {c: _logsumexp(lps) for c, lps in grouped.items()}


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
                results.append(_choice_logprobs(top, slot.choices))
                slot_index += 1
                search_from = len(text) + len(token)
        text += token
    return results


def _first_position_reading(logprobs: object, choices: tuple[str, ...]) -> dict[str, float]:
    """Log-probabilities of the choices among the first generated position's alternatives
    (the completions endpoint's `top_logprobs`: one {token: logprob} per position)."""
    try:
        top = logprobs["top_logprobs"][0] or {}  # type: ignore[index]
        alternatives = [(str(token), float(value)) for token, value in top.items()]
    except (KeyError, IndexError, TypeError, AttributeError, ValueError):
        raise BackendError("malformed response: bad logprobs", retryable=True) from None
    return _choice_logprobs([(t, v) for t, v in alternatives if math.isfinite(v)], choices)


def _pick(reading: dict[str, float], temperature: float, seed: int | None) -> str:
    """The choice a grammar limited to the choices would have let the model write."""
    if temperature <= 0:
        return max(reading, key=lambda c: reading[c])
    top = max(reading.values())
    weights = [math.exp((v - top) / temperature) for v in reading.values()]
    return random.Random(seed).choices(list(reading), weights=weights)[0]


def _first_choice(body: dict[str, Any]) -> dict[str, Any]:
    """The first choice of a chat completion body, or a retryable error for a body that
    is not one (a proxy's error page, a truncated answer)."""
    choices = body.get("choices")
    if not choices or not isinstance(choices, list) or not isinstance(choices[0], dict):
        raise BackendError("malformed response: no choices", retryable=True)
    return choices[0]


def _token_alternatives(positions: object) -> list[tuple[str, list[tuple[str, float]]]]:
    """(token, [(alternative, logprob), ...]) per generated position of a logprobs body."""
    try:
        return [
            (p["token"], [(a["token"], a["logprob"]) for a in (p.get("top_logprobs") or [])])
            for p in positions  # type: ignore[attr-defined]
        ]
    except (KeyError, TypeError, AttributeError):
        raise BackendError("malformed response: bad logprobs", retryable=True) from None


class _Rejected(Exception):
    """A server's HTTP error status, whichever client met it."""

    def __init__(self, status: int, message: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


# The lean client's answer to a redirect: send the request again through the SDK's client.
_REDIRECTED = object()


def _status_message(status: int, body: bytes) -> str:
    """An error status worded as the SDK words it (the code and the server's message), so
    the errors of both clients read alike."""
    message = f"Error code: {status}"
    try:
        parsed = json.loads(body)
    except ValueError:
        return message
    error = parsed.get("error", parsed) if isinstance(parsed, dict) else None
    detail = error.get("message") if isinstance(error, dict) else None
    return f"{message} - {detail}" if isinstance(detail, str) and detail else message


def _auth_headers(key: str) -> dict[str, str]:
    """The headers the SDK sends that a server may act on: the key, organisation, project."""
    headers = {
        "Authorization": f"Bearer {key}",
        "User-Agent": f"jurist openai/{metadata.version('openai')}",
    }
    for name, variable in (("OpenAI-Organization", "OPENAI_ORG_ID"),
                           ("OpenAI-Project", "OPENAI_PROJECT_ID")):  # fmt: skip
        if value := os.environ.get(variable):
            headers[name] = value
    return headers


def _latin1(headers: dict[str, str]) -> bool:
    """Whether header values can go on the wire as they are (else the SDK's client says why)."""
    try:
        "".join(headers.values()).encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _split_query(base_url: str | None) -> tuple[str | None, list[tuple[str, str]]]:
    """The base URL without its query string, and the query's parameters. The SDK's client
    would append each request's path after the query (`/v1?api-version=1chat/completions`),
    so the parameters travel with every request instead."""
    if base_url is None:
        return None, []
    parts = urlsplit(base_url)
    if not parts.query:
        return base_url, []
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    return urlunsplit(parts._replace(query="")), pairs


# Requests one client carries before another is opened beside it. A client's connection
# pool walks all of its connections on every request and every response, so one pool for
# 64 requests in flight costs more CPU than everything else in a judgment; pools of a few
# connections each keep that walk short.
_REQUESTS_PER_POOL = 16


@dataclass
class _Pool:
    """One client (its own connection pool) and the requests it carries now."""

    client: openai.AsyncOpenAI
    in_flight: int = 0


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
        chat_template: ChatTemplate | None = None,
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
        if chat_template is not None:
            # Answers read through the completions endpoint are computed differently.
            self.identity += f"?chat_template={chat_template.identity}"
        self.chat_template = chat_template
        self._completions_refused = False
        self._secret = key if key != "no-key" else url_secret
        # Query parameters (`?api-version=`, Azure's `?api-key=`) go with every request;
        # the identity keeps them too (secret ones masked), so they key the cache.
        base, self._query = _split_query(base_url)
        self._client_options: dict[str, Any] = {
            "api_key": key,
            "base_url": base,
            "timeout": timeout,
            "default_query": dict(self._query) or None,
        }
        self._pools: dict[asyncio.AbstractEventLoop, list[_Pool]] = {}
        self._timeout = timeout
        # Plain-http servers (local, in-cluster) get the lean client; the rest the SDK's.
        self._plain_headers = _auth_headers(key)
        target = plain_http_target(base) if _latin1(self._plain_headers) else None
        if target is not None and self._query:
            target = replace(target, query=urlencode(self._query))
        self._plain_target = target
        self._plain_clients: dict[asyncio.AbstractEventLoop, PlainHttpClient] = {}
        self.structured: StructuredMode = structured
        self.logprobs = logprobs
        self.top_logprobs = top_logprobs

    def _loop_pools(self) -> list[_Pool]:
        """The clients of the running event loop: their pooled connections belong to that
        loop, so a backend used from successive `asyncio.run` calls gets clients per loop."""
        loop = asyncio.get_running_loop()
        pools = self._pools.get(loop)
        if pools is None:
            for old in [old for old in self._pools if old.is_closed()]:
                del self._pools[old]  # their sockets died with their loop
            pools = self._pools[loop] = [self._new_pool()]
        return pools

    def _new_pool(self) -> _Pool:
        return _Pool(_sdk().AsyncOpenAI(max_retries=0, **self._client_options))

    @property
    def _client(self) -> openai.AsyncOpenAI:
        return self._loop_pools()[0].client

    async def _send(self, body: dict[str, Any], path: str = CHAT_PATH) -> object:
        """The parsed JSON answer to one request; _Rejected for an HTTP error status,
        BackendError for anything else that went wrong."""
        if self._plain_target is not None:
            answer = await self._post_plain(body, path)
            if answer is not _REDIRECTED:
                return answer
        sdk = _sdk()
        try:
            return await self._post_chat(body, path)
        except sdk.APIStatusError as error:
            retry_after = _parse_retry_after(error.response.headers.get("retry-after"))
            raise _Rejected(error.status_code, error.message, retry_after) from None
        except (sdk.APIError, json.JSONDecodeError, ValueError) as error:
            raise self._error(error) from None

    async def _post_plain(self, body: dict[str, Any], path: str) -> object:
        """The same request through the lean plain-http client (see `plainhttp`); a
        redirect is left to the SDK's client, which follows it."""
        loop = asyncio.get_running_loop()
        client = self._plain_clients.get(loop)
        if client is None:
            for old in [old for old in self._plain_clients if old.is_closed()]:
                del self._plain_clients[old]
            assert self._plain_target is not None
            client = PlainHttpClient(self._plain_target, self._plain_headers, self._timeout)
            self._plain_clients[loop] = client
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            response = await client.post(path, payload)
        except TimeoutError:
            raise BackendError("request timed out", retryable=True, status=408) from None
        except ConnectionFailed as error:
            raise BackendError(self._scrub(f"connection error: {error}"), retryable=True) from None
        if 300 <= response.status < 400:
            return _REDIRECTED
        if response.status >= 400:
            raise _Rejected(
                response.status,
                _status_message(response.status, response.body),
                _parse_retry_after(response.headers.get("retry-after")),
            )
        try:
            return json.loads(response.body)
        except ValueError as error:
            raise self._error(error) from None

    async def _post_chat(self, body: dict[str, Any], path: str) -> object:
        """POST one request through the least busy client, opening another one when
        every client already carries `_REQUESTS_PER_POOL` requests."""
        pools = self._loop_pools()
        pool = min(pools, key=lambda candidate: candidate.in_flight)
        if pool.in_flight >= _REQUESTS_PER_POOL:
            pool = self._new_pool()
            pools.append(pool)
        pool.in_flight += 1
        try:
            # A plain POST of plain JSON: the typed `chat.completions.create` re-walks every
            # parameter against its TypedDicts and builds a model of the reply, which costs
            # more CPU than the rest of a judgment; the request sent is the same.
            return await pool.client.post(path, body=body, cast_to=object)
        finally:
            pool.in_flight -= 1

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
        plan = self._one_token_plan(request) if want_logprobs else None
        if plan is not None:
            answered = await self._complete_value(request, plan)
            if answered is not None:
                return answered
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
            response = await self._send(kwargs)
        except _Rejected as rejected:
            if self._falls_back(rejected.status, rejected.message):
                # The rejected probe was a request too: count it where it happened.
                try:
                    completion = await self.complete(request)
                except BackendError as retried:
                    retried.attempts += 1
                    raise
                return completion.model_copy(update={"attempts": completion.attempts + 1})
            error = self._status_error(rejected.status, rejected.message, rejected.retry_after)
            raise error from None
        latency = time.perf_counter() - started
        body: dict[str, Any] = response if isinstance(response, dict) else {}
        choice = _first_choice(body)
        message = choice.get("message")
        content = message.get("content") if isinstance(message, dict) else None
        # A server that echoes the key must not get it into results or the store.
        text = self._scrub(content if isinstance(content, str) else "")
        slots: list[dict[str, float]] = []
        logprobs = choice.get("logprobs")
        positions = logprobs.get("content") if isinstance(logprobs, dict) else None
        if want_logprobs and positions:
            slots = slot_logprobs_from_tokens(_token_alternatives(positions), request.score_slots)
        given = body.get("usage")
        usage: dict[str, Any] = given if isinstance(given, dict) else {}
        return Completion(
            text=text,
            slot_logprobs=slots,
            prompt_tokens=usage.get("prompt_tokens") or 0,
            completion_tokens=usage.get("completion_tokens") or 0,
            latency_s=latency,
            finish_reason=choice.get("finish_reason"),
        )

    def _one_token_plan(self, request: Request) -> ValueOnly | None:
        """The value-only plan where the completions endpoint can answer it in one token:
        a template is known, the server has not refused the endpoint, and no choice begins
        another (`1` and `10` cannot be told apart from one token's text)."""
        if self.chat_template is None or self._completions_refused:
            return None
        plan = value_only(request)
        if plan is None:
            return None
        choices = list(plan.answers)
        if any(a != b and b.startswith(a) for a in choices for b in choices):
            return None
        return plan

    async def _complete_value(self, request: Request, plan: ValueOnly) -> Completion | None:
        """One generated token after the answer's fixed beginning; the value is the token
        written when it is a choice, else the choice the grammar would have let through (the
        likeliest, or one sampled at the request's temperature). None hands the request to
        the chat endpoint: the server has no completions endpoint, returned no
        log-probabilities, or none for a choice."""
        assert self.chat_template is not None
        slot = request.score_slots[0]
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": self.chat_template.render(request.messages) + plan.opening,
            "max_tokens": 1,
            "temperature": request.temperature,
            "logprobs": self.top_logprobs,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        started = time.perf_counter()
        try:
            response = await self._send(body, COMPLETIONS_PATH)
        except _Rejected as rejected:
            if rejected.status in (404, 405, 501):
                self._completions_refused = True
                return None
            raise self._status_error(
                rejected.status, rejected.message, rejected.retry_after
            ) from None
        latency = time.perf_counter() - started
        answer: dict[str, Any] = response if isinstance(response, dict) else {}
        choice = _first_choice(answer)
        if choice.get("logprobs") is None:  # a server that gives none here: ask the chat way
            return None
        reading = _first_position_reading(choice["logprobs"], slot.choices)
        if not reading:
            return None
        written = choice.get("text")
        picked = _choice_of(written, slot.choices) if isinstance(written, str) else None
        if picked is None:
            picked = _pick(reading, request.temperature, request.seed)
        given = answer.get("usage")
        usage: dict[str, Any] = given if isinstance(given, dict) else {}
        return Completion(
            text=plan.answers[picked],
            slot_logprobs=[reading],
            prompt_tokens=usage.get("prompt_tokens") or 0,
            completion_tokens=usage.get("completion_tokens") or 1,
            latency_s=latency,
            finish_reason="stop",
        )

    def _falls_back(self, status: int, message: str) -> bool:
        """In auto mode, a server that rejects `json_schema` gets `json_object` + schema next.

        llama-cpp-python's server rejects it with a validation error (as an HTTP 500)."""
        if self.structured != "auto" or status not in (400, 422, 500):
            return False
        if "response_format" in message and "json_schema" in message:
            self.structured = "json_object"
            return True
        return False

    def _status_error(self, status: int, message: str, retry_after: float | None) -> BackendError:
        retryable = status in (408, 409, 425, 429) or status >= 500
        return BackendError(
            self._scrub(f"HTTP {status}: {message}"),
            retryable=retryable,
            retry_after=retry_after,
            status=status,
        )

    def _error(self, error: Exception) -> BackendError:
        sdk = sys.modules.get("openai")  # an SDK error means the SDK is imported already
        if sdk is not None and isinstance(error, sdk.APIStatusError):
            retry_after = _parse_retry_after(error.response.headers.get("retry-after"))
            return self._status_error(error.status_code, error.message, retry_after)
        if sdk is not None and isinstance(error, sdk.APITimeoutError):
            return BackendError("request timed out", retryable=True, status=408)
        if sdk is not None and isinstance(error, sdk.APIConnectionError):
            cause = error.__cause__ or error
            return BackendError(self._scrub(f"connection error: {cause}"), retryable=True)
        # A body that is not the JSON it claims to be: a proxy or server fault, worth a retry.
        return BackendError(
            self._scrub(f"malformed response: {type(error).__name__}: {error}"), retryable=True
        )

    async def aclose(self) -> None:
        """Close the running loop's clients; clients of finished loops are only dropped, as
        their connections cannot be closed from another loop."""
        loop = asyncio.get_running_loop()
        pools = self._pools.pop(loop, [])
        plain = self._plain_clients.pop(loop, None)
        self._pools.clear()
        self._plain_clients.clear()
        for pool in pools:
            await pool.client.close()
        if plain is not None:
            await plain.aclose()
