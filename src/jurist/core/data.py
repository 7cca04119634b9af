"""Items to judge and the readers that turn JSONL / CSV / Parquet rows into them.

Readers stream: they yield one item at a time so memory stays flat for any input size,
and every bad row is reported with its file, row number and field. Text files are decoded
by their byte order mark (UTF-8, UTF-16, UTF-32), so files saved by spreadsheet programs
and Windows editors read as they are; bytes that cannot be decoded are a bad row, not a crash.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import BaseModel, ConfigDict, Field, field_validator

from jurist.core.errors import InputError

# --- decoding text files ------------------------------------------------------------------

# UTF-32 LE's mark starts with UTF-16 LE's, so it is tried first.
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE",
    "utf-32-le": "UTF-32 LE",
    "utf-32-be": "UTF-32 BE",
}

# Undecodable bytes become lone low surrogates U+DC00 + byte: strict UTF-8/16/32 decoding never
# yields one, so a row can be checked for them after decoding and reported with its number.
_UNDECODABLE_HANDLER = "jurist.mark_undecodable"
_UNDECODABLE = re.compile("[\udc00-\udcff]+")


def _mark_undecodable(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    bad = error.object[error.start : error.end]
    return "".join(chr(0xDC00 + byte) for byte in bad), error.end


codecs.register_error(_UNDECODABLE_HANDLER, _mark_undecodable)


def sniff_encoding(head: bytes) -> tuple[str, int]:
    """(codec, length of the byte order mark) from a file's first four bytes.

    Without a mark, the zero bytes an ASCII first character leaves in UTF-16/32 tell the
    encoding (the rule of RFC 4627); anything else is read as UTF-8.
    """
    for mark, codec in _BYTE_ORDER_MARKS:
        if head.startswith(mark):
            return codec, len(mark)
    if len(head) >= 4 and head[:3] == b"\0\0\0":
        return "utf-32-be", 0
    if len(head) >= 4 and head[1:4] == b"\0\0\0":
        return "utf-32-le", 0
    if len(head) >= 2 and head[0] == 0 and head[1] != 0:
        return "utf-16-be", 0
    if len(head) >= 2 and head[0] != 0 and head[1] == 0:
        return "utf-16-le", 0
    return "utf-8", 0


def encoding_name(codec: str) -> str:
    return _ENCODING_NAMES.get(codec, codec)


def open_text(path: Path, *, newline: str | None = None) -> TextIO:
    """Open a text file for streaming in the encoding it announces, byte order mark removed.

    Undecodable bytes do not raise here; `undecodable` finds them in each line or row read.
    """
    handle = path.open("rb")
    try:
        codec, mark_length = sniff_encoding(handle.read(4))
        handle.seek(mark_length)
    except BaseException:
        handle.close()
        raise
    return io.TextIOWrapper(handle, encoding=codec, errors=_UNDECODABLE_HANDLER, newline=newline)


def undecodable(text: str, codec: str) -> tuple[int, str] | None:
    """(1-based line within `text`, problem) for the first undecodable byte in text read
    with `open_text`, or None when it decoded cleanly."""
    found = _UNDECODABLE.search(text)
    if found is None:
        return None
    line = text.count("\n", 0, found.start()) + 1
    column = found.start() - (text.rfind("\n", 0, found.start()) + 1) + 1
    run = [f"0x{ord(mark) - 0xDC00:02x}" for mark in found.group()[:4]]
    problem = (
        f"{'byte' if len(run) == 1 else 'bytes'} {' '.join(run)} at character {column} "
        f"cannot be decoded as {encoding_name(codec)} (save the file as UTF-8)"
    )
    return line, problem


def _field_matching(value: Any, pattern: re.Pattern[str], path: str = "") -> tuple[str, str] | None:
    """(key path such as `input[1].content`, its text) of the first string in a parsed row,
    key or value, that `pattern` finds something in, or None."""
    if isinstance(value, str):
        return (path, value) if pattern.search(value) else None
    if isinstance(value, dict):
        for key, inner in value.items():
            name = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and pattern.search(key):
                return name, key
            found = _field_matching(inner, pattern, name)
            if found is not None:
                return found
    if isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            found = _field_matching(inner, pattern, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def undecodable_field(value: Any, path: str = "") -> tuple[str, str] | None:
    """(key path such as `input[1].content`, its text) of the first string in a parsed row
    that holds undecodable bytes, or None."""
    return _field_matching(value, _UNDECODABLE, path)


# A JSON escape such as "\ud83d" without its other half decodes to a lone surrogate: not a
# character, so no UTF-8 writer (store, request, results) can encode it. Rows whose bytes
# were undecodable are reported before this check, so their markers never reach it.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def lone_surrogate_field(value: Any, path: str = "") -> tuple[str, str] | None:
    """(key path, its text) of the first string holding a lone surrogate, or None."""
    return _field_matching(value, _LONE_SURROGATE, path)


def lone_surrogate_problem(text: str) -> str:
    """What is wrong with `text`, for an error line: which escape, at which character."""
    found = _LONE_SURROGATE.search(text)
    if found is None:
        return "holds a lone surrogate"
    return (
        f"holds a lone surrogate \\u{ord(found.group()):04x} at character {found.start() + 1} "
        "(half of a UTF-16 pair, not a character: fix the text or its JSON escape)"
    )


# --- items ---------------------------------------------------------------------------------

_TEXT_PART_TYPES = frozenset({"text", "input_text", "output_text"})


def chat_content_text(content: Any) -> str:
    """A chat turn's text; OpenAI's list of content parts becomes its text parts joined by
    newlines. Raises ValueError (worded to follow "message N") for anything else."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise ValueError(f"has content of type {type(content).__name__}; expected text or parts")
    texts = []
    for part in content:
        if not isinstance(part, dict) or "type" not in part:
            raise ValueError("has a content part that is not an object with a 'type'")
        kind = part["type"]
        if kind not in _TEXT_PART_TYPES:
            raise ValueError(f"has a non-text part {kind!r}")
        if not isinstance(part.get("text"), str):
            raise ValueError(f"has a {kind!r} part without a 'text' string")
        texts.append(part["text"])
    return "\n".join(texts)


