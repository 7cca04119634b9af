"""A terminal progress bar for a grading job: items done of the total, rate, time left,
cache hits, failures and parse errors, fed by the job's `progress` callback. The command
line shows it; a script or notebook calling `grade_job` can pass the same bar."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from jurist.engine.sink import RunCounters

_COLUMNS = (
    TextColumn("[bold]{task.description}"),
    BarColumn(),
    MofNCompleteColumn(),
    TextColumn("{task.fields[rate]}"),
    TimeElapsedColumn(),
    TimeRemainingColumn(),
    TextColumn(
        "cache {task.fields[hits]}  failed {task.fields[failed]}  parse_error {task.fields[bad]}"
    ),
)


@contextmanager
def progress_bar(
    console: Console | None = None, *, shown: bool = True
) -> Iterator[Callable[[RunCounters, int | None], None] | None]:
    """A live bar on `console` (default: stderr) while the block runs; yields the callback
    to hand to `grade_job(progress=...)` (None when not `shown`)."""
    if not shown:
        yield None
        return
    with Progress(*_COLUMNS, console=console or Console(stderr=True), transient=False) as bar:
        task = bar.add_task("grading", total=None, rate="", hits=0, failed=0, bad=0)

        last: list[tuple[RunCounters, int | None]] = []
        drawn = [0.0]

        def draw(counters: RunCounters, total: int | None) -> None:
            elapsed = bar.tasks[0].elapsed or 0.0
            rate = f"{counters.items / elapsed:.2f} items/s" if elapsed > 0 else ""
            bar.update(
                task,
                completed=counters.items,
                total=total,
                rate=rate,
                hits=counters.cache_hits,
                failed=counters.failed,
                bad=counters.parse_error,
            )

        def update(counters: RunCounters, total: int | None) -> None:
            # Redrawn at most 20 times a second: once per result costs more than a judgment
            # against a fast server; the last counts show when the block ends.
            now = time.monotonic()
            if now - drawn[0] < 0.05:
                last[:] = [(counters, total)]
                return
            drawn[0] = now
            last.clear()
            draw(counters, total)

        try:
            yield update
        finally:
            if last:
                draw(*last[0])
