"""Human annotations kept in the jurist store: who said what about which item, and when.

One row per (run, item, annotator, field), so two people annotating at once never
overwrite each other and one person changing their mind replaces only their own answer.
The export is the labels file `jurist meta RESULTS --labels FILE` reads: one JSON line
per item and annotator, keyed by `id`, with an `annotator` column for `--annotator-field`.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from jurist.core.errors import InputError, StorageError
from jurist.core.estimate import checklist_score
from jurist.stats import krippendorff_alpha
from jurist.stats.results import Estimate

_SCHEMA = """
CREATE TABLE IF NOT EXISTS annotations (
    run_key TEXT NOT NULL,
    item_id TEXT NOT NULL,
    annotator TEXT NOT NULL,
    field TEXT NOT NULL,
    value TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (run_key, item_id, annotator, field)
);
"""
VERDICT_VALUES = ("A", "B", "tie")
CHECK_VALUES = ("yes", "no")
MAX_NAME = 80


@dataclass(frozen=True)
class Annotation:
    item_id: str
    annotator: str
    field: str
    value: float | str
    updated: float


def clean_annotator(name: str) -> str:
    """An annotator name: trimmed, non-empty, short, printable."""
    text = " ".join(str(name).split())
    if not text:
        raise InputError("annotation", None, "annotator", "give your name before annotating")
    if len(text) > MAX_NAME or not text.isprintable():
        raise InputError(
            "annotation", None, "annotator", f"at most {MAX_NAME} printable characters"
        )
    return text


class AnnotationStore:
    """Annotations in the SQLite file of the jurist store (a table of their own)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        from jurist.store import Store

        Store(path).close()  # creates the store privately, as grading would
        with self._db() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            with closing(sqlite3.connect(self.path, timeout=30.0, isolation_level=None)) as db:
                yield db
        except sqlite3.DatabaseError as error:
            raise StorageError(f"{self.path}: cannot use the annotations ({error})") from None

    def save(self, run_key: str, item_id: str, annotator: str, field: str, value: Any) -> None:
        now = time.time()
        with self._db() as db:
            db.execute(
                "INSERT INTO annotations VALUES (?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (run_key, item_id, annotator, field) "
                "DO UPDATE SET value = excluded.value, updated = excluded.updated",
                (run_key, item_id, annotator, field, json.dumps(value), now, now),
            )

    def remove(self, run_key: str, item_id: str, annotator: str, field: str) -> None:
        with self._db() as db:
            db.execute(
                "DELETE FROM annotations WHERE run_key = ? AND item_id = ? AND annotator = ? "
                "AND field = ?",
                (run_key, item_id, annotator, field),
            )

    def _select(self, where: str, params: tuple[Any, ...]) -> list[Annotation]:
        query = (
            "SELECT item_id, annotator, field, value, updated FROM annotations "
            f"WHERE {where} ORDER BY item_id, annotator, field"
        )
        with self._db() as db:
            rows = db.execute(query, params).fetchall()
        return [Annotation(r[0], r[1], r[2], json.loads(r[3]), float(r[4])) for r in rows]

    def for_item(self, run_key: str, item_id: str) -> list[Annotation]:
        return self._select("run_key = ? AND item_id = ?", (run_key, item_id))

    def for_run(self, run_key: str) -> list[Annotation]:
        return self._select("run_key = ?", (run_key,))

    def annotated_items(self, run_key: str, item_ids: list[str]) -> dict[str, int]:
        """item id -> number of annotators, for the items of one page."""
        if not item_ids:
            return {}
        marks = ",".join("?" * len(item_ids))
        query = (
            "SELECT item_id, COUNT(DISTINCT annotator) FROM annotations "
            f"WHERE run_key = ? AND item_id IN ({marks}) GROUP BY item_id"
        )
        with self._db() as db:
            return {r[0]: int(r[1]) for r in db.execute(query, (run_key, *item_ids))}

    def export_lines(
        self, run_key: str, checklist_weights: Mapping[str, float] | None = None
    ) -> list[str]:
        """One JSON line per (item, annotator): `id`, `annotator`, `annotated_at` and the
        answers. With checklist weights, a complete checklist also gets its `checklist`
        score by the judge's own formula, the figure `jurist meta` compares."""
        grouped: dict[tuple[str, str], dict[str, Any]] = {}
        latest: dict[tuple[str, str], float] = {}
        for a in self.for_run(run_key):
            key = (a.item_id, a.annotator)
            grouped.setdefault(key, {})[a.field] = a.value
            latest[key] = max(latest.get(key, 0.0), a.updated)
        lines = []
        for (item_id, annotator), answers in grouped.items():
            record: dict[str, Any] = {
                "id": item_id,
                "annotator": annotator,
                "annotated_at": datetime.fromtimestamp(latest[(item_id, annotator)], UTC).isoformat(
                    timespec="seconds"
                ),
            }
            record.update(answers)
            if checklist_weights and all(k in answers for k in checklist_weights):
                decisions = [float(answers[k] == "yes") for k in checklist_weights]
                score = checklist_score(list(checklist_weights.values()), decisions)
                record["checklist"] = round(score, 6)
            lines.append(json.dumps(record, ensure_ascii=False))
        return lines


@dataclass(frozen=True)
class FieldAgreement:
    """How far annotators agree on one field: the human ceiling for the judge."""

    field: str
    annotators: list[str]
    items_rated: int
    items_shared: int
    exact: float | None
    alpha: Estimate
    level: str


def _numeric(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    if value in VERDICT_VALUES:
        return float(VERDICT_VALUES.index(value))
    if value in CHECK_VALUES:
        return float(value == "yes")
    return math.nan


def annotator_agreement(
    annotations: list[Annotation], *, n_resamples: int = 500, seed: int = 0
) -> list[FieldAgreement]:
    """Per field with at least two annotators: Krippendorff's alpha (ordinal for scores,
    nominal for verdicts and yes / no) and the share of shared items all raters agree on."""
    by_field: dict[str, list[Annotation]] = {}
    for a in annotations:
        by_field.setdefault(a.field, []).append(a)
    out = []
    for name, rows in by_field.items():
        people = sorted({a.annotator for a in rows})
        if len(people) < 2:
            continue
        items = sorted({a.item_id for a in rows})
        col = {i: k for k, i in enumerate(items)}
        row = {p: k for k, p in enumerate(people)}
        matrix = np.full((len(people), len(items)), np.nan)
        for a in rows:
            matrix[row[a.annotator], col[a.item_id]] = _numeric(a.value)
        level = "ordinal" if all(isinstance(a.value, int | float) for a in rows) else "nominal"
        shared = (~np.isnan(matrix)).sum(axis=0) >= 2
        exact = None
        if shared.any():
            same = [
                len(set(matrix[~np.isnan(matrix[:, k]), k])) == 1 for k in np.flatnonzero(shared)
            ]
            exact = float(np.mean(same))
        alpha = krippendorff_alpha(matrix, level=level, n_resamples=n_resamples, seed=seed)
        out.append(FieldAgreement(name, people, len(items), int(shared.sum()), exact, alpha, level))
    return out
