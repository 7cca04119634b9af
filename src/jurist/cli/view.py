"""`jurist view` (browse, compare and annotate runs in the browser) and `jurist report`
(one self-contained HTML file). Thin: options in, one library call, a line out."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer

from jurist.cli.options import StoreOpt
from jurist.cli.output import errors, exit_on_error, fail
from jurist.store import default_store_path

DataOpt = Annotated[
    Path | None,
    typer.Option(help="Data file with the items' texts, when the run's own is not at hand."),
]


@exit_on_error()
def view(
    runs: Annotated[
        list[str] | None,
        typer.Argument(
            help="Run ids, output folders or results.jsonl files (default: every run in the store)."
        ),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Address to bind; anything but 127.0.0.1 is reachable by others.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: a free one).")] = 0,
    store: StoreOpt = None,
    data: DataOpt = None,
    cache_dir: Annotated[Path | None, typer.Option(help="Where run indexes are kept.")] = None,
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
    viewer = make_viewer(list(runs or []), store or default_store_path(), data_path=data,
                         cache_dir=cache_dir)  # fmt: skip
    warn = functools.partial(errors.print, "[yellow]warning:[/]")
    serve_viewer(create_app(viewer), viewer.token, host, port, show=typer.echo, warn=warn)


@exit_on_error()
def report(
    run: Annotated[str, typer.Argument(help="Run id, output folder or results.jsonl.")],
    output: Annotated[Path, typer.Option("-o", "--output", help="HTML file to write.")] = Path(
        "report.html"
    ),
    labels: Annotated[
        Path | None, typer.Option(help="Human labels (JSONL / JSON / CSV / TSV) joined by id.")
    ] = None,
    annotator_field: Annotated[
        str | None, typer.Option(help="Labels column naming the annotator.")
    ] = None,
    sample: Annotated[int, typer.Option(min=0, help="Items to show with their rationales.")] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the item sample and the bootstrap.")] = 0,
    store: StoreOpt = None,
    data: DataOpt = None,
) -> None:
    """Write one self-contained HTML file: the summary, judge vs human and the audit when
    labels exist, and a sample of items with rationales. No external assets."""
    from jurist.view.report import write_report

    path = write_report(
        run,
        output,
        store_path=store or default_store_path(),
        labels=labels,
        annotator_field=annotator_field,
        sample=sample,
        seed=seed,
        data_path=data,
    )
    typer.echo(f"wrote {path}")


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: jurist view out/")(view)
    app.command(epilog="Example: jurist report out/ -o report.html")(report)
