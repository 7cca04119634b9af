"""Engines that schedule item judging: `LocalEngine` (asyncio, one process) and `RayEngine`
(a pool of workers on a Ray cluster), both taking anything with `judge_item` and handing
every judgment to one `ResultSink`. Ray itself is imported only when a Ray job runs.

Modules here are public unless their name starts with `_`; a `_name`, module or symbol, is
never imported from outside this package (tests included).
"""

from jurist.engine.local import LocalEngine
from jurist.engine.ray import JudgeWorker, RayEngine, RayOptions
from jurist.engine.sink import ResultSink, RunCounters
from jurist.engine.summary import GradeSummary, SummaryBuilder, summarise

__all__ = [
    "GradeSummary",
    "JudgeWorker",
    "LocalEngine",
    "RayEngine",
    "RayOptions",
    "ResultSink",
    "RunCounters",
    "SummaryBuilder",
    "summarise",
]
