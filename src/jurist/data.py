"""Items to judge and the readers that turn JSONL / CSV / Parquet rows into them.

Readers stream: they yield one item at a time so memory stays flat for any input size,
and every bad row is reported with its file, row number and field.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Message(BaseModel):
    """One chat turn; a multi-turn input is a list of these."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    role: str
    content: str


class Item(BaseModel):
    """One thing to judge: an input, one or two responses, an optional reference and labels."""

    model_config = ConfigDict(frozen=True)

    id: str
    input: str | list[Message]
    response: str | None = None
    response_b: str | None = None
    reference: str | None = None
    labels: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("input", mode="before")
    @classmethod
    def _accept_chat_json(cls, value: Any) -> Any:
        # CSV and Parquet cells hold chat transcripts as JSON text.
        if isinstance(value, str) and value.lstrip().startswith("[{"):
            try:
                parsed = json.loads(value)
            except json.JSONDecodeError:
                return value
            if isinstance(parsed, list) and all(
                isinstance(turn, dict) and "role" in turn for turn in parsed
            ):
                return parsed
        return value

    @property
    def is_multi_turn(self) -> bool:
        return isinstance(self.input, list)


class DataError(ValueError):
    """A row that cannot become an item; the message names the file, row and field."""

    def __init__(self, path: str, row: int, field: str | None, problem: str) -> None:
        self.path = path
        self.row = row
        self.field = field
        self.problem = problem
        where = f"{path}: row {row}" + (f", field {field!r}" if field else "")
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class FieldMap:
    """Which column plays which role; `labels` and `keep` columns are carried into results."""

    input: str = "input"
    response: str | None = "response"
    response_b: str | None = None
    reference: str | None = None
    id: str | None = None
    labels: tuple[str, ...] = ()
    keep: tuple[str, ...] = ()


@dataclass
class ReadReport:
    """What a reader skipped, for the run summary; filled while reading."""

    rows_read: int = 0
    skipped: list[DataError] = field(default_factory=list)


Format = Literal["jsonl", "csv", "parquet", "json"]


def detect_format(path: Path) -> Format:
    suffixes = "".join(path.suffixes).lower()
    if suffixes.endswith((".jsonl", ".ndjson")):
        return "jsonl"
    if suffixes.endswith(".csv"):
        return "csv"
    if suffixes.endswith((".parquet", ".pq")):
        return "parquet"
    if suffixes.endswith(".json"):
        return "json"
    raise DataError(str(path), 0, None, "unknown file type; use .jsonl, .csv, .parquet or .json")


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _iter_raw_rows(path: Path, fmt: Format) -> Iterator[tuple[int, dict[str, Any] | DataError]]:
    """Yield (1-based row number, row or the error that row raised)."""
    if fmt == "jsonl":
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    yield number, DataError(str(path), number, None, f"invalid JSON ({error.msg})")
                    continue
                if not isinstance(row, dict):
                    yield number, DataError(str(path), number, None, "a row must be a JSON object")
                    continue
                yield number, row
    elif fmt == "json":
        with path.open(encoding="utf-8") as handle:
            try:
                rows = json.load(handle)
            except json.JSONDecodeError as error:
                raise DataError(
                    str(path), error.lineno, None, f"invalid JSON ({error.msg})"
                ) from None
        if not isinstance(rows, list):
            raise DataError(str(path), 0, None, "a .json data file must hold a list of objects")
        for number, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                yield number, DataError(str(path), number, None, "a row must be a JSON object")
            else:
                yield number, row
    elif fmt == "csv":
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            # Row 1 is the header, so data rows are numbered as a spreadsheet shows them.
            for number, row in enumerate(reader, start=2):
                if None in row:
                    yield (
                        number,
                        DataError(str(path), number, None, "more cells than header columns"),
                    )
                    continue
                yield number, {key: (None if value == "" else value) for key, value in row.items()}
    else:
        import pyarrow.parquet as pq

        parquet = pq.ParquetFile(path)
        number = 0
        for batch in parquet.iter_batches(batch_size=1024):
            for row in batch.to_pylist():
                number += 1
                yield number, row


def _text(path: str, number: int, name: str, value: Any, *, required: bool) -> str | None:
    if _is_missing(value):
        if required:
            raise DataError(path, number, name, "missing")
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | bool):
        return str(value)
    raise DataError(path, number, name, f"expected text, got {type(value).__name__}")


def _to_item(path: str, number: int, row: dict[str, Any], fields: FieldMap) -> Item:
    if fields.input not in row or _is_missing(row[fields.input]):
        raise DataError(path, number, fields.input, "missing")
    raw_input = row[fields.input]
    if isinstance(raw_input, list):
        for turn_number, turn in enumerate(raw_input):
            if not isinstance(turn, dict) or "role" not in turn or "content" not in turn:
                raise DataError(
                    path,
                    number,
                    f"{fields.input}[{turn_number}]",
                    "a chat turn needs role and content",
                )
        chat_input: str | list[Message] = [Message(**turn) for turn in raw_input]
    else:
        chat_input = _text(path, number, fields.input, raw_input, required=True) or ""
    values: dict[str, Any] = {"input": chat_input}
    for role in ("response", "response_b", "reference"):
        column = getattr(fields, role)
        if column is None:
            continue
        values[role] = _text(path, number, column, row.get(column), required=role != "reference")
    if fields.id is not None:
        values["id"] = _text(path, number, fields.id, row.get(fields.id), required=True)
    else:
        values["id"] = str(number)
    labels = {}
    for column in fields.labels:
        if column not in row:
            raise DataError(path, number, column, "label field missing")
        labels[column] = None if _is_missing(row[column]) else row[column]
    values["labels"] = labels
    values["metadata"] = {column: row.get(column) for column in fields.keep}
    return Item(**values)


def read_items(
    path: str | Path,
    fields: FieldMap | None = None,
    *,
    skip_bad_rows: bool = False,
    report: ReadReport | None = None,
) -> Iterator[Item]:
    """Stream items from a data file.

    A bad row raises DataError, unless `skip_bad_rows`, in which case it is recorded in
    `report.skipped` (pass a ReadReport to see them) and reading goes on.
    """
    path = Path(path)
    fields = fields or FieldMap()
    report = report if report is not None else ReadReport()
    if not path.exists():
        raise DataError(str(path), 0, None, "file not found")
    fmt = detect_format(path)
    seen_ids: set[str] = set()
    for number, row in _iter_raw_rows(path, fmt):
        report.rows_read += 1
        try:
            if isinstance(row, DataError):
                raise row
            item = _to_item(str(path), number, row, fields)
            if item.id in seen_ids:
                raise DataError(str(path), number, fields.id or "id", f"duplicate id {item.id!r}")
            seen_ids.add(item.id)
        except DataError as error:
            if not skip_bad_rows:
                raise
            report.skipped.append(error)
            continue
        yield item
