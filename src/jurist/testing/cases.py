"""`@cases("data.jsonl")`: one test per row of a data file, each row read as an Item.

The rows are read with the same field map as `jurist grade`, so a suite's data file and a
test's data file are the same file. A relative path is relative to the test module.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from jurist.core.data import FieldMap, read_items

__all__ = ["cases"]

Test = TypeVar("Test", bound=Callable[..., Any])


def cases(
    path: str | Path,
    *,
    input: str = "input",
    reference: str | None = "reference",
    response: str | None = None,
    id: str | None = None,
    labels: tuple[str, ...] = (),
    keep: tuple[str, ...] = (),
    limit: int | None = None,
    argname: str = "case",
) -> Callable[[Test], Test]:
    """Parametrize a test over the rows of `path` (JSONL, CSV, Parquet): the test takes
    an `Item` as `argname` (its input, reference, labels and kept columns), its id the
    `id` column's value (default: the row number).

    Rows usually hold what the system under test is asked, not its answer; name a
    `response` column to read stored answers too."""
    source = Path(path)
    if not source.is_absolute():
        frame = inspect.currentframe()
        caller = frame.f_back if frame is not None else None
        if caller is not None:
            source = Path(caller.f_code.co_filename).resolve().parent / source
    fields = FieldMap(
        input=input, response=response, reference=reference, id=id,
        labels=tuple(labels), keep=tuple(keep),
    )  # fmt: skip
    items = list(read_items(source, fields))[:limit]
    import pytest  # the decorator only makes sense in a test session

    return pytest.mark.parametrize(argname, items, ids=[item.id for item in items])
