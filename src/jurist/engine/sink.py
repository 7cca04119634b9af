"""Where every finished judgment goes, whichever engine produced it.

Both engines hand each judgment to one `ResultSink` the moment it is finished: it is saved
in the store under the run (so a killed run resumes where it stopped), appended to
`results.jsonl`, added to the summary and the live counters, and passed to a callback. One
sink for both engines keeps "what happens to a result" in one place, so the asyncio and
Ray engines cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jurist.backends.base import CallStats
from jurist.core.judgment import Judgment
from jurist.engine.outputs import ResultsFile
from jurist.engine.summary import SummaryBuilder
from jurist.store import Store

__all__ = ["ResultSink", "RunCounters"]


@dataclass
class RunCounters(CallStats):
    """Live counts for the progress display: items by status, plus the call statistics
    of the layers that count into it (pass it as the session's `stats`)."""

    items: int = 0
    ok: int = 0
    parse_error: int = 0
    failed: int = 0

    def add(self, judgment: Judgment) -> None:
        self.items += 1
        setattr(self, judgment.status, getattr(self, judgment.status) + 1)


class ResultSink:
    """Save, write, count and call back, in that order, for each finished judgment.

    Every part is optional: without a store and run id nothing is saved, without a results
    file nothing is written. `counters` is shared with the judge's layers when the caller
    wants call counts in the progress display.
    """

    def __init__(
        self,
        store: Store | None = None,
        run_id: str | None = None,
        *,
        results: ResultsFile | None = None,
        summary: SummaryBuilder | None = None,
        counters: RunCounters | None = None,
        on_result: Callable[[Judgment], None] | None = None,
        adjust: Callable[[Judgment], Judgment] | None = None,
    ) -> None:
        self.store = store
        self.run_id = run_id
        self.results = results
        self.summary = summary
        self.counters = counters if counters is not None else RunCounters()
        self.on_result = on_result
        # A step every judgment passes before it is kept (a judge profile's calibration).
        self.adjust = adjust

    def add(self, judgment: Judgment) -> None:
        if self.adjust is not None:
            judgment = self.adjust(judgment)
        if self.store is not None and self.run_id is not None:
            self.store.save_result(self.run_id, judgment)
        self.counters.add(judgment)
        if self.results is not None:
            self.results.write(judgment)
        if self.summary is not None:
            self.summary.add(judgment)
        if self.on_result is not None:
            self.on_result(judgment)

    __call__ = add
