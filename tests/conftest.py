from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

REPO = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    return Path(os.environ.get("JURIST_SHARED_DATA") or REPO.parent / "shared" / "data")


@pytest.fixture
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"shared benchmark data not found at {path}; set JURIST_SHARED_DATA")
    return path


@pytest.fixture
def store(tmp_path):
    from jurist.store import Store

    with Store(tmp_path / "store.sqlite") as db:
        yield db


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


@pytest.fixture(scope="session")
def gemma_path() -> Path:
    pytest.importorskip("llama_cpp", reason="the embedded judge needs jurist[local]")
    from jurist.backends.llamacpp import default_model_path

    return default_model_path()


@pytest.fixture(scope="session")
def llama_server(gemma_path, tmp_path_factory):
    """A real `python -m llama_cpp.server` with the Gemma model on 127.0.0.1 (a free port)."""
    import subprocess

    port = free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(gemma_path), "--model_alias", "gemma",
        "--chat_format", "gemma", "--n_ctx", "8192",
        "--host", "127.0.0.1", "--port", str(port), "--verbose", "false",
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
