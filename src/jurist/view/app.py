"""The `jurist view` web app: server-rendered pages over the run indexes, a small JSON
API for annotations, and a token that every request must carry.

Judged text is attacker-controlled, so templates escape everything (Jinja2 autoescape)
and the script reads data only from escaped attributes and JSON script blocks.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.base import BaseHTTPMiddleware

from jurist.core.errors import InputError, JuristError
from jurist.core.judgment import PairwiseJudgment
from jurist.core.rubric import Rubric
from jurist.meta import Results
from jurist.meta.load import LoadedResults
from jurist.view.annotations import (
    AnnotationStore,
    annotator_agreement,
    clean_annotator,
)
from jurist.view.choices import (
    annotation_fields,
    checklist_weights,
    labels_from_annotations,
    valid_value,
)
from jurist.view.compare import compare_runs
from jurist.view.figures import Section, histogram_svg, meta_sections
from jurist.view.index import PAGE_SIZE, SORTS, Filters, RunIndex, open_index, scale_points
from jurist.view.peek import peek_run
from jurist.view.sources import RunSource, resolve_source, source_rubric, stored_runs
from jurist.view.templating import environment

# Renders a template with the viewer token filled in.
Page = Callable[..., HTMLResponse]

HERE = Path(__file__).parent
TOKEN_HEADER = "X-Jurist-Token"


@dataclass
class Viewer:
    """The runs being shown, their indexes, the annotations, and the access token."""

    sources: list[RunSource]
    store_path: Path
    token: str
    cache_dir: Path | None = None
    _indexes: dict[str, RunIndex] = field(default_factory=dict)
    _meta: dict[tuple[str, int, float], list[Section]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.annotations = AnnotationStore(self.store_path)

    def source(self, key: str) -> RunSource:
        for s in self.sources:
            if s.key == key:
                return s
        raise HTTPException(404, f"no run {key!r} here")

    def index(self, key: str) -> RunIndex:
        source = self.source(key)
        with self._lock:
            known = self._indexes.get(key)
            if known is None or not known.path.is_file():
                try:
                    known = open_index(source, self.cache_dir)
                except JuristError as error:
                    raise HTTPException(422, str(error)) from None
                self._indexes[key] = known
            return known


def make_viewer(
    runs: list[str],
    store_path: Path,
    *,
    token: str | None = None,
    data_path: Path | None = None,
    cache_dir: Path | None = None,
) -> Viewer:
    """Viewer state for the runs named (every run in the store when none is)."""
    names = runs or stored_runs(store_path)
    sources = [resolve_source(r, store_path, data_path) for r in names]
    return Viewer(sources, store_path, token or secrets.token_urlsafe(24), cache_dir)


class _TokenGate(BaseHTTPMiddleware):
    """403 for any request without the token (query, cookie or header); the query form
    sets a cookie so links need not repeat it. Writes need the header, which another
    site's page cannot send."""

    def __init__(self, app: Any, token: str) -> None:
        super().__init__(app)
        self.token = token
        self.cookie = "jurist_view_" + hashlib.sha256(token.encode()).hexdigest()[:10]

    def _ok(self, given: str | None) -> bool:
        return given is not None and secrets.compare_digest(given, self.token)

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        header = request.headers.get(TOKEN_HEADER)
        if request.method not in ("GET", "HEAD"):
            if not self._ok(header):
                return PlainTextResponse("forbidden: missing or wrong token", status_code=403)
            return await call_next(request)
        query = request.query_params.get("token")
        if self._ok(query):
            response = await call_next(request)
            response.set_cookie(self.cookie, self.token, httponly=True, samesite="strict")
            return response
        if self._ok(request.cookies.get(self.cookie)) or self._ok(header):
            return await call_next(request)
        return PlainTextResponse("forbidden: missing or wrong token", status_code=403)


def _float(value: str | None) -> float | None:
    if value is None or not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        return None


def filters_from(request: Request) -> Filters:
    q = request.query_params
    sort = q.get("sort") or "position"
    return Filters(
        status=q.get("status") or None,
        criterion=q.get("criterion") or None,
        score_min=_float(q.get("score_min")),
        score_max=_float(q.get("score_max")),
        disagreement=_float(q.get("disagreement")),
        wider_than=_float(q.get("wider_than")),
        inconsistent=q.get("inconsistent") == "1",
        parse_errors=q.get("parse_errors") == "1",
        search=q.get("search") or None,
        sort=sort if sort in SORTS else "position",
    )


