"""A run's judgments indexed in SQLite, so filtering, sorting and paging are queries.

`jurist grade` writes the index beside the results as they arrive (`jurist.view.prebuilt`
completes it on first open). For anything else (a results file from elsewhere, results
changed since) it is built once per version of the results (`RunSource.fingerprint`) in a
cache folder and replaced atomically. Either way a run then opens with a handful of
indexed queries instead of reading the whole results file again.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jurist.core.errors import JuristError
from jurist.core.judgment import ChecklistJudgment, Judgment, PairwiseJudgment, judgment_from_json
from jurist.core.paths import cache_dir
from jurist.engine.summary import summarise
from jurist.engine.viewindex import AFTER_LOAD, SCHEMA, finite, interval_width, preview
from jurist.meta.join import Results
from jurist.meta.load import LoadedResults, load_results
from jurist.view.prebuilt import ready_index
from jurist.view.sources import RunSource, iter_source_items

_LAYOUT = "v4"  # in the cached file's name: an index of an older layout is rebuilt
PAGE_SIZE = 50
SORTS = ("position", "score", "-score", "disagreement", "status", "item_id")


def default_cache_dir() -> Path:
    return cache_dir("view")


@dataclass(frozen=True)
class Filters:
    """What the run page's filter form asks for; every field is optional."""

    status: str | None = None
    criterion: str | None = None
    score_min: float | None = None
    score_max: float | None = None
    disagreement: float | None = None
    wider_than: float | None = None  # a profile's interval: the items to review first
    inconsistent: bool = False
    parse_errors: bool = False
    search: str | None = None
    sort: str = "position"

    def query(self) -> dict[str, str]:
        """The filters as URL query parameters (empty ones left out)."""
        out: dict[str, str] = {}
        for name in (
            "status",
            "criterion",
            "score_min",
            "score_max",
            "disagreement",
            "wider_than",
            "search",
        ):
            value = getattr(self, name)
            if value is not None and value != "":
                out[name] = f"{value:g}" if isinstance(value, float) else str(value)
        if self.inconsistent:
            out["inconsistent"] = "1"
        if self.parse_errors:
            out["parse_errors"] = "1"
        if self.sort != "position":
            out["sort"] = self.sort
        return out


