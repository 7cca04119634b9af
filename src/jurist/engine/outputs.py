"""The output folder of a grading run: never destroys an input or another run's results.

A run owns its folder through `run.json` (its id). Another run's results are replaced only
with `overwrite`; an output path (or the temporary file written beside it) that is also an
input (data, rubric, jury file) is refused before anything is opened for writing; every
file is created readable by its owner only (results hold prompts and responses). Write
failures (a full disk, a folder that vanished) become one `StorageError` naming the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

from jurist.core.data import Item
from jurist.core.errors import ConfigError, StorageError
from jurist.core.judgment import Judgment
from jurist.core.secrets import scrub
from jurist.engine.viewindex import INDEX, IndexWriter
from jurist.store import judgment_json, private_dir

RESULTS = "results.jsonl"
SUMMARY = "summary.json"
SKIPPED = "skipped_rows.txt"
OWNER = "run.json"
OUTPUT_FILES = (RESULTS, SUMMARY, SKIPPED, OWNER, INDEX)
TEMPORARY = ".tmp"  # beside each output while it is written, renamed over it when whole


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)
    except OSError:
        return False


def storage_error(path: Path, error: OSError) -> StorageError:
    reason = "disk full" if error.errno == errno.ENOSPC else (error.strerror or str(error))
    return StorageError(f"{path}: {reason}")


def claim_output_dir(
    folder: Path,
    run_id: str,
    inputs: Iterable[Path],
    *,
    resume: bool,
    overwrite: bool,
    same_job: Callable[[str], bool] = lambda owner: False,
) -> None:
    """Make `folder` this run's, or refuse with the reason; nothing is truncated here.

    A folder held by a run of the very same job (same rubric, data, judge and settings) is
    taken over: its results are reproduced from the cache, so nothing is lost."""
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{folder}: the output path is a file; -o needs a folder")
    for name in (*OUTPUT_FILES, *(name + TEMPORARY for name in OUTPUT_FILES)):
        for source in inputs:
            if _same_file(folder / name, source):
                raise ConfigError(
                    f"{source}: this input is also an output ({folder / name}); "
                    "choose another output folder"
                )
    owner = current_owner(folder)
    results_exist = (folder / RESULTS).exists() and (folder / RESULTS).stat().st_size > 0
    taken_over = owner is not None and owner != run_id and same_job(owner)
    if owner != run_id and (owner is not None or results_exist) and not (overwrite or taken_over):
        held = f"run {owner}" if owner else "an earlier run"
        raise ConfigError(
            f"{folder}: holds the results of {held}; choose another folder with -o, "
            "or pass --overwrite to replace them"
        )
    try:
        private_dir(folder)
    except OSError as error:
        raise storage_error(folder, error) from None
    _write_private(folder / OWNER, json.dumps({"run_id": run_id}) + "\n")
    try:
        if not resume and owner != run_id:
            # The folder now belongs to this run: stale figures of the old one must go.
            for name in (SUMMARY, SKIPPED):
                with contextlib.suppress(FileNotFoundError):
                    (folder / name).unlink()
    except OSError as error:
        raise storage_error(folder, error) from None


def current_owner(folder: Path) -> str | None:
    try:
        return str(json.loads((folder / OWNER).read_text(encoding="utf-8"))["run_id"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _private_temporary(path: Path) -> tuple[TextIO, Path]:
    """A temporary file beside `path`, owner-readable only, to be renamed over it."""
    temporary = path.with_name(path.name + TEMPORARY)
    descriptor = os.open(temporary, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    return os.fdopen(descriptor, "w", encoding="utf-8"), temporary


def _write_private(path: Path, text: str) -> None:
    """Write a whole file atomically (temporary file + rename), owner-readable only."""
    try:
        handle, temporary = _private_temporary(path)
        with handle:
            handle.write(text)
        os.replace(temporary, path)
    except OSError as error:
        raise storage_error(path, error) from None


def write_json(path: Path, data: dict[str, Any]) -> None:
    _write_private(path, scrub(json.dumps(data, indent=2, allow_nan=False)) + "\n")


def write_lines(path: Path, lines: list[str]) -> None:
    _write_private(path, "".join(line + "\n" for line in lines))


class ResultsFile:
    """results.jsonl, appended as each item finishes and flushed once per event-loop turn
    (at once outside a loop).

    It is rebuilt from the store into a temporary file and renamed into place, so a line cut
    off by a kill never survives and the old file stays whole until the new one is ready.
    """

    index: IndexWriter | None = None

    def __init__(self, path: Path, existing: Iterable[Judgment] = ()) -> None:
        self.path = path
        self._flush_on: asyncio.AbstractEventLoop | None = None
        self._failure: StorageError | None = None
        try:
            self._handle, temporary = _private_temporary(path)
            for judgment in existing:
                self._append(judgment)
            self._handle.flush()
            os.replace(temporary, path)
        except OSError as error:
            raise storage_error(path, error) from None

    def _append(self, judgment: Judgment) -> None:
        text = judgment_json(judgment)
        self._handle.write(text + "\n")
        if self.index is not None:
            self.index.add(judgment, text)

    def write(self, judgment: Judgment) -> None:
        if self._failure is not None:
            raise self._failure
        try:
            self._append(judgment)
        except OSError as error:
            self._failure = storage_error(self.path, error)
            raise self._failure from None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._flush()
            return
        if self._flush_on is not loop:
            self._flush_on = loop
            loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_on = None
        try:
            self._handle.flush()
        except OSError as error:
            self._failure = storage_error(self.path, error)
        except ValueError:
            pass  # closed already: close() flushed it

    def texts(self, items: Iterable[Item]) -> Iterable[Item]:
        """The items passed on unchanged; their texts are kept in the viewer's index."""
        return items if self.index is None else self.index.texts(items)

    def close(self) -> None:
        """Close the file (and stamp the index with it); a write that failed on the way
        is raised here, and the index of a file cut short is dropped."""
        if self._handle.closed:
            return
        self._flush()
        with contextlib.suppress(OSError):
            self._handle.close()
        if self.index is not None:
            if self._failure is None:
                self.index.close(self.path)
            else:
                self.index.discard()
        if self._failure is not None:
            raise self._failure


class IndexedResultsFile(ResultsFile):
    """results.jsonl with the viewer's index written beside it, row for row (what
    `jurist grade` writes: `jurist view` then opens a big run at once)."""

    def __init__(self, path: Path, existing: Iterable[Judgment] = ()) -> None:
        self.index = IndexWriter(path.with_name(INDEX))
        super().__init__(path, existing)
