"""jurist's errors: one root, so callers (and the CLI) can tell a bad input from a failed
backend from a broken store, and map each to one line and a documented exit code.

Exit codes (`jurist grade` and every other command):

| code | meaning |
|---|---|
| 0 | done; every item ok or parse_error (or `--allow-failures`) |
| 1 | done, but some items `failed` (their errors are in the results) |
| 2 | bad input: data, rubric, options, or a run that cannot be resumed as asked |
| 3 | backend unusable: no model, no key, refused before any item was judged |
| 4 | store or output unusable: corrupted store, unwritable folder, full disk |
| 130 | interrupted by Ctrl-C; finished items are saved, `--resume` continues |
| 143 | stopped by SIGTERM (timeout, systemd, CI runners): the same, the run marked `interrupted` |
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_INPUT = 2
EXIT_BACKEND = 3
EXIT_STORAGE = 4
EXIT_INTERRUPTED = 130


class JuristError(Exception):
    """Anything jurist refuses or cannot do, with a message fit for one line."""

    exit_code = EXIT_INPUT


class InputError(JuristError, ValueError):
    """Bad input: names the file and, where there is one, the row and the field."""

    exit_code = EXIT_INPUT

    def __init__(
        self, path: str, row: int | None = None, field: str | None = None, problem: str = ""
    ) -> None:
        self.path = path
        self.row = row
        self.field = field
        self.problem = problem
        where = path
        if row is not None:
            where += f": row {row}"
        if field:
            where += f", field {field!r}" if row is not None else f": field {field!r}"
        super().__init__(f"{where}: {problem}" if problem else where)


class ConfigError(JuristError, ValueError):
    """Options that contradict each other or a stored run (e.g. resuming a changed input)."""

    exit_code = EXIT_INPUT


class RubricError(JuristError, ValueError):
    """A rubric that cannot be used; the message names the file and the key path."""

    exit_code = EXIT_INPUT


class BackendError(JuristError, RuntimeError):
    """A call that failed. `retryable` tells the retry layer whether trying again can help;
    `retry_after` is the server's own wait hint in seconds; `attempts` counts the calls made."""

    exit_code = EXIT_BACKEND

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status: int | None = None,
        attempts: int = 1,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status
        self.attempts = attempts


class StorageError(JuristError, OSError):
    """The store or an output file cannot be read or written; names the file."""

    exit_code = EXIT_STORAGE