@dataclass
class RunInfo:
    """What the runs list and the run page header show, computed once at indexing."""

    key: str
    label: str
    source: str
    mode: str
    judges: list[str]
    rubrics: list[str]
    n: int
    status: dict[str, int]
    criteria: list[str]
    label_fields: dict[str, str | None]
    summary: dict[str, Any]
    created: float | None
    labelled: int
    notes: list[str] = field(default_factory=list)
    histograms: dict[str, list[tuple[float, int]]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(self.__dict__, allow_nan=False, default=str)


@dataclass(frozen=True)
class Row:
    pos: int
    item_id: str
    status: str
    score: float | None
    score_status: str | None
    verdict: str | None
    consistent: bool | None
    disagreement: float | None
    preview: str


class RunIndex:
    """Queries on one run's index file."""

    def __init__(self, path: Path, source: RunSource | None = None) -> None:
        self.path = path
        with self.connect() as db:
            self.info = RunInfo(**json.loads(_info(db, "run")))
        if source is not None:  # an index beside the results may be named another way
            self.info.key, self.info.label = source.key, source.label
            self.info.source = source.source

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        try:
            yield db
        finally:
            db.close()

    # ------------------------------------------------------------ lists

    def _where(self, filters: Filters) -> tuple[str, str, list[Any]]:
        """(join, where, parameters) for the filters."""
        params: list[Any] = []
        join = ""
        if filters.criterion:
            # A score bound or a parse-error filter needs the score row: an inner join then
            # lets SQLite start from the (criterion, score) index instead of every item.
            needed = filters.score_min is not None or filters.score_max is not None
            kind = "JOIN" if needed or filters.parse_errors else "LEFT JOIN"
            join = f"{kind} scores s ON s.pos = items.pos AND s.criterion = ?"
            params.append(filters.criterion)
        clauses: list[str] = []
        if filters.status:
            clauses.append("items.status = ?")
            params.append(filters.status)
        if filters.criterion and filters.score_min is not None:
            clauses.append("s.score >= ?")
            params.append(filters.score_min)
        if filters.criterion and filters.score_max is not None:
            clauses.append("s.score <= ?")
            params.append(filters.score_max)
        if filters.disagreement is not None:
            clauses.append("items.disagreement >= ?")
            params.append(filters.disagreement)
        if filters.wider_than is not None:
            clauses.append("items.width > ?")
            params.append(filters.wider_than)
        if filters.inconsistent:
            clauses.append("items.consistent = 0")
        if filters.parse_errors:
            if filters.criterion:
                clauses.append("s.status = 'parse_error'")
            else:
                clauses.append("items.parse_errors = 1")
        if filters.search:
            clauses.append("items.item_id LIKE ? ESCAPE '\\'")
            escaped = filters.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.append(f"%{escaped}%")
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        return join, where, params

    def _order(self, filters: Filters) -> str:
        sort = filters.sort if filters.sort in SORTS else "position"
        if sort in ("score", "-score") and filters.criterion:
            direction = "DESC" if sort == "-score" else "ASC"
            return f"ORDER BY s.score IS NULL, s.score {direction}, items.pos"
        if sort == "disagreement":
            return "ORDER BY items.disagreement IS NULL, items.disagreement DESC, items.pos"
        if sort == "status":
            return "ORDER BY items.status DESC, items.pos"
        if sort == "item_id":
            return "ORDER BY items.item_id"
        return "ORDER BY items.pos"

    def count(self, filters: Filters) -> int:
        join, where, params = self._where(filters)
        with self.connect() as db:
            return int(
                db.execute(f"SELECT COUNT(*) FROM items {join} {where}", params).fetchone()[0]
            )

    def page(self, filters: Filters, offset: int, limit: int = PAGE_SIZE) -> list[Row]:
        join, where, params = self._where(filters)
        score = "s.score, s.status" if filters.criterion else "NULL, NULL"
        query = (
            f"SELECT items.pos, items.item_id, items.status, {score}, items.verdict, "
            f"items.consistent, items.disagreement, items.preview FROM items {join} {where} "
            f"{self._order(filters)} LIMIT ? OFFSET ?"
        )
        with self.connect() as db:
            rows = db.execute(query, [*params, limit, max(offset, 0)]).fetchall()
        return [
            Row(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                None if r[6] is None else bool(r[6]),
                r[7],
                r[8] or "",
            )
            for r in rows
        ]

    def position_at(self, filters: Filters, offset: int) -> int | None:
        """The item at `offset` in the filtered, sorted list (for next / previous)."""
        if offset < 0:
            return None
        rows = self.page(filters, offset, 1)
        return rows[0].pos if rows else None

    # ------------------------------------------------------------ figures

    def histogram(self, criterion: str) -> list[tuple[float, int]]:
        """Counts per score value (rounded to 0.1), computed once at indexing."""
        return [(float(v), int(c)) for v, c in self.info.histograms.get(criterion, [])]

    # ------------------------------------------------------------ one item

    def item(self, pos: int) -> tuple[Judgment, dict[str, Any] | None, dict[str, Any]] | None:
        """(judgment, item fields or None, human labels) at a position."""
        query = (
            "SELECT judgment, COALESCE(item, (SELECT item FROM texts WHERE texts.item_id = "
            "items.item_id)), human FROM items JOIN bodies USING (pos) WHERE pos = ?"
        )
        with self.connect() as db:
            row = db.execute(query, (pos,)).fetchone()
        if row is None:
            return None
        return (
            judgment_from_json(row[0]),
            (json.loads(row[1]) if row[1] else None),
            json.loads(row[2] or "{}"),
        )

    def position_of(self, item_id: str) -> int | None:
        with self.connect() as db:
            row = db.execute("SELECT pos FROM items WHERE item_id = ?", (item_id,)).fetchone()
        return None if row is None else int(row[0])

    def judgments(self) -> Iterator[Judgment]:
        with self.connect() as db:
            for (text,) in db.execute("SELECT judgment FROM bodies ORDER BY pos"):
                yield judgment_from_json(text)


def _info(db: sqlite3.Connection, key: str) -> str:
    row = db.execute("SELECT value FROM info WHERE key = ?", (key,)).fetchone()
    if row is None:
        raise JuristError(f"index is incomplete (no {key})")
    return str(row[0])


def load_source(source: RunSource) -> LoadedResults:
    if source.results_path is not None:
        return load_results(str(source.results_path))
    return load_results(source.source, source.store_path)


def open_index(source: RunSource, cache_dir: Path | None = None) -> RunIndex:
    """The run's index: the one grading wrote beside its results when it still matches
    them, else one built (once per version of the results) in the cache folder."""
    ready = ready_index(source)
    if ready is not None:
        with suppress(sqlite3.DatabaseError, JuristError, TypeError):
            return RunIndex(ready, source)
    folder = cache_dir or default_cache_dir()
    path = folder / f"{source.key}-{source.fingerprint()}-{_LAYOUT}.sqlite"
    if path.is_file():
        with suppress(sqlite3.DatabaseError, JuristError):
            return RunIndex(path)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for stale in folder.glob(f"{source.key}-*.sqlite"):
        with suppress(OSError):
            stale.unlink()
    build_index(source, path)
    return RunIndex(path)


def _labels_by_criterion(
    results: Results, notes: list[str]
) -> tuple[dict[str, str | None], dict[str, Any]]:
    """criterion -> label field, and per criterion the judge / human arrays."""
    mapping: dict[str, str | None] = {}
    arrays: dict[str, Any] = {}
    if results.mode == "pairwise":
        return mapping, arrays
    try:
        mapping = results.criterion_map()
    except JuristError as error:
        notes.append(f"labels not joined: {error}")
        mapping = {c: None for c in results.criteria()}
    for cid, label_field in mapping.items():
        try:
            arrays[cid] = results.criterion(cid, label_field)
        except JuristError as error:
            notes.append(f"{cid}: labels not used: {error}")
            mapping[cid] = None
            arrays[cid] = results.criterion(cid, None)
    return mapping, arrays


def _score_rows(judgment: Judgment, pos: int) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    if isinstance(judgment, ChecklistJudgment):
        for iid, decision in judgment.checklist.items():
            value = None if decision.answer is None else float(decision.answer == "yes")
            rows.append((pos, iid, decision.status, value, finite(decision.p_yes), None))
    return rows


@dataclass
class _Joined:
    """Per item: the largest judge-human gap, the human labels, and the score rows."""

    mapping: dict[str, str | None]
    disagreement: Any
    human: list[dict[str, Any]]
    score_rows: list[tuple[Any, ...]]


def _join_labels(results: Results, notes: list[str]) -> _Joined:
    """The judge's scores next to the human labels carried in the results; a label that
    cannot be read is a note on the run page, not a run that cannot be opened."""
    mapping, arrays = _labels_by_criterion(results, notes)
    n = len(results)
    disagreement = np.full(n, np.nan)
    human: list[dict[str, Any]] = [{} for _ in range(n)]
    score_rows: list[tuple[Any, ...]] = []
    for cid, data in arrays.items():
        disagreement = np.fmax(disagreement, np.abs(data.score - data.human))
        for i in range(n):
            if data.status[i] == "missing":
                continue
            h = finite(data.human[i])
            if h is not None:
                human[i][cid] = h
            score_rows.append(
                (i, cid, str(data.status[i]), finite(data.score[i]), finite(data.expected[i]), h)
            )
    if results.mode == "pairwise":
        try:
            pairs = results.pairs(results.pair_label_field())
        except JuristError as error:
            notes.append(f"labels not used: {error}")
            pairs = results.pairs(None)
        for i in range(n):
            if pairs.label[i] is not None:
                human[i]["preference"] = pairs.label[i]
                if pairs.verdict[i] is not None:
                    disagreement[i] = float(pairs.verdict[i] != pairs.label[i])
    return _Joined(mapping, disagreement, human, score_rows)


def build_index(source: RunSource, path: Path) -> None:
    """Read the run once and write its index to `path` (atomically)."""
    results = Results.from_loaded(load_source(source))
    notes: list[str] = []
    joined = _join_labels(results, notes)
    disagreement, human, score_rows = joined.disagreement, joined.human, joined.score_rows
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with suppress(FileNotFoundError):
        tmp.unlink()
    with closing(sqlite3.connect(tmp)) as db:
        db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + SCHEMA)
        item_rows = []
        for i, j in enumerate(results.judgments):
            pair = j.pair if isinstance(j, PairwiseJudgment) else None
            item_rows.append(
                (
                    i,
                    j.item_id,
                    j.status,
                    None if pair is None else pair.verdict,
                    None if pair is None or pair.consistent is None else int(pair.consistent),
                    finite(disagreement[i]),
                    int(j.status == "parse_error"),
                    json.dumps(human[i]) if human[i] else None,
                    preview(j),
                    None,
                    interval_width(j),
                )
            )
            score_rows.extend(_score_rows(j, i))
        db.executemany("INSERT INTO items VALUES (?,?,?,?,?,?,?,?,?,?,?)", item_rows)
        db.executemany(
            "INSERT INTO bodies VALUES (?, ?, NULL)",
            ((i, j.model_dump_json()) for i, j in enumerate(results.judgments)),
        )
        db.executemany("INSERT OR REPLACE INTO scores VALUES (?,?,?,?,?,?)", score_rows)
        db.execute(
            "UPDATE items SET parse_errors = 1 WHERE status = 'parse_error' OR pos IN "
            "(SELECT pos FROM scores WHERE status = 'parse_error')"
        )
        notes += _add_item_texts(
            db, source, {j.item_id: i for i, j in enumerate(results.judgments)}
        )
        db.executescript(AFTER_LOAD)
        info = _run_info(source, results, joined.mapping, notes, sum(1 for h in human if h))
        info.histograms = {
            c: db.execute(
                "SELECT ROUND(score, 1), COUNT(*) FROM scores WHERE criterion = ? "
                "AND score IS NOT NULL GROUP BY ROUND(score, 1) ORDER BY 1",
                (c,),
            ).fetchall()
            for c in info.criteria
        }
        db.execute("INSERT INTO info VALUES ('run', ?)", (info.to_json(),))
        db.commit()
    os.chmod(tmp, 0o600)  # the index holds the judged texts, like the results
    os.replace(tmp, path)


