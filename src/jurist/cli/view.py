"""`jurist view` (browse, compare and annotate runs in the browser) and `jurist report`
(one self-contained HTML file). Thin: options in, one library call, a line out."""

from __future__ import annotations

import functools
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from jurist.cli.options import StoreOpt, dataclass_options, option_groups
from jurist.cli.output import errors, exit_on_error, fail
from jurist.store import default_store_path
from jurist.view.report import ReportSettings
from jurist.view.server import ServeSettings

DataOpt = Annotated[
    Path | None,
    typer.Option(help="Data file with the items' texts, when the run's own is not at hand."),
]


@exit_on_error()
@option_groups(serve=dataclass_options(ServeSettings))
def view(
    runs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Run ids, output folders or results.jsonl files (default: every run in the store)."
        ),
    ] = None,
    store: StoreOpt = None,
    data: DataOpt = None,
    *,
    serve: ServeSettings,
) -> None:
    """Browse runs in a local web app: summaries, histograms, filters, items with their
    rationales and score distributions, two runs side by side, and annotation by people.

    Every request needs the token printed in the URL; judged text is shown as text.
    """
    try:
        from jurist.view.app import create_app, make_viewer
        from jurist.view.server import serve_viewer
    except ImportError as error:
        fail(
            f"jurist view needs the view extra ({error.name} is missing): "
            "pip install 'jurist[view]'"
        )
    store_path, cache_dir = store or default_store_path(), serve.cache_dir
    viewer = make_viewer(list(runs or []), store_path, data_path=data, cache_dir=cache_dir)
    warn = functools.partial(errors.print, "[yellow]warning:[/]")
    app = create_app(viewer)
    serve_viewer(app, viewer.token, serve.host, serve.port, show=typer.echo, warn=warn)


@exit_on_error()
@option_groups(settings=dataclass_options(ReportSettings))
def report(
    run: Annotated[str, typer.Argument(help="Run id, output folder or results.jsonl.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write.")] = Path(
        "report.html"
    ),
    store: StoreOpt = None,
    data: DataOpt = None,
    *,
    settings: ReportSettings,
) -> None:
    """Write one self-contained HTML file: the summary, judge vs human and the audit when
    labels exist, and a sample of items with rationales. No external assets."""
    from jurist.view.report import write_report

    store_path = store or default_store_path()
    path = write_report(run, output, store_path=store_path, data_path=data, **asdict(settings))
    typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: jurist view out/")(view)
    app.command(epilog="Example: jurist report out/ -o report.html")(report)
