"""Real servers for integration tests: free loopback ports, readiness polling, and
`python -m llama_cpp.server` with the embedded model (test modules import this, not
conftest, whose module name other test folders reuse)."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process, timeout: float = 180.0) -> None:
    import time

    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with code {process.returncode}")
        try:
            if httpx.get(url, timeout=2.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"server at {url} did not answer within {timeout}s")


@contextlib.contextmanager
def llama_cpp_server(model: Path, log: Path, *extra: str) -> Iterator[str]:
    """llama-cpp-python's server on a free port (the base URL, `.../v1`), stopped on exit;
    `extra` are more server options, e.g. "--logits_all", "true"."""
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(model), "--model_alias", "gemma",
        "--chat_format", "gemma", "--n_ctx", "8192",
        "--host", "127.0.0.1", "--port", str(port), "--verbose", "false", *extra,
    ]  # fmt: skip
    with log.open("w") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/v1/models", process)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
