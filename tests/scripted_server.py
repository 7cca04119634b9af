"""A real HTTP server on 127.0.0.1 that speaks just enough of the OpenAI chat API to misbehave
on a schedule: 429 with Retry-After, 500, hangs, dropped connections, malformed JSON.

It runs in a background thread with its own event loop and counts every request per prompt,
so tests can check from the server side which calls were (not) repeated.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import Self

# A behaviour is what the server does with one request: ("ok", text), ("429", seconds),
# ("500", message or None), ("hang", seconds), ("drop", None), ("malformed", None).
Behaviour = tuple[str, object]


def chat_response(text: str) -> bytes:
    body = {
        "id": "x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
    return json.dumps(body).encode()


def http(status: str, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    lines = [
        f"HTTP/1.1 {status}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class LoopbackServer:
    """An asyncio server on 127.0.0.1 in a background thread with its own event loop; a
    subclass answers connections in `_handle`."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self.port = 0

    def __enter__(self) -> Self:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        pending = [task for task in asyncio.all_tasks(self._loop) if not task.done()]
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.run_until_complete(server.wait_closed())
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError


class ScriptedServer(LoopbackServer):
    def __init__(
        self,
        behave: Callable[[str, int], Behaviour],
        delay: float = 0.0,
        *,
        reject_json_schema: bool = False,
    ) -> None:
        """`behave(prompt, n)` picks the behaviour for the n-th request (1-based) of a prompt.
        `reject_json_schema` answers `response_format: json_schema` with llama-cpp-python's
        HTTP 500, as its server does."""
        self._behave = behave
        self._reject_json_schema = reject_json_schema
        self._delay = delay
        self.counts: Counter[str] = Counter()
        self.bodies: list[dict] = []
        self.total = 0
        self._lock = threading.Lock()
        super().__init__()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.decode().split("\r\n"):
                if line.lower().startswith("content-length:"):
                    length = int(line.split(":", 1)[1])
            body = json.loads(await reader.readexactly(length))
            self.bodies.append(body)
            prompt = body["messages"][-1]["content"]
            with self._lock:
                self.counts[prompt] += 1
                self.total += 1
                n = self.counts[prompt]
            kind, arg = self._behave(prompt, n)
            if (
                self._reject_json_schema
                and (body.get("response_format") or {}).get("type") == "json_schema"
            ):
                kind, arg = "500", "response_format: json_schema is not supported"
            if self._delay:
                await asyncio.sleep(self._delay)
            if kind == "ok":
                writer.write(http("200 OK", chat_response(str(arg))))
            elif kind == "429":
                error = json.dumps(
                    {"error": {"message": "slow down", "type": "rate_limit"}}
                ).encode()
                writer.write(http("429 Too Many Requests", error, {"Retry-After": str(arg)}))
            elif kind == "500":
                message = json.dumps({"error": {"message": str(arg or "boom")}}).encode()
                writer.write(http("500 Internal Server Error", message))
            elif kind == "hang":
                await asyncio.sleep(float(arg))  # type: ignore[arg-type]
            elif kind == "malformed":
                writer.write(http("200 OK", b'{"id": "x", "choices": [{"message": '))
            # "drop": close without a response
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
