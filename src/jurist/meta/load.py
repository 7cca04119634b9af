"""Reading judgments and human labels: from a results.jsonl, the folder `jurist grade -o`
wrote, or a run id in the SQLite store; labels from JSONL, JSON, CSV or TSV.

Every problem is a MetaInputError naming the file, line and field.
"""

from __future__ import annotations

import csv
import json
import math
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from jurist.core.data import open_text, undecodable, undecodable_row_error
from jurist.core.errors import StorageError
from jurist.core.judgment import JUDGMENT_TYPES, Judgment, judgment_from_dict
from jurist.engine.outputs import RESULTS
from jurist.meta.errors import MetaInputError

_MODES = {t.model_fields["mode"].default for t in JUDGMENT_TYPES}


@dataclass(frozen=True)
class LoadedResults:
    """Judgments in file order with the line each came from (None when read from the store)
    and a name for the source that error messages and reports use."""

    source: str
    judgments: list[Judgment]
    lines: list[int | None]


# ---------------------------------------------------------------- reading results


def _validation_problem(error: ValidationError) -> tuple[str | None, str]:
    first = error.errors()[0]
    loc = [str(part) for part in first["loc"]]
    if loc and loc[0] in _MODES:  # the union's tag is not a field the user wrote
        loc = loc[1:]
    if first["type"] in ("union_tag_not_found", "union_tag_invalid"):
        found = "missing" if first["type"] == "union_tag_not_found" else "unknown mode"
        return "mode", f"{found} (expected one of {', '.join(sorted(_MODES))})"
    return ".".join(loc) or None, first["msg"]


def _decoded(path: Path, number: int, record: Any, codec: str) -> Any:
    """`record` when its text decoded cleanly; else the error naming the field holding
    the bytes that did not (a results or labels file saved in another encoding)."""
    bad = undecodable_row_error(path, number, record, codec)
    if bad is not None:
        raise MetaInputError(path, number, bad.field, bad.problem)
    return record


