"""SQLite store: the completion cache and the run records that make runs resumable.

Every completion is saved the moment it arrives (WAL mode), so a run killed at any point,
even by SIGKILL, loses at most the calls that were in flight. Inside an event loop the
writes of one loop turn share a transaction, committed at the start of the next turn: a
commit per write would cost more than the rest of a judgment against a fast server.
Results are keyed by (run, item index), so a resumed run can never write an item twice, and
a run is held by one process at a time (`run_lock`), so two resumes never both pay.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import socket
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any, TypeVar

from jurist.core.completion import Completion
from jurist.core.errors import ConfigError, StorageError
from jurist.core.judgment import Judgment, judgment_from_json
from jurist.core.paths import cache_dir
from jurist.core.secrets import scrub

T = TypeVar("T")
# Seconds a write may wait for another process's lock before it is an error; three runs
# sharing one store must not trip over each other's short transactions.
_LOCK_PATIENCE = 60.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS completions (
    key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    completion TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    status TEXT NOT NULL,
    config TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    run_id TEXT NOT NULL,
    item_index INTEGER NOT NULL,
    item_id TEXT NOT NULL,
    status TEXT NOT NULL,
    judgment TEXT NOT NULL,
    PRIMARY KEY (run_id, item_index)
);
CREATE TABLE IF NOT EXISTS run_locks (
    run_id TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    host TEXT NOT NULL,
    since REAL NOT NULL
);
"""


_last_dumped: tuple[Judgment, str] | None = None


def judgment_json(judgment: Judgment) -> str:
    """A judgment's JSON, made once when both the store and the results file ask for it."""
    global _last_dumped
    if _last_dumped is not None and _last_dumped[0] is judgment:
        return _last_dumped[1]
    text = judgment.model_dump_json()
    _last_dumped = (judgment, text)
    return text


# Stores holding a loop turn's transaction. A second store on the same file in the same
# loop would wait for that lock while the loop cannot turn to release it, so it commits
# the others' writes first.
_HOLDING: weakref.WeakSet[Store] = weakref.WeakSet()


def _flush_others(store: Store) -> None:
    for other in list(_HOLDING):
        if other is not store and other._thread == store._thread:
            with contextlib.suppress(sqlite3.Error):
                other.flush()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def default_store_path() -> Path:
    """`JURIST_STORE`, else the user's cache folder: one cache shared by every run pays once."""
    if env := os.environ.get("JURIST_STORE"):
        return Path(env)
    return cache_dir("store.sqlite")


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


class IndexSet(AbstractSet[int]):
    """Item indices as a bitmap: a resumed million-item run holds 125 KB, not the 30 MB a
    set of Python ints takes."""

    def __init__(self, indices: Iterable[int] = ()) -> None:
        self._bits = bytearray()
        self._count = 0
        for index in indices:
            self.add(index)

    def add(self, index: int) -> None:
        byte, bit = divmod(index, 8)
        if byte >= len(self._bits):
            self._bits.extend(bytes(max(byte + 1 - len(self._bits), len(self._bits))))
        if not self._bits[byte] >> bit & 1:
            self._bits[byte] |= 1 << bit
            self._count += 1

    def __contains__(self, index: object) -> bool:
        if not isinstance(index, int) or index < 0:
            return False
        byte, bit = divmod(index, 8)
        return byte < len(self._bits) and bool(self._bits[byte] >> bit & 1)

    def __iter__(self) -> Iterator[int]:
        for byte, value in enumerate(self._bits):
            if value:
                yield from (8 * byte + bit for bit in range(8) if value >> bit & 1)

    def __len__(self) -> int:
        return self._count


class RunNotFound(KeyError):
    pass


def private_dir(path: Path) -> None:
    """Create a folder (and parents) readable by its owner only: it holds prompts and
    responses. An existing folder keeps its permissions."""
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(path, 0o700)


def private_file(path: Path) -> None:
    """Create an empty file readable by its owner only, unless it exists."""
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def process_alive(pid: int, host: str) -> bool:
    """Whether the process that took a run lock still runs; one on another machine cannot
    be checked, so it counts as alive."""
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    try:
        # A killed process its parent has not reaped yet is a zombie: dead all the same.
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


