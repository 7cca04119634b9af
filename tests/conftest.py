from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from llama_servers import llama_cpp_server

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


@pytest.fixture(scope="session")
def gemma_path() -> Path:
    pytest.importorskip("llama_cpp", reason="the embedded judge needs jurist[local]")
    from jurist.backends.llamacpp import default_model_path

    return default_model_path()


@pytest.fixture(scope="session")
def llama_server(gemma_path, tmp_path_factory):
    """A real `python -m llama_cpp.server` with the Gemma model on 127.0.0.1 (a free port)."""
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with llama_cpp_server(gemma_path, log) as url:
        yield url
