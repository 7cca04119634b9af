"""The viewer's index of a run, written while the run is graded.

`jurist view` filters, sorts and pages a run with SQLite queries. Building that index when
the viewer opens means reading every judgment again (tens of seconds at 100,000 items);
written row by row as results are appended, it is whole when the run ends, and the viewer
adds only what needs the whole run (the join with human labels, the figures). The index is
stamped with the size and time of the results file it matches: one that does not match
(a killed run, a file rewritten since) is never used, and the viewer builds its own.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from jurist.core.data import Item
from jurist.core.judgment import ChecklistJudgment, Judgment, PairwiseJudgment, PointwiseJudgment

INDEX = "index.sqlite"
SCHEMA = """
CREATE TABLE info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE items (
    pos INTEGER PRIMARY KEY,
    item_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    verdict TEXT,
    consistent INTEGER,
    disagreement REAL,
    parse_errors INTEGER NOT NULL DEFAULT 0,
    human TEXT,
    preview TEXT,
    labels TEXT,
    width REAL
);
CREATE TABLE bodies (pos INTEGER PRIMARY KEY, judgment TEXT NOT NULL, item TEXT);
CREATE TABLE scores (
    pos INTEGER NOT NULL,
    criterion TEXT NOT NULL,
    status TEXT NOT NULL,
    score REAL,
    expected REAL,
    human REAL,
    PRIMARY KEY (criterion, pos)
);
CREATE TABLE texts (item_id TEXT PRIMARY KEY, item TEXT NOT NULL);
"""
AFTER_LOAD = """
CREATE INDEX items_status ON items (status, pos);
CREATE INDEX items_disagreement ON items (disagreement);
CREATE INDEX items_parse_errors ON items (parse_errors, pos);
CREATE INDEX items_width ON items (width);
CREATE INDEX scores_score ON scores (criterion, score);
CREATE INDEX scores_status ON scores (status, pos);
CREATE INDEX scores_pos ON scores (pos);
"""
_BATCH = 2000


def finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def preview(judgment: Judgment) -> str:
    texts: list[str] = []
    if isinstance(judgment, PairwiseJudgment) and judgment.pair is not None:
        texts.append(judgment.pair.rationale_ab or "")
    else:
        for part in getattr(judgment, "criteria", {}).values():
            texts.append(part.rationale or part.raw or "")
    return " ".join(t for t in texts if t)[:140]


def judge_score_rows(judgment: Judgment, pos: int) -> list[tuple[Any, ...]]:
    """(pos, criterion, status, score, expected, human) as the label join writes them,
    before any human value is known; checklist items get a row each as well."""
    rows: list[tuple[Any, ...]] = []
    if isinstance(judgment, PointwiseJudgment):
        for cid, part in judgment.criteria.items():
            ok = part.status == "ok" and part.score is not None
            score = finite(part.score) if ok else None
            expected = finite(part.expected) if ok else None
            rows.append((pos, cid, part.status, score, expected, None))
    elif isinstance(judgment, ChecklistJudgment):
        ok = judgment.status == "ok" and judgment.checklist_score is not None
        score = finite(judgment.checklist_score) if ok else None
        expected = finite(judgment.checklist_expected) if ok else None
        rows.append((pos, "checklist", judgment.status, score, expected, None))
        for iid, decision in judgment.checklist.items():
            value = None if decision.answer is None else float(decision.answer == "yes")
            rows.append((pos, iid, decision.status, value, finite(decision.p_yes), None))
    return rows


def item_row(pos: int, judgment: Judgment, parse_errors: bool) -> tuple[Any, ...]:
    """The columns the lists filter and sort on; the judgment's JSON goes to `bodies`, so
    this table stays narrow and the updates made when the viewer first opens stay cheap."""
    pair = judgment.pair if isinstance(judgment, PairwiseJudgment) else None
    return (
        pos,
        judgment.item_id,
        judgment.status,
        None if pair is None else pair.verdict,
        None if pair is None or pair.consistent is None else int(pair.consistent),
        None,
        int(parse_errors),
        None,
        preview(judgment),
        json.dumps(judgment.labels) if judgment.labels else None,
        interval_width(judgment),
    )


def interval_width(judgment: Judgment) -> float | None:
    """The widest interval a profile put on the item's criteria: the items to send to a
    person first (None without a profile's intervals)."""
    if not isinstance(judgment, PointwiseJudgment):
        return None
    widths = [
        float(bounds[1]) - float(bounds[0])
        for part in judgment.criteria.values()
        if isinstance(bounds := part.extras.get("interval"), list | tuple) and len(bounds) == 2
    ]
    return max(widths, default=None)


def criterion_map(criteria: list[str], fields: list[str]) -> dict[str, str | None]:
    """criterion -> label field: equal names ignoring case, else the only criterion with
    the only label field (`jurist meta`'s rule when no --map is given)."""
    lower = {f.lower(): f for f in fields}
    out: dict[str, str | None] = {cid: lower.get(cid.lower()) for cid in criteria}
    if len(criteria) == 1 and out[criteria[0]] is None and len(fields) == 1:
        out[criteria[0]] = fields[0]
    return out


def _numbers_only(db: sqlite3.Connection, fields: list[str]) -> bool:
    """Whether every label is a plain number or null (the join then needs no parsing)."""
    if any('"' in f or "\\" in f for f in fields):
        return False
    for field in fields:
        row = db.execute(
            "SELECT 1 FROM items WHERE labels IS NOT NULL AND "
            "json_type(labels, ?) NOT IN ('integer', 'real', 'null') LIMIT 1",
            (f'$."{field}"',),
        ).fetchone()
        if row is not None:
            return False
    return True


def _join_numbers(db: sqlite3.Connection, mapping: dict[str, str | None]) -> None:
    """Each labelled item's human scores and its largest judge-human gap, for labels that
    are plain numbers, in SQL: then one pass over the items that have them."""
    mapped = [(cid, f'$."{field}"') for cid, field in mapping.items() if field is not None]
    path = "CASE s.criterion " + " ".join("WHEN ? THEN ?" for _ in mapped) + " END"
    db.execute(
        "CREATE TEMP TABLE joined AS SELECT pos, json_group_object(criterion, human) AS human, "
        "MAX(ABS(score - human)) AS gap FROM (SELECT s.pos, s.criterion, s.score, "
        f"json_extract(i.labels, {path}) AS human FROM scores s JOIN items i ON i.pos = s.pos "
        f"WHERE s.criterion IN ({', '.join('?' for _ in mapped)}) AND i.labels IS NOT NULL) "
        "WHERE human IS NOT NULL GROUP BY pos",
        [*(v for pair in mapped for v in pair), *(cid for cid, _ in mapped)],
    )
    db.execute(
        "UPDATE items SET human = joined.human, disagreement = joined.gap FROM joined "
        "WHERE joined.pos = items.pos"
    )
    db.execute("DROP TABLE joined")


def figures(db: sqlite3.Connection, n: int, criteria: list[str]) -> dict[str, Any]:
    """Counts and histograms of the run page, and a note when item texts are missing."""
    counts = dict(db.execute("SELECT status, COUNT(*) FROM items GROUP BY status").fetchall())
    with_text = db.execute(
        "SELECT COUNT(*) FROM items WHERE item_id IN (SELECT item_id FROM texts)"
    ).fetchone()[0]
    histogram = (
        "SELECT ROUND(score, 1), COUNT(*) FROM scores WHERE criterion = ? "
        "AND score IS NOT NULL GROUP BY ROUND(score, 1) ORDER BY 1"
    )
    return {
        "status": {s: int(counts.get(s, 0)) for s in ("ok", "parse_error", "failed")},
        "labelled": db.execute("SELECT COUNT(*) FROM items WHERE human IS NOT NULL").fetchone()[0],
        "histograms": {c: db.execute(histogram, (c,)).fetchall() for c in criteria},
        "notes": [] if with_text >= n else [f"item texts found for {with_text} of {n} items"],
    }


def run_parts(db: sqlite3.Connection, seen: dict[str, list[str]], n: int) -> dict[str, Any]:
    """What the viewer shows of the whole run, computed once the last row is in. Labels
    that are plain numbers are joined here; others (and pairs' preferences) are left to
    the viewer, which reads them as `jurist meta` does (`joined` is then false)."""
    mode = seen["mode"][0]
    mapping: dict[str, str | None] = {}
    criteria: list[str] = []
    joined = not seen["labels"]
    if mode != "pairwise":
        judged = ["checklist"] if mode == "checklist" else list(seen["criteria"])
        mapping = criterion_map(judged, seen["labels"])
        joined = not any(mapping.values()) or _numbers_only(db, seen["labels"])
        if joined and any(mapping.values()):
            _join_numbers(db, mapping)
        criteria = judged if mode != "checklist" else [*seen["checklist"], "checklist"]
    parts = {"mode": mode, "judges": sorted(seen["judges"]), "rubrics": sorted(seen["rubrics"])}
    parts |= {"n": n, "criteria": criteria, "label_fields": mapping, "joined": joined}
    return parts | figures(db, n, criteria)


LAYOUT = "v2"  # in the stamp: an index of an older layout is not used, but built again


def results_stamp(path: Path) -> str:
    stat = path.stat()
    return f"{LAYOUT}:{stat.st_size}:{stat.st_mtime_ns}"


class IndexWriter:
    """Rows for the viewer, written in batches beside results.jsonl (into a temporary file
    renamed into place when the run ends). Indexing must never fail a run: any error
    drops the index, and the viewer then builds one itself."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._temporary = path.with_name(path.name + ".tmp")
        self._pos = 0
        self._items: list[tuple[Any, ...]] = []
        self._bodies: list[tuple[int, str]] = []
        self._scores: list[tuple[Any, ...]] = []
        self._texts: list[tuple[str, str]] = []
        self._seen: dict[str, dict[str, None]] = {
            k: {} for k in ("mode", "judges", "rubrics", "criteria", "checklist", "labels")
        }
        self._db: sqlite3.Connection | None = None
        with contextlib.suppress(OSError):
            path.unlink()
        try:
            with contextlib.suppress(FileNotFoundError):
                self._temporary.unlink()
            descriptor = os.open(self._temporary, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
            os.close(descriptor)  # the index holds the judged texts, like the results
            self._db = sqlite3.connect(self._temporary)
            self._db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA)
        except (OSError, sqlite3.Error):
            self._drop()

    def add(self, judgment: Judgment, text: str) -> None:
        """One judgment, at the next line of the results file; `text` is its JSON."""
        if self._db is None:
            return
        pos = self._pos
        self._pos += 1
        seen = self._seen
        seen["mode"][judgment.mode] = None
        seen["judges"][judgment.judge] = None
        seen["rubrics"][judgment.rubric] = None
        for name in judgment.labels:
            seen["labels"][name] = None
        scores = judge_score_rows(judgment, pos)
        if isinstance(judgment, PointwiseJudgment):
            for cid in judgment.criteria:
                seen["criteria"][cid] = None
        elif isinstance(judgment, ChecklistJudgment):
            for iid in judgment.checklist:
                seen["checklist"][iid] = None
        bad = judgment.status == "parse_error" or any(r[2] == "parse_error" for r in scores)
        self._items.append(item_row(pos, judgment, bad))
        self._bodies.append((pos, text))
        self._scores += scores
        if len(self._items) >= _BATCH:
            self._write()

    def texts(self, items: Iterable[Item]) -> Iterator[Item]:
        """The items, passed on unchanged, with their texts kept for the item pages."""
        for item in items:
            if self._db is not None:
                self._texts.append((item.id, item.model_dump_json()))
                if len(self._texts) >= _BATCH:
                    self._write()
            yield item

    def _write(self) -> None:
        if self._db is None:
            return
        try:
            self._db.executemany("INSERT INTO items VALUES (?,?,?,?,?,?,?,?,?,?,?)", self._items)
            self._db.executemany("INSERT INTO bodies VALUES (?, ?, NULL)", self._bodies)
            self._db.executemany("INSERT OR REPLACE INTO scores VALUES (?,?,?,?,?,?)", self._scores)
            self._db.executemany("INSERT OR REPLACE INTO texts VALUES (?,?)", self._texts)
        except sqlite3.Error:
            self._drop()
        self._items, self._bodies, self._scores, self._texts = [], [], [], []

    def close(self, results: Path) -> None:
        """Finish the index and stamp it with `results`, the file it now matches."""
        self._write()
        if self._db is None:
            return
        seen = {name: list(values) for name, values in self._seen.items()}
        try:
            self._db.executescript(AFTER_LOAD)
            if len(seen["mode"]) == 1 and self._pos:  # else the full build says what is wrong
                parts = run_parts(self._db, seen, self._pos)
                self._db.execute("INSERT INTO info VALUES ('parts', ?)", (json.dumps(parts),))
            self._db.executemany(
                "INSERT INTO info VALUES (?, ?)",
                [("grading", json.dumps(seen)), ("results", results_stamp(results))],
            )
            self._db.commit()
            self._db.close()
            self._db = None
            os.replace(self._temporary, self.path)
        except (OSError, sqlite3.Error):
            self._drop()

    def discard(self) -> None:
        """Drop the index: the results it was written beside are not whole."""
        self._drop()

    def _drop(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None
        with contextlib.suppress(OSError):
            self._temporary.unlink()
