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