def _add_item_texts(
    db: sqlite3.Connection, source: RunSource, positions: dict[str, int]
) -> list[str]:
    items, reason = iter_source_items(source)
    if items is None:
        return [f"item texts not shown: {reason}"]
    found = 0
    try:
        batch: list[tuple[str, int]] = []
        for item in items:
            pos = positions.get(item.id)
            if pos is None:
                continue
            batch.append((item.model_dump_json(), pos))
            found += 1
            if len(batch) >= 1000:
                db.executemany("UPDATE bodies SET item = ? WHERE pos = ?", batch)
                batch = []
        db.executemany("UPDATE bodies SET item = ? WHERE pos = ?", batch)
    except (JuristError, OSError, ValueError) as error:
        return [f"item texts partly shown: {error}"]
    if found < len(positions):
        return [f"item texts found for {found} of {len(positions)} items"]
    return []


def _run_info(
    source: RunSource,
    results: Results,
    mapping: dict[str, str | None],
    notes: list[str],
    labelled: int,
) -> RunInfo:
    summary: dict[str, Any] | None = None
    if source.summary_path is not None:
        with suppress(OSError, ValueError):
            summary = json.loads(source.summary_path.read_text(encoding="utf-8"))
    if not summary or summary.get("items") != len(results):
        summary = summarise(results.judgments)
    criteria = results.criteria() if results.mode != "pairwise" else []
    if results.mode == "checklist":
        criteria = list(
            dict.fromkeys(k for j in results.judgments for k in getattr(j, "checklist", {}))
        )
        criteria.append("checklist")
    return RunInfo(
        key=source.key,
        label=source.label,
        source=source.source,
        mode=results.mode,
        judges=sorted({j.judge for j in results.judgments}),
        rubrics=sorted({j.rubric for j in results.judgments}),
        n=len(results),
        status=results.status_counts(),
        criteria=criteria,
        label_fields=mapping,
        summary=summary,
        created=source.created if source.created is not None else time.time(),
        labelled=labelled,
        notes=notes,
    )


def scale_points(
    index: RunIndex, criterion: str, rubric_points: Sequence[int] | None
) -> list[float]:
    """The points a person may give: the rubric's, else those the judge's scores used."""
    if rubric_points:
        return [float(p) for p in rubric_points]
    seen = [v for v, _ in index.histogram(criterion) if float(v).is_integer()]
    if len(seen) >= 2:
        return [float(p) for p in range(int(min(seen)), int(max(seen)) + 1)]
    return [float(p) for p in range(1, 6)]