def _int(value: str | None, default: int = 0) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _points(index: RunIndex, criterion: str, rubric: Rubric | None) -> list[float] | None:
    """The scale points a histogram spans: yes / no, or the criterion's scale."""
    if index.info.mode == "checklist":
        return None if criterion == "checklist" else [0.0, 1.0]
    known = next((c for c in rubric.criteria if c.id == criterion), None) if rubric else None
    return scale_points(index, criterion, known.points if known else None)


def create_app(viewer: Viewer) -> FastAPI:
    """The FastAPI app for `viewer`; serve it with uvicorn on 127.0.0.1."""
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    env = environment()
    app.add_middleware(_TokenGate, token=viewer.token)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def page(name: str, **context: Any) -> HTMLResponse:
        template = env.get_template(name)
        return HTMLResponse(template.render(token=viewer.token, **context))

    _browse_routes(app, viewer, page)
    _annotation_routes(app, viewer, page)
    _analysis_routes(app, viewer, page)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> HTMLResponse:
        template = env.get_template("error.html")
        return HTMLResponse(
            template.render(
                token=viewer.token, title="Error", status=error.status_code, detail=error.detail
            ),
            status_code=error.status_code,
        )

    return app


def _browse_routes(app: FastAPI, viewer: Viewer, page: Page) -> None:
    """The run list, a run's page of judgments and one item's page."""

    @app.get("/", response_class=HTMLResponse)
    def runs_page() -> HTMLResponse:
        rows = [peek_run(s, viewer.cache_dir) for s in viewer.sources]
        return page("runs.html", runs=rows, title="Runs")

    @app.get("/run/{key}", response_class=HTMLResponse)
    def run_page(key: str, request: Request) -> HTMLResponse:
        index = viewer.index(key)
        rubric = source_rubric(viewer.source(key))
        filters = filters_from(request)
        total = index.count(filters)
        offset = max(_int(request.query_params.get("offset")), 0)
        rows = index.page(filters, offset)
        annotated = viewer.annotations.annotated_items(
            viewer.source(key).annotation_key, [r.item_id for r in rows]
        )
        histograms = {
            c: histogram_svg(index.histogram(c), _points(index, c, rubric))
            for c in index.info.criteria
        }
        query = filters.query()
        return page(
            "run.html",
            title=index.info.label,
            info=index.info,
            key=key,
            rows=rows,
            annotated=annotated,
            offset=offset,
            total=total,
            page_size=PAGE_SIZE,
            filters=filters,
            sorts=SORTS,
            query=urlencode(query),
            query_with=lambda **kw: urlencode({**query, **{k: v for k, v in kw.items()}}),
            histograms=histograms,
            others=[s for s in viewer.sources if s.key != key],
        )

    @app.get("/run/{key}/item/{pos}", response_class=HTMLResponse)
    def item_page(key: str, pos: int, request: Request) -> HTMLResponse:
        index = viewer.index(key)
        found = index.item(pos)
        if found is None:
            raise HTTPException(404, f"no item {pos} in this run")
        judgment, item, human = found
        filters = filters_from(request)
        at = _int(request.query_params.get("at"), -1)
        query = filters.query()

        def link(offset: int) -> str | None:
            target = index.position_at(filters, offset)
            if target is None:
                return None
            return f"/run/{key}/item/{target}?" + urlencode({**query, "at": str(offset)})

        source = viewer.source(key)
        saved = [
            a.__dict__ for a in viewer.annotations.for_item(source.annotation_key, judgment.item_id)
        ]
        return page(
            "item.html",
            title=judgment.item_id,
            info=index.info,
            key=key,
            pos=pos,
            judgment=judgment,
            item=item,
            human=human,
            pairwise=isinstance(judgment, PairwiseJudgment),
            next_url=link(at + 1) if at >= 0 else None,
            prev_url=link(at - 1) if at >= 1 else None,
            back_url=f"/run/{key}?"
            + urlencode({**query, "offset": str(max(at, 0) // PAGE_SIZE * PAGE_SIZE)}),
            fields=annotation_fields(index, source_rubric(viewer.source(key))),
            saved=saved,
        )


def _annotation_routes(app: FastAPI, viewer: Viewer, page: Page) -> None:
    """Saving, listing and exporting human annotations."""

    @app.post("/api/annotations")
    async def annotate(request: Request) -> JSONResponse:
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise InputError("annotation", None, None, "expected a JSON object")
            key = str(body.get("run", ""))
            index = viewer.index(key)
            item_id = str(body.get("item_id", ""))
            if index.position_of(item_id) is None:
                raise InputError("annotation", None, "item_id", f"{item_id!r} is not in the run")
            annotator = clean_annotator(str(body.get("annotator", "")))
            name = str(body.get("field", ""))
            run_key = viewer.source(key).annotation_key
            if body.get("value") is None:
                viewer.annotations.remove(run_key, item_id, annotator, name)
            else:
                value = valid_value(
                    annotation_fields(index, source_rubric(viewer.source(key))), name, body["value"]
                )
                viewer.annotations.save(run_key, item_id, annotator, name, value)
        except (JuristError, ValueError) as error:
            return JSONResponse({"ok": False, "error": str(error)}, status_code=400)
        return JSONResponse({"ok": True})

    @app.get("/run/{key}/annotations", response_class=HTMLResponse)
    def annotations_page(key: str) -> HTMLResponse:
        index = viewer.index(key)
        rows = viewer.annotations.for_run(viewer.source(key).annotation_key)
        return page(
            "annotations.html",
            title=f"Annotations: {index.info.label}",
            info=index.info,
            key=key,
            annotations=rows,
            annotators=sorted({a.annotator for a in rows}),
            agreement=annotator_agreement(rows),
        )

    @app.get("/run/{key}/annotations.jsonl")
    def export(key: str) -> Response:
        index = viewer.index(key)
        lines = viewer.annotations.export_lines(
            viewer.source(key).annotation_key, checklist_weights(index)
        )
        body = "".join(line + "\n" for line in lines)
        return Response(
            body,
            media_type="application/x-ndjson",
            headers={"Content-Disposition": f'attachment; filename="annotations-{key}.jsonl"'},
        )


def _analysis_routes(app: FastAPI, viewer: Viewer, page: Page) -> None:
    """Judge-vs-human figures for a run, and two runs side by side."""

    @app.get("/run/{key}/meta", response_class=HTMLResponse)
    def meta_page(key: str, request: Request) -> HTMLResponse:
        index = viewer.index(key)
        use = request.query_params.get("labels") or "auto"
        source = viewer.source(key)
        stamp = max(
            (a.updated for a in viewer.annotations.for_run(source.annotation_key)), default=0.0
        )
        labels = (
            labels_from_annotations(viewer.annotations, viewer.source(key).annotation_key, index)
            if use != "results"
            else None
        )
        used = "annotations" if labels is not None else "results"
        cache_key = (key + used, index.info.n, stamp if labels is not None else 0.0)
        sections = viewer._meta.get(cache_key)
        if sections is None:
            judgments = list(index.judgments())
            loaded = LoadedResults(index.info.source, judgments, [None] * len(judgments))
            try:
                results = Results.from_loaded(loaded, labels)
                sections = meta_sections(results)
            except JuristError as error:
                sections = [Section("Judge vs human", f"not computed: {error}", [])]
            viewer._meta[cache_key] = sections
        return page(
            "meta.html",
            title=f"Judge vs human: {index.info.label}",
            info=index.info,
            key=key,
            sections=sections,
            used=used,
        )

    @app.get("/compare", response_class=HTMLResponse)
    def compare_page(request: Request) -> HTMLResponse:
        q = request.query_params
        a, b = viewer.index(q.get("a", "")), viewer.index(q.get("b", ""))
        only = q.get("disagree") == "1"
        offset = max(_int(q.get("offset")), 0)
        table = compare_runs(a, b, only_disagreements=only, offset=offset, limit=PAGE_SIZE)
        return page(
            "compare.html",
            title="Compare runs",
            a=a.info,
            b=b.info,
            table=table,
            only=only,
            offset=offset,
            page_size=PAGE_SIZE,
            base=urlencode({"a": a.info.key, "b": b.info.key}),
        )