def _chat_json(value: str) -> list[Any] | None:
    """A chat transcript held as JSON text in a CSV or Parquet cell, or None."""
    if not value.lstrip().startswith("[{"):
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        return None
    if isinstance(parsed, list) and all(
        isinstance(turn, dict) and "role" in turn for turn in parsed
    ):
        return parsed
    return None


class Message(BaseModel):
    """One chat turn; a multi-turn input is a list of these."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    role: str
    content: str

    @field_validator("content", mode="before")
    @classmethod
    def _join_text_parts(cls, value: Any) -> Any:
        return chat_content_text(value) if isinstance(value, list) else value


class Item(BaseModel):
    """One thing to judge: an input, one or two responses (or a list of them to rank), an
    optional reference and labels."""

    model_config = ConfigDict(frozen=True)

    id: str
    input: str | list[Message]
    response: str | None = None
    response_b: str | None = None
    responses: tuple[str, ...] = ()  # the candidates of a listwise ranking, in data order
    reference: str | None = None
    labels: dict[str, Any] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @field_validator("input", mode="before")
    @classmethod
    def _accept_chat_json(cls, value: Any) -> Any:
        if isinstance(value, str):
            chat = _chat_json(value)
            return value if chat is None else chat
        return value

    @property
    def is_multi_turn(self) -> bool:
        return isinstance(self.input, list)

    @property
    def candidates(self) -> tuple[str, ...]:
        """The responses to rank: the list, or else the two pairwise responses."""
        if self.responses:
            return self.responses
        if self.response is not None and self.response_b is not None:
            return (self.response, self.response_b)
        return ()


class DataError(InputError):
    """A row that cannot become an item; the message names the file, row and field
    (no row: the file as a whole)."""

    def __init__(self, path: str, row: int | None, field: str | None, problem: str) -> None:
        super().__init__(path, row, field, problem)


@dataclass(frozen=True)
class FieldMap:
    """Which column plays which role; `labels` and `keep` columns are carried into results."""

    input: str = field(
        default="input", metadata={"help": "Column with the input (text or chat messages)."}
    )
    response: str | None = field(
        default="response", metadata={"help": "Column with the (first) response."}
    )
    response_b: str | None = field(
        default=None, metadata={"help": "Column with the second response of a pair."}
    )
    reference: str | None = field(
        default=None, metadata={"help": "Column with a reference answer."}
    )
    id: str | None = field(
        default=None, metadata={"help": "Column with a unique item id (default: row number)."}
    )
    labels: tuple[str, ...] = field(
        default=(), metadata={"help": "Column(s) with human labels to carry into results."}
    )
    keep: tuple[str, ...] = field(
        default=(), metadata={"help": "Column(s) to carry into results as metadata."}
    )
    # Listwise candidates: one column holding a list of texts, or several text columns.
    responses: tuple[str, ...] = field(
        default=(),
        metadata={
            "help": "Listwise: one column holding a list of responses, or one column per "
            "response (repeat the option); default: responses."
        },
    )


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


RawRow = tuple[int, dict[str, Any] | DataError]


def undecodable_row_error(path: Path, number: int, row: Any, codec: str) -> DataError | None:
    """The error for a parsed row holding undecodable bytes, naming the field that holds them."""
    found = undecodable_field(row)
    if found is None:
        return None
    name, text = found
    located = undecodable(text, codec)
    problem = located[1] if located else f"cannot be decoded as {encoding_name(codec)}"
    return DataError(str(path), number, name or None, problem)


def iter_jsonl(path: Path) -> Iterator[tuple[int, Any | DataError]]:
    """(1-based line number, parsed value or the error that line raised) for each non-blank
    line, streamed; a line holding undecodable bytes is an error naming its field."""
    with open_text(path) as handle:
        for number, raw_line in enumerate(handle, start=1):
            # Files joined with `cat` carry a byte order mark at each former start.
            line = raw_line.lstrip("\ufeff")
            if not line.strip():
                continue
            bad = undecodable(line, handle.encoding)
            try:
                value = json.loads(line)
            except json.JSONDecodeError as error:
                problem = bad[1] if bad else f"invalid JSON ({error.msg})"
                yield number, DataError(str(path), number, None, problem)
                continue
            if bad:
                located = undecodable_row_error(path, number, value, handle.encoding)
                yield number, located or DataError(str(path), number, None, bad[1])
                continue
            yield number, value


def read_json_document(path: Path, *, skippable: bool = False) -> tuple[Any, str | None]:
    """Parse a whole JSON document (it cannot be streamed).

    Undecodable bytes raise DataError at their line, unless `skippable`: then the codec
    comes back (None when the text decoded cleanly) so that each record can be checked
    with `undecodable_row_error` and only the records holding them skipped.
    """
    with open_text(path) as handle:
        codec = handle.encoding
        text = handle.read()
    bad = undecodable(text, codec)
    if bad and not skippable:
        raise DataError(str(path), bad[0], None, bad[1])
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        line, problem = bad or (
            error.lineno,
            f"invalid JSON at line {error.lineno}, column {error.colno} ({error.msg})",
        )
        raise DataError(str(path), line, None, problem) from None
    return document, (codec if bad else None)


def _iter_jsonl(path: Path) -> Iterator[RawRow]:
    for number, row in iter_jsonl(path):
        if not isinstance(row, dict | DataError):
            row = DataError(str(path), number, None, "a row must be a JSON object")
        yield number, row


def _iter_json(path: Path) -> Iterator[RawRow]:
    rows, undecodable_codec = read_json_document(path, skippable=True)
    if not isinstance(rows, list):
        raise DataError(str(path), 0, None, "a .json data file must hold a list of objects")
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict):
            yield number, DataError(str(path), number, None, "a row must be a JSON object")
            continue
        located = (
            undecodable_row_error(path, number, row, undecodable_codec)
            if undecodable_codec
            else None
        )
        yield number, located or row


def _iter_csv(path: Path) -> Iterator[RawRow]:
    with open_text(path, newline="") as handle:
        reader = csv.DictReader(handle)
        for name in reader.fieldnames or []:
            located = undecodable(name, handle.encoding)
            if located is not None:
                # Without the header no row can be read, so this is not a row to skip.
                raise DataError(str(path), 1, None, f"header: {located[1]}")
        # Row 1 is the header, so data rows are numbered as a spreadsheet shows them.
        for number, row in enumerate(reader, start=2):
            if None in row:
                yield number, DataError(str(path), number, None, "more cells than header columns")
                continue
            located = undecodable_row_error(path, number, row, handle.encoding)
            if located is not None:
                yield number, located
                continue
            yield number, {key: (None if value == "" else value) for key, value in row.items()}


def _iter_parquet(path: Path) -> Iterator[RawRow]:
    """Rows of a Parquet file, streamed by batch; a file that is not Parquet, or whose
    pages are damaged, is one DataError naming it (and the first row it could not read)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    number = 0
    try:
        parquet = pq.ParquetFile(path)
        for batch in parquet.iter_batches(batch_size=1024):
            for row in batch.to_pylist():
                number += 1
                yield number, row
    except (pa.ArrowException, OSError) as error:
        problem = f"not a readable Parquet file ({error})"
        raise DataError(str(path), number + 1 if number else None, None, problem) from None