def _json_line(path: Path, number: int, line: str, codec: str) -> Any:
    """One JSON line, parsed; bad JSON or undecodable bytes name the line (and field)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        bad = undecodable(line, codec)
        problem = bad[1] if bad else f"not valid JSON ({error.msg} at column {error.colno})"
        raise MetaInputError(path, number, None, problem) from None
    return _decoded(path, number, record, codec)


def read_results(path: str | Path) -> list[tuple[int, Judgment]]:
    """(line number, Judgment) for every non-blank line of a results.jsonl, read in the
    encoding its byte order mark announces (UTF-8 without one)."""
    path = Path(path)
    if not path.is_file():
        raise MetaInputError(path, None, None, "file not found")
    out: list[tuple[int, Judgment]] = []
    seen: dict[str, int] = {}
    with open_text(path) as handle:
        for number, raw_line in enumerate(handle, start=1):
            line = raw_line.lstrip("\ufeff")
            if not line.strip():
                continue
            record = _json_line(path, number, line, handle.encoding)
            if not isinstance(record, dict):
                problem = f"expected a JSON object, got {type(record).__name__}"
                raise MetaInputError(path, number, None, problem)
            try:
                judgment = judgment_from_dict(record)
            except ValidationError as error:
                name, problem = _validation_problem(error)
                raise MetaInputError(path, number, name, problem) from None
            if judgment.item_id in seen:
                first_line = seen[judgment.item_id]
                problem = f"duplicate item_id {judgment.item_id!r} (first on line {first_line})"
                raise MetaInputError(path, number, "item_id", problem)
            seen[judgment.item_id] = number
            out.append((number, judgment))
    if not out:
        raise MetaInputError(path, None, None, "no judgments in the file")
    return out


def _file_rows(path: Path, source: str | None = None) -> LoadedResults:
    rows = read_results(path)
    return LoadedResults(source or str(path), [j for _, j in rows], [n for n, _ in rows])


def _from_store(run_id: str, store_path: Path) -> LoadedResults | None:
    """The run's results.jsonl when its folder still has one, else its stored judgments;
    None when the store does not know the run."""
    from jurist.store import Store

    try:
        with Store(store_path) as store:
            if not store.has_run(run_id):
                return None
            folder = store.run_config(run_id).get("output_dir")
            if folder and (Path(folder) / RESULTS).is_file():
                return _file_rows(Path(folder) / RESULTS)
            judgments = list(store.iter_results(run_id))
    except sqlite3.DatabaseError as error:
        raise StorageError(f"{store_path}: cannot read the store ({error})") from None
    source = f"run {run_id} in {store_path}"
    if not judgments:
        raise MetaInputError(source, None, None, "the run has no judgments yet")
    return LoadedResults(source, judgments, [None] * len(judgments))


def load_results(source: str | Path, store: str | Path | None = None) -> LoadedResults:
    """Judgments from a results file, an output folder holding results.jsonl, or a run id.

    A run id is looked up in `store` (default: the user's store) only when no file or
    folder of that name exists, and the store is never created by looking.
    """
    path = Path(source)
    if path.is_dir():
        path = path / RESULTS
        if not path.is_file():
            raise MetaInputError(path, None, None, f"file not found (no {RESULTS} in the folder)")
    if path.is_file():
        return _file_rows(path, str(source) if path == Path(source) else None)
    from jurist.store import default_store_path

    store_path = Path(store) if store is not None else default_store_path()
    if store_path.is_file() and path.name == str(source):
        found = _from_store(str(source), store_path)
        if found is not None:
            return found
    raise MetaInputError(
        source, None, None, f"file not found, nor a folder or a run id in {store_path}"
    )


# ---------------------------------------------------------------- reading labels


@dataclass(frozen=True)
class Labels:
    """Human ratings per item id and field, several per item when several people rated it.

    `annotators` holds who gave each rating when the file names annotators; otherwise
    ratings are kept in file order.
    """

    path: str
    id_field: str
    fields: tuple[str, ...]
    ratings: dict[str, dict[str, list[Any]]]
    annotators: dict[str, dict[str, list[str]]]
    first_line: dict[str, int]


def _table_records(path: Path) -> Iterable[tuple[int, Any]]:
    """Rows of a CSV / TSV labels file, numbered as an editor shows them (line 1 is the
    header); undecodable bytes name their line and column."""
    with open_text(path, newline="") as handle:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        reader = csv.DictReader(handle, delimiter=delimiter)
        header = {name: name for name in reader.fieldnames or []}
        _decoded(path, 1, header, handle.encoding)
        for number, row in enumerate(reader, start=2):
            if None in row:
                raise MetaInputError(path, number, None, "more cells than header columns")
            yield number, _decoded(path, number, row, handle.encoding)


_BETWEEN_ELEMENTS = re.compile(r"[\s,]*")


def _element_lines(text: str) -> Iterator[int]:
    """The line each element of a valid JSON list starts on, so that errors in a labels
    document name the line an editor shows rather than the element's position."""
    decoder = json.JSONDecoder()
    position = text.index("[") + 1
    line = 1 + text.count("\n", 0, position)
    while True:
        gap = _BETWEEN_ELEMENTS.match(text, position)
        start = gap.end() if gap else position
        if start >= len(text) or text[start] == "]":
            return
        line += text.count("\n", position, start)
        yield line
        _, end = decoder.raw_decode(text, start)
        line += text.count("\n", start, end)
        position = end


def _label_records(path: Path) -> Iterable[tuple[int, Any]]:
    if path.suffix.lower() in (".csv", ".tsv"):
        yield from _table_records(path)
        return
    with open_text(path) as handle:
        codec = handle.encoding
        text = handle.read().lstrip("\ufeff")
    if path.suffix.lower() == ".json" and text.lstrip().startswith("["):
        bad = undecodable(text, codec)
        if bad is not None:
            raise MetaInputError(path, bad[0], None, bad[1])
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            problem = f"not valid JSON ({error.msg} at column {error.colno})"
            raise MetaInputError(path, error.lineno, None, problem) from None
        yield from zip(_element_lines(text), document, strict=False)
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, _json_line(path, number, line.lstrip("\ufeff"), codec)


def _label_id(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() if isinstance(value, str) else str(value)


def _one_rating(value: Any, where: tuple[Path | str, int | None, str]) -> Any:
    """A number, a verdict-like string, or None (no rating); anything else is an error."""
    if value is None:
        return None
    if isinstance(value, bool | dict | list):
        raise MetaInputError(*where, f"expected a number or a label, got {value!r}")
    if isinstance(value, int | float):
        return None if math.isnan(value) else float(value)
    if isinstance(value, str):
        text = value.strip()
        if not text or text.lower() in ("na", "nan", "null", "none", "n/a"):
            return None
        try:
            return float(text)
        except ValueError:
            return text
    raise MetaInputError(*where, f"expected a number or a label, got {type(value).__name__}")


def ratings_of(value: Any, where: tuple[Path | str, int | None, str]) -> list[Any]:
    """One label value as a list of ratings: a list is several annotators, None is none."""
    if isinstance(value, list):
        return [_one_rating(v, where) for v in value]
    rating = _one_rating(value, where)
    return [] if rating is None else [rating]


def read_labels(
    path: str | Path,
    *,
    id_field: str = "id",
    fields: Sequence[str] | None = None,
    annotator_field: str | None = None,
) -> Labels:
    """Read a JSONL, JSON-list, CSV or TSV file of human labels keyed by `id_field`.

    Several annotators per item may come as a list value or as several rows with the same
    id; with `annotator_field` each rating remembers who gave it. `fields` defaults to
    every column but the id and annotator columns.
    """
    path = Path(path)
    if not path.is_file():
        raise MetaInputError(path, None, None, "labels file not found")
    wanted = list(fields) if fields else None
    ratings: dict[str, dict[str, list[Any]]] = {}
    annotators: dict[str, dict[str, list[str]]] = {}
    first_line: dict[str, int] = {}
    seen_fields: dict[str, None] = {}
    n_records = 0
    for number, record in _label_records(path):
        n_records += 1
        if not isinstance(record, Mapping):
            problem = f"expected an object, got {type(record).__name__}"
            raise MetaInputError(path, number, None, problem)
        if id_field not in record:
            raise MetaInputError(
                path, number, id_field, f"missing (fields here: {', '.join(map(str, record))})"
            )
        item_id = _label_id(record[id_field])
        if item_id is None:
            raise MetaInputError(path, number, id_field, "empty id")
        who: str | None = None
        if annotator_field is not None:
            if annotator_field not in record or _label_id(record[annotator_field]) is None:
                raise MetaInputError(path, number, annotator_field, "missing annotator")
            who = _label_id(record[annotator_field])
        first_line.setdefault(item_id, number)
        names = wanted or [k for k in record if k not in (id_field, annotator_field)]
        for name in names:
            if name not in record:
                continue
            seen_fields.setdefault(name)
            values = ratings_of(record[name], (path, number, name))
            ratings.setdefault(item_id, {}).setdefault(name, []).extend(values)
            if who is not None:
                annotators.setdefault(item_id, {}).setdefault(name, []).extend([who] * len(values))
    if n_records == 0:
        raise MetaInputError(path, None, None, "no label records in the file")
    for name in wanted or []:
        if name not in seen_fields:
            known = sorted({str(k) for r in ratings.values() for k in r} | set(seen_fields))
            raise MetaInputError(
                path, None, name, f"no such label field (fields seen: {', '.join(known) or '-'})"
            )
    return Labels(
        path=str(path),
        id_field=id_field,
        fields=tuple(wanted or seen_fields),
        ratings=ratings,
        annotators=annotators,
        first_line=first_line,
    )
