"""Where a run's judgments, settings and item texts come from.

A run is named by its id in the store, by the folder `jurist grade -o` wrote, or by a
results.jsonl. Judgments hold no item text, so the input and responses are read back
through the run's stored grading settings (or a data file the user names).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jurist.core.data import FieldMap, Item, ReadReport, read_items
from jurist.core.errors import JuristError
from jurist.core.rubric import load_rubric
from jurist.engine.outputs import OWNER, RESULTS, SUMMARY, current_owner
from jurist.grading import GradeConfig


@dataclass(frozen=True)
class RunSource:
    """One run to show. `key` names it in URLs; `annotation_key` names it in the store,
    so annotations follow the run id when there is one and the file otherwise."""

    key: str
    label: str
    source: str
    store_path: Path
    run_id: str | None
    results_path: Path | None
    config: dict[str, Any] | None
    created: float | None
    data_path: Path | None = None

    @property
    def annotation_key(self) -> str:
        if self.run_id is not None:
            return self.run_id
        return "file:" + str(self.results_path.resolve() if self.results_path else self.source)

    @property
    def summary_path(self) -> Path | None:
        if self.results_path is None:
            return None
        path = self.results_path.parent / SUMMARY
        return path if path.is_file() and self._folder_is_this_run() else None

    def _folder_is_this_run(self) -> bool:
        assert self.results_path is not None
        owner = current_owner(self.results_path.parent)
        return owner is None or owner == self.run_id

    def fingerprint(self) -> str:
        """Changes whenever the judgments may have changed, so a stale index is rebuilt."""
        parts: list[str] = [self.source]
        if self.results_path is not None and self.results_path.is_file():
            stat = self.results_path.stat()
            parts += [str(self.results_path.resolve()), str(stat.st_size), str(stat.st_mtime_ns)]
        elif self.run_id is not None:
            parts += [str(_store_rows(self.store_path, self.run_id))]
        if self.data_path is not None and self.data_path.is_file():
            parts += [str(self.data_path.resolve()), str(self.data_path.stat().st_mtime_ns)]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:20]


def _read_only(store_path: Path) -> sqlite3.Connection | None:
    """The store opened read-only, or None when there is none: looking never creates it."""
    if not store_path.is_file():
        return None
    try:
        return sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
    except sqlite3.DatabaseError:
        return None


def _run_record(store_path: Path, run_id: str) -> tuple[dict[str, Any], float] | None:
    db = _read_only(store_path)
    if db is None:
        return None
    try:
        row = db.execute("SELECT config, created FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    except sqlite3.DatabaseError:
        return None
    finally:
        db.close()
    return None if row is None else (json.loads(row[0]), float(row[1]))


def _store_rows(store_path: Path, run_id: str) -> int:
    db = _read_only(store_path)
    if db is None:
        return 0
    try:
        query = "SELECT COUNT(*) FROM results WHERE run_id = ?"
        return int(db.execute(query, (run_id,)).fetchone()[0])
    except sqlite3.DatabaseError:
        return 0
    finally:
        db.close()


def stored_runs(store_path: Path) -> list[str]:
    """Run ids in the store, newest first (none when there is no store)."""
    db = _read_only(store_path)
    if db is None:
        return []
    try:
        return [r[0] for r in db.execute("SELECT run_id FROM runs ORDER BY created DESC")]
    except sqlite3.DatabaseError:
        return []
    finally:
        db.close()


def _url_key(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def resolve_source(source: str, store_path: Path, data_path: Path | None = None) -> RunSource:
    """A run from a results file, an output folder or a run id (files win over ids, as
    `jurist meta` reads them)."""
    path = Path(source)
    results: Path | None = None
    run_id: str | None = None
    if path.is_dir():
        results = path / RESULTS
        run_id = current_owner(path)
    elif path.is_file():
        results = path
        run_id = current_owner(path.parent) if (path.parent / OWNER).is_file() else None
    else:
        run_id = source
    record = _run_record(store_path, run_id) if run_id is not None else None
    config, created = record if record is not None else (None, None)
    if results is None and config is not None:
        folder = config.get("output_dir")
        if folder and (Path(folder) / RESULTS).is_file():
            results = Path(folder) / RESULTS
    if results is not None and created is None and results.is_file():
        created = results.stat().st_mtime
    key = run_id if run_id is not None and record is not None else _url_key(str(path.resolve()))
    if not key.replace("-", "").replace("_", "").isalnum():
        key = _url_key(key)
    label = run_id if run_id is not None else str(source)
    return RunSource(
        key=key,
        label=label,
        source=source,
        store_path=store_path,
        run_id=run_id if record is not None else None,
        results_path=results,
        config=config,
        created=created,
        data_path=data_path,
    )


def iter_source_items(source: RunSource) -> tuple[Iterator[Item] | None, str | None]:
    """The run's items (input, responses, reference), or None and the reason they are
    not available; a data file named by the user wins over the run's settings."""
    if source.data_path is not None:
        return read_items(source.data_path, FieldMap(), skip_bad_rows=True), None
    if source.config is None:
        return None, "the run's settings are not in the store, so its data file is unknown"
    try:
        config = GradeConfig.model_validate(source.config)
        data = config.items.data
        if data is not None and not Path(data).is_file():
            return None, f"{data}: the run's data file is no longer there"
        items = replace(config.items, skip_bad_rows=True)
        return config.model_copy(update={"items": items}).iter_items(ReadReport()), None
    except (JuristError, ValueError, OSError) as error:
        return None, f"the run's data cannot be read: {error}"


def source_rubric(source: RunSource) -> Any:
    """The run's Rubric when its file is still there, else None."""
    if source.config is None or not source.config.get("rubric_path"):
        return None
    try:
        return load_rubric(source.config["rubric_path"])
    except (JuristError, OSError, ValueError):
        return None