_READERS: dict[Format, Callable[[Path], Iterator[RawRow]]] = {
    "jsonl": _iter_jsonl,
    "json": _iter_json,
    "csv": _iter_csv,
    "parquet": _iter_parquet,
}


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


def _chat(path: str, number: int, name: str, turns: list[Any]) -> list[Message]:
    if not turns:
        raise DataError(path, number, name, "a chat needs at least one message")
    messages = []
    for index, turn in enumerate(turns):
        if not isinstance(turn, dict) or "role" not in turn or "content" not in turn:
            raise DataError(path, number, f"{name}[{index}]", "a chat turn needs role and content")
        if not isinstance(turn["role"], str):
            problem = f"message {index + 1} has a role of type {type(turn['role']).__name__}"
            raise DataError(path, number, name, problem)
        try:
            content = chat_content_text(turn["content"])
        except ValueError as error:
            raise DataError(path, number, name, f"message {index + 1} {error}") from None
        messages.append(Message(role=turn["role"], content=content))
    return messages


def _responses(
    path: str, number: int, row: dict[str, Any], columns: tuple[str, ...]
) -> tuple[str, ...]:
    """Candidates to rank: a single column's list (or JSON list text, as CSV cells hold
    it), or one text per column; at least two."""
    if len(columns) == 1:
        name = columns[0]
        value = row.get(name)
        if isinstance(value, str) and value.lstrip().startswith("["):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as error:
                raise DataError(path, number, name, f"invalid JSON list ({error.msg})") from None
        if _is_missing(value):
            raise DataError(path, number, name, "missing")
        if hasattr(value, "tolist"):
            value = value.tolist()
        if not isinstance(value, list):
            raise DataError(
                path, number, name, f"expected a list of texts, got {type(value).__name__}"
            )
        texts = [
            _text(path, number, f"{name}[{i}]", v, required=True) or "" for i, v in enumerate(value)
        ]
    else:
        texts = [_text(path, number, c, row.get(c), required=True) or "" for c in columns]
    if len(texts) < 2:
        raise DataError(
            path, number, columns[0], f"needs at least 2 responses to rank, got {len(texts)}"
        )
    return tuple(texts)


