from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from llama_servers import llama_cpp_server

REPO = Path(__file__).resolve().parents[1]
FIXTURE_DATA = Path(__file__).parent / "fixtures" / "data"
FULL_DATA_HINT = "set JURIST_SHARED_DATA to the folder holding summeval/, llm-rubric/, autoj/, ..."
_DESELECTED = pytest.StashKey[int]()


def shared_data_dir() -> Path:
    """Where the full labelled sets live: $JURIST_SHARED_DATA, else <repo>/../shared/data."""
    return Path(os.environ.get("JURIST_SHARED_DATA") or REPO.parent / "shared" / "data")


def full_data_available() -> bool:
    return shared_data_dir().is_dir()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without the full sets, `full_data` tests are deselected (not skipped): their
    assertions hold only on the whole sets, and the slices serve every other test."""
    if full_data_available():
        return
    full = [item for item in items if item.get_closest_marker("full_data")]
    if full:
        config.hook.pytest_deselected(items=full)
        items[:] = [item for item in items if not item.get_closest_marker("full_data")]
        config.stash[_DESELECTED] = len(full)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    count = config.stash.get(_DESELECTED, 0)
    if count:
        terminalreporter.write_line(
            f"note: {count} full_data tests deselected: no full labelled sets at "
            f"{shared_data_dir()} (the others ran on tests/fixtures/data); {FULL_DATA_HINT}"
        )


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The full labelled sets when present, else their small slices in tests/fixtures/data
    (same files and layout), so a fresh clone runs every data test."""
    return shared_data_dir() if full_data_available() else FIXTURE_DATA


@pytest.fixture
def shared_data(data_root: Path) -> Path:
    return data_root


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
