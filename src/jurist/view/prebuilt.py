"""The index `jurist grade` writes beside a run's results, made ready for the viewer.

Grading writes one row per judgment as it finishes (`jurist.engine.viewindex`); what needs
the whole run is added here, once, the first time the viewer opens it: the judge's scores
joined with the human labels the results carry (as `jurist meta` joins them), the status
counts, the summary and the histograms. An index whose stamp does not match the results
file next to it is not used: the viewer then builds its own from the file.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from contextlib import closing, suppress
from pathlib import Path
from typing import Any

from jurist.core.errors import JuristError
from jurist.core.judgment import judgment_from_json
from jurist.engine.summary import summarise
from jurist.engine.viewindex import INDEX, figures, results_stamp
from jurist.meta.errors import MetaInputError
from jurist.meta.join import majority_verdict, normalise_verdict
from jurist.meta.load import ratings_of
from jurist.view.sources import RunSource


def _value(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM info WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def ready_index(source: RunSource) -> Path | None:
    """The run's index written while grading, completed on first use; None when there is
    none that matches the results file as it is now."""
    if source.results_path is None or source.data_path is not None:
        return None
    path = source.results_path.with_name(INDEX)
    if not path.is_file() or not source.results_path.is_file():
        return None
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            stamp, done = _value(db, "results"), _value(db, "run")
            parts = json.loads(_value(db, "parts") or "null")
    except (sqlite3.Error, ValueError):
        return None
    if stamp != results_stamp(source.results_path) or parts is None:
        return None
    if done is None:
        try:
            with closing(sqlite3.connect(path)) as db:
                # Not synced: the index is made again from the results if it is ever lost.
                db.execute("PRAGMA synchronous=OFF")
                _complete(db, source, parts)
        except (sqlite3.Error, OSError):
            return None
    return path


def _complete(db: sqlite3.Connection, source: RunSource, parts: dict[str, Any]) -> None:
    """Join the labels grading left (text labels, preferences), add what depends on how
    the run is named, and write the run's info: the index is then whole."""
    if not parts.pop("joined"):
        notes: list[str] = []
        grading = json.loads(_value(db, "grading") or "{}")
        if parts["mode"] == "pairwise":
            _join_pairs(db, source, grading.get("labels", []), notes)
        else:
            _join_scores(db, source, parts["label_fields"], notes)
        parts |= figures(db, parts["n"], parts["criteria"])
        parts["notes"] = notes + parts["notes"]
    parts |= {
        "key": source.key,
        "label": source.label,
        "source": source.source,
        "summary": _summary(db, source, parts["n"]),
        "created": source.created if source.created is not None else time.time(),
    }
    db.execute(
        "INSERT OR REPLACE INTO info VALUES ('run', ?)",
        (json.dumps(parts, allow_nan=False, default=str),),
    )
    db.commit()


def _summary(db: sqlite3.Connection, source: RunSource, n: int) -> dict[str, Any]:
    """The run's summary.json when it counts these judgments, else computed from them."""
    if source.summary_path is not None:
        with suppress(OSError, ValueError):
            summary = json.loads(source.summary_path.read_text(encoding="utf-8"))
            if summary and summary.get("items") == n:
                return dict(summary)
    rows = db.execute("SELECT judgment FROM bodies ORDER BY pos")
    return summarise(judgment_from_json(text) for (text,) in rows)


def _ratings(source: RunSource, pos: int, labels: dict[str, Any]) -> dict[str, list[Any]]:
    return {k: ratings_of(v, (source.source, pos + 1, f"labels.{k}")) for k, v in labels.items()}


def _numbers(ratings: list[Any], where: tuple[str, int, str]) -> list[float]:
    out = []
    for rating in ratings:
        if rating is not None and not isinstance(rating, float):
            raise MetaInputError(*where, f"label {rating!r} is not a number")
        out.append(math.nan if rating is None else rating)
    return out


def _labelled(db: sqlite3.Connection) -> list[tuple[int, dict[str, Any], str, str | None]]:
    query = "SELECT pos, labels, status, verdict FROM items WHERE labels IS NOT NULL"
    return [(p, json.loads(text), s, v) for p, text, s, v in db.execute(query)]


def _join_scores(
    db: sqlite3.Connection, source: RunSource, mapping: dict[str, str | None], notes: list[str]
) -> None:
    """Human ratings into the score rows, and each item's largest judge-human gap; a
    criterion whose labels cannot be read keeps none (a note says why)."""
    if not any(mapping.values()):
        return
    rows = _labelled(db)
    human: dict[str, dict[int, float]] = {}
    for cid, field in mapping.items():
        if field is None:
            continue
        values: dict[int, float] = {}
        try:
            for pos, labels, _, _ in rows:
                found = _ratings(source, pos, labels).get(field, [])
                finite = [v for v in _numbers(found, (source.source, pos + 1, field)) if v == v]
                if finite:
                    values[pos] = sum(finite) / len(finite)
        except MetaInputError as error:
            notes.append(f"{cid}: labels not used: {error}")
            mapping[cid] = None
            continue
        human[cid] = values
    per_item: dict[int, dict[str, float]] = {}
    gaps: dict[int, float] = {}
    for cid, values in human.items():
        query = "SELECT pos, score FROM scores WHERE criterion = ?"
        scored = [(pos, score) for pos, score in db.execute(query, (cid,)) if pos in values]
        db.executemany(
            "UPDATE scores SET human = ? WHERE criterion = ? AND pos = ?",
            [(values[pos], cid, pos) for pos, _ in scored],
        )
        for pos, score in scored:
            per_item.setdefault(pos, {})[cid] = values[pos]
            if score is not None:
                gaps[pos] = max(gaps.get(pos, -1.0), abs(score - values[pos]))
    _write_items(db, per_item, gaps)


def _join_pairs(
    db: sqlite3.Connection, source: RunSource, fields: list[str], notes: list[str]
) -> None:
    """Each pair's human preference, and whether the judge's verdict differs from it."""
    field = "preference" if "preference" in fields else (fields[0] if len(fields) == 1 else None)
    if field is None:
        return
    per_item: dict[int, dict[str, Any]] = {}
    gaps: dict[int, float] = {}
    try:
        for pos, labels, status, verdict in _labelled(db):
            where = (source.source, pos + 1, f"labels.{field}")
            ratings = _ratings(source, pos, labels).get(field, [])
            votes = [normalise_verdict(r, where) for r in ratings if r is not None]
            label = majority_verdict([v for v in votes if v is not None])
            if label is not None:
                per_item[pos] = {"preference": label}
                if status == "ok" and verdict is not None:
                    gaps[pos] = float(verdict != label)
    except (MetaInputError, JuristError) as error:
        notes.append(f"labels not used: {error}")
        return
    _write_items(db, per_item, gaps)


def _write_items(
    db: sqlite3.Connection, human: dict[int, dict[str, Any]], gaps: dict[int, float]
) -> None:
    db.executemany(
        "UPDATE items SET human = ?, disagreement = ? WHERE pos = ?",
        [(json.dumps(h), gaps.get(pos), pos) for pos, h in human.items()],
    )
    db.executemany(
        "UPDATE items SET disagreement = ? WHERE pos = ?",
        [(gap, pos) for pos, gap in gaps.items() if pos not in human],
    )