def _to_item(path: str, number: int, row: dict[str, Any], fields: FieldMap) -> Item:
    if fields.input not in row or _is_missing(row[fields.input]):
        raise DataError(path, number, fields.input, "missing")
    raw_input = row[fields.input]
    if isinstance(raw_input, str):
        raw_input = _chat_json(raw_input) or raw_input
    if isinstance(raw_input, list):
        chat_input: str | list[Message] = _chat(path, number, fields.input, raw_input)
    else:
        chat_input = _text(path, number, fields.input, raw_input, required=True) or ""
    values: dict[str, Any] = {"input": chat_input}
    for role in ("response", "response_b", "reference"):
        column = getattr(fields, role)
        if column is None:
            continue
        values[role] = _text(path, number, column, row.get(column), required=role != "reference")
    if fields.responses:
        values["responses"] = _responses(path, number, row, fields.responses)
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


def _parsed_texts(item: Item, fields: FieldMap) -> dict[str, Any]:
    """The texts an item got by parsing JSON held in a cell (a chat, a list of responses),
    keyed by their column, for checks the raw row could not make."""
    texts: dict[str, Any] = {}
    if isinstance(item.input, list):
        texts[fields.input] = [message.model_dump() for message in item.input]
    if item.responses:
        texts[fields.responses[0] if len(fields.responses) == 1 else "responses"] = item.responses
    return texts


def _refuse_lone_surrogates(path: str, number: int, row: dict[str, Any]) -> None:
    found = lone_surrogate_field(row)
    if found is not None:
        name, text = found
        raise DataError(path, number, name or None, lone_surrogate_problem(text))


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
    for number, row in _READERS[fmt](path):
        report.rows_read += 1
        try:
            if isinstance(row, DataError):
                raise row
            _refuse_lone_surrogates(str(path), number, row)
            item = _to_item(str(path), number, row, fields)
            _refuse_lone_surrogates(str(path), number, _parsed_texts(item, fields))
            if item.id in seen_ids:
                raise DataError(str(path), number, fields.id or "id", f"duplicate id {item.id!r}")
            seen_ids.add(item.id)
        except DataError as error:
            if not skip_bad_rows:
                raise
            report.skipped.append(error)
            continue
        yield item
