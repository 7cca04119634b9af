"""The one items source: a data file read with a field map, or a built-in benchmark.

It lives beside the benchmark loaders because it knows both kinds of source; everything
that takes items from the user (grading, injection audits, rubric generation, training)
names them with it, and a grading run stores it with its fingerprint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path

from jurist.core.data import FieldMap, Item, ReadReport, read_items
from jurist.core.errors import ConfigError, InputError
from jurist.datasets.sets import load_preset

__all__ = ["ItemSource"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class ItemSource:
    """The one way a job names its items: a data file read with a field map, or a built-in
    benchmark; `limit` keeps the first N, `skip_bad_rows` records bad rows and goes on.

    It is plain data (stored with a grading run) and knows its own fingerprint, so a
    resumed run can tell that the data changed underneath it.
    """

    data: Path | None = None
    preset: str | None = field(
        default=None,
        metadata={"help": "A built-in benchmark (see `jurist models`); replaces DATA."},
    )
    fields: FieldMap = field(default_factory=FieldMap)
    limit: int | None = field(
        default=None, metadata={"help": "Use only the first N items.", "min": 0}
    )
    skip_bad_rows: bool = field(
        default=False, metadata={"help": "Record bad rows and go on instead of stopping."}
    )

    @classmethod
    def for_mode(
        cls,
        mode: str,
        *,
        data: Path | None = None,
        preset: str | None = None,
        limit: int | None = None,
        id: str | None = None,
        labels: Sequence[str] = (),
        keep: Sequence[str] = (),
    ) -> ItemSource:
        """Items for a judging mode: a pairwise job also reads the second response."""
        response_b = "response_b" if mode == "pairwise" else None
        fields = FieldMap(id=id, response_b=response_b, labels=tuple(labels), keep=tuple(keep))
        return cls(data=data, preset=preset, fields=fields, limit=limit)

    def iter(
        self,
        report: ReadReport | None = None,
        transform: Callable[[Item], Item] | None = None,
    ) -> Iterator[Item]:
        """Stream the items (bad rows go to `report` with `skip_bad_rows`), each passed
        through `transform` when one is given. A preset wins over a data file."""
        stream = islice(self._read(report), self.limit)
        return stream if transform is None else map(transform, stream)

    def _read(self, report: ReadReport | None) -> Iterator[Item]:
        if self.preset is not None:
            return load_preset(self.preset, limit=self.limit)
        if self.data is None:
            raise ConfigError(
                "give a data file or a preset: give DATA (a JSONL, CSV or Parquet file) "
                "or --preset NAME"
            )
        return read_items(self.data, self.fields, skip_bad_rows=self.skip_bad_rows, report=report)

    def load(self) -> list[Item]:
        """All the items at once; a preset that cannot be read is a ConfigError."""
        if self.data is not None and self.preset is not None:
            raise ConfigError("give DATA or --preset, not both")
        if self.preset is None:
            return list(self.iter())
        try:
            return list(self.iter())
        except (FileNotFoundError, ValueError) as error:
            raise ConfigError(str(error)) from None

    def expected_count(self) -> int | None:
        """Rows to expect, for a progress bar: cheap for line-based files and Parquet,
        else the limit (None when unknown)."""
        if self.preset is not None or self.data is None:
            return self.limit
        path = Path(self.data)
        try:
            if path.suffix.lower() in (".jsonl", ".ndjson"):
                with path.open("rb") as handle:
                    total = sum(1 for line in handle if line.strip())
            elif path.suffix.lower() in (".parquet", ".pq"):
                import pyarrow.parquet as pq

                total = pq.ParquetFile(path).metadata.num_rows
            else:
                return self.limit
        except (OSError, ValueError):  # unreadable: the reader names the problem, row by row
            return self.limit
        return min(total, self.limit) if self.limit is not None else total

    def fingerprint(self, transform: Callable[[Item], Item] | None = None) -> str:
        """SHA-256 of the field mapping and limit with the data file's bytes, or with a
        preset's items (as `transform` changes them)."""
        digest = hashlib.sha256()
        digest.update(json.dumps(asdict(self.fields), sort_keys=True).encode())
        digest.update(f"limit={self.limit}".encode())
        if self.preset is not None:
            digest.update(f"preset={self.preset}".encode())
            for item in self.iter(ReadReport(), transform):
                digest.update(item.model_dump_json().encode())
            return digest.hexdigest()
        if self.data is None:
            return digest.hexdigest()
        try:
            with open(self.data, "rb") as handle:
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
        except OSError as error:
            raise InputError(str(self.data), problem=error.strerror or str(error)) from None
        return digest.hexdigest()

    @property
    def label(self) -> str | None:
        """The column holding the human preference; a preset's loader files it itself."""
        return self.fields.labels[0] if self.preset is None and self.fields.labels else None

    def describe(self) -> dict[str, str | None]:
        """Where the items came from, as reports record it."""
        return {"data": str(self.data) if self.data else None, "preset": self.preset}
