"""The lean plain-http client against real loopback servers: keep-alive, body framings,
closed connections, error statuses, timeouts, and when it leaves a URL to the SDK."""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import sys
from collections.abc import Awaitable, Callable

import pytest

from jurist.backends.openai import OpenAIBackend
from jurist.backends.plainhttp import (
    ConnectionFailed,
    PlainHttpClient,
    Target,
    plain_http_target,
)
from jurist.core.completion import Request
from jurist.core.errors import BackendError

Answer = Callable[[int, bytes], Awaitable[bytes | None]]  # (request number, body) -> reply


class Loopback:
    """An HTTP server on 127.0.0.1 in the test's loop that counts connections and requests
    and replies with whatever `answer` returns (None: close without replying)."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.connections = 0
        self.requests: list[tuple[bytes, bytes]] = []  # (head, body)
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Loopback:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                body = await reader.readexactly(length)
                self.requests.append((head, body))
                reply = await self.answer(len(self.requests), body)
                if reply is None:
                    break
                writer.write(reply)
                await writer.drain()
                if b"connection: close" in reply.lower() or b"x-then-close" in reply.lower():
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def reply(status: str, body: bytes, *headers: str, length: bool = True) -> bytes:
    lines = [f"HTTP/1.1 {status}", *headers]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(body: bytes, size: int = 5) -> bytes:
    pieces = [body[k : k + size] for k in range(0, len(body), size)]
    framed = b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in pieces)
    return framed + b"0\r\nX-Trailer: t\r\n\r\n"


def client_for(server: Loopback, timeout: float = 30.0) -> PlainHttpClient:
    return PlainHttpClient(Target("127.0.0.1", server.port, "/v1"), {"X-Key": "k"}, timeout)


async def test_one_connection_serves_every_framing() -> None:
    text = b'{"answer": "' + b"x" * 50 + b'"}'

    async def answer(number: int, body: bytes) -> bytes:
        if number == 1:
            return reply("200 OK", text)
        if number == 2:  # an informational response first, then chunks
            return b"HTTP/1.1 100 Continue\r\n\r\n" + reply(
                "200 OK", chunked(text), "Transfer-Encoding: chunked", length=False
            )
        return reply("200 OK", gzip.compress(text), "Content-Encoding: gzip")

    async with Loopback(answer) as server:
        client = client_for(server)
        answers = [await client.post("/chat/completions", b'{"n": %d}' % k) for k in range(3)]
        await client.aclose()
    assert [a.body for a in answers] == [text] * 3 and {a.status for a in answers} == {200}
    assert server.connections == 1  # kept alive across all three
    head, body = server.requests[0]
    assert head.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n") and body == b'{"n": 0}'
    assert b"X-Key: k\r\n" in head and b"Host: 127.0.0.1:" in head


async def test_closed_connections_are_replaced() -> None:
    async def answer(number: int, body: bytes) -> bytes:
        if number == 1:
            return reply("200 OK", b"{}", "Connection: close")
        if number == 2:  # kept alive as far as the client knows, then closed while idle
            return reply("200 OK", b"{}", "X-Then-Close: 1")
        return reply("200 OK", b"{}")

    async with Loopback(answer) as server:
        client = client_for(server)
        await client.post("/a", b"{}")  # the server says it closes
        await client.post("/a", b"{}")  # so this one opens a second connection
        reader, _ = client._idle[-1]
        for _ in range(1000):  # until the loop has seen the server's close
            if reader.at_eof():
                break
            await asyncio.sleep(0.01)
        third = await client.post("/a", b"{}")  # not sent on the closed one: no failure
        await client.aclose()
    assert third.status == 200 and server.connections == 3


async def test_body_until_end_of_connection_and_error_statuses() -> None:
    async def answer(number: int, body: bytes) -> bytes | None:
        if number == 1:
            error = json.dumps({"error": {"message": "slow down"}}).encode()
            return reply("429 Too Many Requests", error, "Retry-After: 2")
        if number == 2:
            return reply("200 OK", b'{"ok": 1}', "Connection: close", length=False)
        return None  # drop the connection without replying

    async with Loopback(answer) as server:
        client = client_for(server)
        limited = await client.post("/x", b"{}")
        until_eof = await client.post("/x", b"{}")
        with pytest.raises(ConnectionFailed, match="disconnected"):
            await client.post("/x", b"{}")
        await client.aclose()
    assert limited.status == 429 and limited.headers["retry-after"] == "2"
    assert until_eof.body == b'{"ok": 1}'
    assert server.connections == 2  # the 429 kept its connection alive for the next request


async def test_a_server_that_never_answers_times_out() -> None:
    async def answer(number: int, body: bytes) -> bytes:
        await asyncio.sleep(3600)
        return b""

    async with Loopback(answer) as server:
        client = client_for(server, timeout=0.3)
        with pytest.raises(TimeoutError):
            await client.post("/x", b"{}")
        assert client._idle == []  # a half-used connection is never reused
        await client.aclose()


def test_only_plain_http_without_proxy_or_credentials(monkeypatch) -> None:
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert plain_http_target("http://127.0.0.1:8000/v1/") == Target("127.0.0.1", 8000, "/v1")
    assert plain_http_target("http://judge.internal/v1") == Target("judge.internal", 80, "/v1")
    assert plain_http_target("http://[::1]:9/v1") == Target("[::1]", 9, "/v1")
    assert plain_http_target("https://api.openai.com/v1") is None
    assert plain_http_target("http://user:pw@127.0.0.1:8000/v1") is None
    assert plain_http_target("http://127.0.0.1:8000/v1?key=1") is None
    assert plain_http_target(None) is None
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.internal:3128")
    assert plain_http_target("http://judge.internal/v1") is None  # the proxy must see it
    monkeypatch.setenv("NO_PROXY", "judge.internal")
    assert plain_http_target("http://judge.internal/v1") is not None


async def test_backend_follows_a_redirect_through_the_sdk_and_words_errors_alike() -> None:
    good = {"choices": [{"message": {"content": "moved"}, "finish_reason": "stop"}]}

    async def final(number: int, body: bytes) -> bytes:
        assert json.loads(body)["model"] == "m"  # the same request, sent again
        return reply("200 OK", json.dumps(good).encode(), "Content-Type: application/json")

    async with Loopback(final) as target:

        async def first(number: int, body: bytes) -> bytes:
            if b"hi" in body:  # the SDK's client follows this; the lean one hands it over
                location = f"http://127.0.0.1:{target.port}/v1/chat/completions"
                return reply("307 Temporary Redirect", b"", f"Location: {location}")
            return reply("500 Internal Server Error", b'{"error": {"message": "boom"}}')

        async with Loopback(first) as origin:
            backend = OpenAIBackend("m", base_url=f"http://127.0.0.1:{origin.port}/v1")
            request = Request(messages=({"role": "user", "content": "hi"},))
            completion = await backend.complete(request)
            with pytest.raises(BackendError) as failed:
                await backend.complete(Request(messages=({"role": "user", "content": "ho"},)))
            await backend.aclose()
    assert completion.text == "moved" and len(target.requests) == 1 and len(origin.requests) == 3
    error = failed.value
    assert error.status == 500 and error.retryable
    assert str(error) == "HTTP 500: Error code: 500 - boom"


def test_a_plain_http_judge_never_imports_the_sdk() -> None:
    """Importing the SDK costs a command's start more CPU than a thousand judgments."""
    code = (
        "import sys\n"
        "from jurist.backends.openai import OpenAIBackend\n"
        "OpenAIBackend('m', base_url='http://127.0.0.1:9/v1')\n"
        "assert 'openai' not in sys.modules, 'the SDK was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