class RunBusy(ConfigError):
    """The run is held by another live process."""


def _is_lock(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


class Store:
    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        self._commit_on: asyncio.AbstractEventLoop | None = None
        self._thread = threading.get_ident()
        self._failure: StorageError | None = None
        try:
            private_dir(self.path.parent)
            private_file(self.path)
        except OSError as error:
            raise StorageError(f"{self.path}: cannot create the store: {error.strerror}") from None
        if self.path.is_dir():
            raise StorageError(f"{self.path}: is a folder, not a store file")
        try:
            self._db = sqlite3.connect(self.path, timeout=_LOCK_PATIENCE, isolation_level=None)
            self._guard(lambda: self._db.execute("PRAGMA journal_mode=WAL"))
            # NORMAL in WAL mode survives a process crash; only a power loss can drop the tail.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._guard(lambda: self._db.executescript(_SCHEMA))
            self._db.execute("SELECT COUNT(*) FROM runs").fetchone()
        except sqlite3.DatabaseError as error:
            raise StorageError(
                f"{self.path}: not a usable jurist store ({error}); "
                "move it aside or choose another with --store"
            ) from None

    def _guard(self, action: Callable[[], T]) -> T:
        """Run a statement, waiting out other processes' locks; any other database error
        becomes a StorageError naming the store (a full disk, a corrupted file)."""
        deadline = time.monotonic() + _LOCK_PATIENCE
        pause = 0.05
        while True:
            try:
                return action()
            except sqlite3.OperationalError as error:
                if _is_lock(error) and time.monotonic() < deadline:
                    time.sleep(pause)
                    pause = min(1.0, pause * 2)
                    continue
                raise StorageError(f"{self.path}: {error}") from None
            except sqlite3.DatabaseError as error:
                raise StorageError(
                    f"{self.path}: not a usable jurist store ({error}); "
                    "move it aside or choose another with --store"
                ) from None

    def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        """One write: in an event loop, part of the turn's transaction (committed when the
        loop turns); elsewhere committed at once, with whatever a loop left pending."""
        if self._failure is not None:
            raise self._failure
        loop = _running_loop()

        def write() -> None:
            if loop is not None and not self._db.in_transaction:
                _flush_others(self)
                self._db.execute("BEGIN IMMEDIATE")
                _HOLDING.add(self)
            self._db.execute(sql, params)
            if loop is None and self._db.in_transaction:
                _HOLDING.discard(self)
                self._db.commit()

        self._guard(write)
        if loop is not None and self._commit_on is not loop:
            self._commit_on = loop
            loop.call_soon(self._commit_pending)

    def _commit_pending(self) -> None:
        self._commit_on = None
        try:
            self.flush()
        except StorageError as error:
            self._failure = error  # raised by the next write, or by close()

    def flush(self) -> None:
        """Commit the writes still pending in this loop turn's transaction."""
        _HOLDING.discard(self)
        if self._db.in_transaction:
            self._guard(self._db.commit)

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._db.close()
        if self._failure is not None:
            raise self._failure

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- completion cache -------------------------------------------------------------
    def get_completion(self, key: str) -> Completion | None:
        row = self._guard(
            lambda: self._db.execute(
                "SELECT completion FROM completions WHERE key = ?", (key,)
            ).fetchone()
        )
        if row is None:
            return None
        completion = Completion.model_validate_json(row[0])
        return completion.model_copy(update={"cached": True, "attempts": 0})

    def put_completion(self, key: str, backend: str, model: str, completion: Completion) -> None:
        # Backends scrub credentials from what they return; nothing else enters a completion.
        text = completion.model_dump_json(exclude={"cached"})
        self._write(
            "INSERT OR REPLACE INTO completions VALUES (?, ?, ?, ?, ?)",
            (key, backend, model, text, time.time()),
        )

    def put_completions(self, rows: Iterable[tuple[str, str, str, Completion]]) -> None:
        """Many (key, backend, model, completion) in one transaction: a collected batch's
        answers are cached all together or not at all."""
        now = time.time()
        values = [
            (key, backend, model, completion.model_dump_json(exclude={"cached"}), now)
            for key, backend, model, completion in rows
        ]

        self.flush()

        def insert() -> None:
            with self._db:
                self._db.execute("BEGIN")
                self._db.executemany(
                    "INSERT OR REPLACE INTO completions VALUES (?, ?, ?, ?, ?)", values
                )

        self._guard(insert)

    def completion_count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM completions").fetchone()[0]

    # --- runs -------------------------------------------------------------------------
    def create_run(self, run_id: str, config: dict[str, Any]) -> None:
        now = time.time()
        text = scrub(json.dumps(config, sort_keys=True))
        self._write("INSERT INTO runs VALUES (?, ?, ?, 'running', ?)", (run_id, now, now, text))

    def update_run_config(self, run_id: str, config: dict[str, Any]) -> None:
        text = scrub(json.dumps(config, sort_keys=True))
        self._write(
            "UPDATE runs SET config = ?, updated = ? WHERE run_id = ?", (text, time.time(), run_id)
        )

    def has_run(self, run_id: str) -> bool:
        query = "SELECT 1 FROM runs WHERE run_id = ?"
        return self._db.execute(query, (run_id,)).fetchone() is not None

    def run_config(self, run_id: str) -> dict[str, Any]:
        row = self._db.execute("SELECT config FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFound(f"no run {run_id!r} in {self.path}")
        return json.loads(row[0])

    def run_status(self, run_id: str) -> str:
        row = self._db.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFound(f"no run {run_id!r} in {self.path}")
        return row[0]

    def set_run_status(self, run_id: str, status: str) -> None:
        self._write(
            "UPDATE runs SET status = ?, updated = ? WHERE run_id = ?",
            (status, time.time(), run_id),
        )

    @contextlib.contextmanager
    def run_lock(self, run_id: str) -> Iterator[None]:
        """Hold `run_id` for this process while the block runs, or raise RunBusy naming the
        live process that holds it; a lock left by a process that died is taken over."""
        holder = self._guard(lambda: self._take_lock(run_id))
        if holder is not None:
            pid, host = holder
            where = "" if host == socket.gethostname() else f" on {host}"
            raise RunBusy(
                f"run {run_id} is being run by process {pid}{where}; wait for it to end "
                "(or stop it) before resuming it"
            )
        try:
            yield
        finally:
            with contextlib.suppress(StorageError):
                self._write(
                    "DELETE FROM run_locks WHERE run_id = ? AND pid = ? AND host = ?",
                    (run_id, os.getpid(), socket.gethostname()),
                )

    def _take_lock(self, run_id: str) -> tuple[int, str] | None:
        """Take the lock in one transaction; returns the live holder when it is not ours."""
        me = (os.getpid(), socket.gethostname())
        self.flush()
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            row = self._db.execute(
                "SELECT pid, host FROM run_locks WHERE run_id = ?", (run_id,)
            ).fetchone()
            if row is not None and tuple(row) != me and process_alive(*row):
                return int(row[0]), str(row[1])
            self._db.execute(
                "INSERT OR REPLACE INTO run_locks VALUES (?, ?, ?, ?)", (run_id, *me, time.time())
            )
        return None

    def runs(self) -> list[tuple[str, str, float]]:
        return self._db.execute(
            "SELECT run_id, status, created FROM runs ORDER BY created DESC"
        ).fetchall()

    # --- results ----------------------------------------------------------------------
    def save_result(self, run_id: str, judgment: Judgment) -> None:
        self._write(
            "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?)",
            (run_id, judgment.index, judgment.item_id, judgment.status, judgment_json(judgment)),
        )

    def done_indices(self, run_id: str) -> IndexSet:
        rows = self._db.execute("SELECT item_index FROM results WHERE run_id = ?", (run_id,))
        return IndexSet(row[0] for row in rows)

    def iter_results(self, run_id: str) -> Iterator[Judgment]:
        cursor = self._db.execute(
            "SELECT judgment FROM results WHERE run_id = ? ORDER BY item_index", (run_id,)
        )
        for (text,) in cursor:
            yield judgment_from_json(text)

    def result_count(self, run_id: str) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM results WHERE run_id = ?", (run_id,))
        return row.fetchone()[0]
