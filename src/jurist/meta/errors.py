"""The one error a meta-evaluation raises for bad input."""

from __future__ import annotations

from pathlib import Path

from jurist.core.errors import InputError


class MetaInputError(InputError):
    """Bad results or labels; the message names the file, line and field, as an editor
    numbers them, so the fix is one jump away."""

    def __init__(self, path: str | Path, line: int | None, field: str | None, problem: str) -> None:
        where = str(path)
        if line:
            where += f" line {line}"
        if field:
            where += f", field {field!r}"
        # InputError's own wording says "row"; results and labels files are read by line.
        ValueError.__init__(self, f"{where}: {problem}")
        self.path = str(path)
        self.row = self.line = line
        self.field = field
        self.problem = problem
