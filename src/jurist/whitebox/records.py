"""The JSON file a fitted estimator is saved as beside its model: the model's name, one
record per criterion id, and any extra top-level sections. LAGER weights and probes share
it, so both are written alike and a broken file fails alike (ConfigError naming it)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

from jurist.core.errors import ConfigError

Record = TypeVar("Record")


def save_records(
    path: str | Path,
    model: str,
    criteria: Mapping[str, Any],
    *,
    extra: Mapping[str, Any] | None = None,
    indent: int | None = None,
) -> Path:
    """Write `criteria` (dataclass records) under the model's name; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "model": model,
        "criteria": {key: asdict(value) for key, value in criteria.items()},
        **(extra or {}),
    }
    path.write_text(json.dumps(payload, indent=indent) + "\n")
    return path


def load_records(
    path: str | Path, what: str, build: Callable[[dict[str, Any]], Record]
) -> tuple[str, dict[str, Record], dict[str, Any]]:
    """(model, criterion id -> record, the whole payload) from a file `save_records` wrote;
    `build` turns one criterion's JSON object into its record."""
    path = Path(path)
    try:
        payload = json.loads(path.read_text())
        criteria = {key: build(value) for key, value in payload["criteria"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise ConfigError(f"{path}: not a {what} file ({error})") from None
    return str(payload.get("model", "")), criteria, payload
