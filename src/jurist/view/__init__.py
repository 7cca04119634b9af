"""See the judgments: a local web app to browse, compare and annotate runs
(`jurist view`), and one self-contained HTML report per run (`jurist report`).

The web parts need the `view` extra (FastAPI, uvicorn) and are imported when used.

Modules here are public unless their name starts with `_`; a `_name`, module or
symbol, is never imported from outside this package (tests included).
"""

from jurist.view.annotations import AnnotationStore, annotator_agreement
from jurist.view.index import Filters, RunIndex, open_index
from jurist.view.report import write_report
from jurist.view.sources import RunSource, resolve_source

__all__ = [
    "AnnotationStore",
    "Filters",
    "RunIndex",
    "RunSource",
    "annotator_agreement",
    "open_index",
    "resolve_source",
    "write_report",
]
