"""What the runs list says about a run without indexing it: its settings from the store
and its counts from summary.json or the store's result rows (or the index, once built)."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing, suppress
from pathlib import Path
from typing import Any

from jurist.view.index import RunIndex, default_cache_dir
from jurist.view.sources import RunSource


def peek_run(source: RunSource, cache_dir: Path | None = None) -> dict[str, Any]:
    config = source.config or {}
    setup = config.get("setup") or config  # nested since runs store a JudgeSetup; flat before
    row: dict[str, Any] = {
        "key": source.key,
        "label": source.label,
        "rubric": Path(str(config["rubric_path"])).stem if config.get("rubric_path") else None,
        "judge": setup.get("judge") or ("local" if source.config is not None else None),
        "mode": setup.get("mode"),
        "n": None,
        "ok": None,
        "parse_error": None,
        "failed": None,
        "created": source.created,
    }
    folder = cache_dir or default_cache_dir()
    with suppress(OSError, ValueError, sqlite3.DatabaseError):
        index = RunIndex(folder / f"{source.key}-{source.fingerprint()}.sqlite")
        info = index.info
        row.update(
            rubric=", ".join(info.rubrics),
            judge=", ".join(info.judges),
            mode=info.mode,
            n=info.n,
            **info.status,
        )
        return row
    if source.summary_path is not None:
        with suppress(OSError, ValueError):
            summary = json.loads(source.summary_path.read_text(encoding="utf-8"))
            row.update({k: summary.get(k) for k in ("ok", "parse_error", "failed")})
            row["n"] = summary.get("items")
            return row
    if source.run_id is not None and source.store_path.is_file():
        with (
            suppress(sqlite3.DatabaseError),
            closing(sqlite3.connect(f"file:{source.store_path}?mode=ro", uri=True)) as db,
        ):
            counts = dict(
                db.execute(
                    "SELECT status, COUNT(*) FROM results WHERE run_id = ? GROUP BY status",
                    (source.run_id,),
                ).fetchall()
            )
            row.update({k: counts.get(k, 0) for k in ("ok", "parse_error", "failed")})
            row["n"] = sum(counts.values())
    return row
