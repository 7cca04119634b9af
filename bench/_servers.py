"""Servers the benchmarks measure against, started on 127.0.0.1 and stopped when done."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2.0).status_code < 500:
                return
        time.sleep(0.5)
    raise TimeoutError(url)


@contextlib.contextmanager
def serve(command: list[str], ready_path: str, port: int, log: Path) -> Iterator[str]:
    with log.open("w") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    try:
        wait_ready(f"http://127.0.0.1:{port}{ready_path}", process)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def llama_cpp_python_server(
    model: Path, log: Path, n_ctx: int = 8192, logits_all: bool = False
) -> contextlib.AbstractContextManager[str]:
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", "gemma",
        "--chat_format", "gemma", "--n_ctx", str(n_ctx), "--host", "127.0.0.1", "--port", str(port),
        "--verbose", "false",
    ] + (["--logits_all", "true"] if logits_all else [])  # fmt: skip
    return serve(command, "/v1/models", port, log)


INSTANT_SERVER = r"""
import asyncio, json, sys
BODY = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": sys.argv[2]}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
LATENCY = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY)
async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0].split(b":")[1])
            await reader.readexactly(length)
            if LATENCY:
                await asyncio.sleep(LATENCY)
            writer.write(HEAD + BODY)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()
async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", int(sys.argv[1]))
    async with server:
        await server.serve_forever()
asyncio.run(main())
"""


@contextlib.contextmanager
def instant_server(answer: str, latency: float = 0.0) -> Iterator[str]:
    """A keep-alive HTTP server in its own process that answers every chat call at once, or
    after a fixed `latency` (requests are served concurrently, like a large judge fleet)."""
    port = free_port()
    command = [sys.executable, "-c", INSTANT_SERVER, str(port), answer, str(latency)]
    process = subprocess.Popen(command)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        process.wait(timeout=10)


def dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)
