"""Printing summaries as Rich tables or JSON."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from jurist.core.errors import JuristError
from jurist.core.secrets import scrub

console = Console(stderr=False)
errors = Console(stderr=True)


@contextmanager
def exit_on_error() -> Iterator[None]:
    """Any jurist error becomes one line on stderr and its documented exit code."""
    try:
        yield
    except JuristError as error:
        message = scrub(str(error)).replace("\n", " ")
        errors.print(f"[red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
        raise typer.Exit(error.exit_code) from None


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _ci(summary: dict[str, Any] | None) -> str:
    if not summary or summary.get("ci95") is None:
        return "-"
    low, high = summary["ci95"]
    return f"[{low:.3f}, {high:.3f}]"


def print_grade_summary(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(summary))
        return
    console.print(
        f"run [bold]{summary['run_id']}[/]: {summary['items']} items - "
        f"ok {summary['ok']}, parse_error {summary['parse_error']}, failed {summary['failed']}; "
        f"model calls {summary['model_calls']}, cache hits {summary['cache_hits']}"
        + (f"; skipped rows {summary['skipped_rows']}" if summary.get("skipped_rows") else "")
    )
    if "criteria" in summary:
        table = Table(title="Likert criteria (mean with 95% CI)")
        for column in ("criterion", "n", "mean", "95% CI", "expected", "parse err", "failed"):
            table.add_column(column, justify="left" if column == "criterion" else "right")
        for cid, row in summary["criteria"].items():
            expected = row.get("expected") or {}
            table.add_row(
                cid,
                str(row["n"]),
                _fmt(row["mean"]),
                _ci(row),
                _fmt(expected.get("mean")),
                str(row["parse_error"]),
                str(row["failed"]),
            )
        overall = summary.get("overall") or {}
        if overall.get("n"):
            table.add_row(
                "overall [0-1]", str(overall["n"]), _fmt(overall["mean"]), _ci(overall), "", "", ""
            )
        console.print(table)
    if "checklist" in summary:
        table = Table(title="Checklist (score in [0, 1]; yes rate per item)")
        for column in ("item", "n", "mean", "95% CI"):
            table.add_column(column, justify="left" if column == "item" else "right")
        score = summary["checklist"]["score"]
        table.add_row("score", str(score["n"]), _fmt(score["mean"]), _ci(score))
        for iid, row in summary["checklist"]["yes_rate"].items():
            table.add_row(f"  {iid}", str(row["n"]), _fmt(row["mean"]), _ci(row))
        console.print(table)
    if "pairwise" in summary:
        pair = summary["pairwise"]
        consistent = pair["order_consistent"]
        console.print(
            f"pairwise: n={pair['n']}  A better {pair['A']}, B better {pair['B']}, "
            f"tie {pair['tie']}; order-consistent {_fmt(consistent.get('mean'))} "
            f"{_ci(consistent)} (n={consistent['n']})"
        )
    if "listwise" in summary:
        ranked = summary["listwise"]
        agree, tied = ranked["top_consistency"], ranked["top_tied"]
        slots = "; ".join(
            f"{n} responses: " + " ".join(f"{chr(65 + s)}={c}" for s, c in enumerate(counts))
            for n, counts in ranked["top_pick_by_slot"].items()
        )
        console.print(
            f"listwise: n={ranked['n']}  top pick agreed across orders "
            f"{_fmt(agree.get('mean'))} {_ci(agree)}; top tied {_fmt(tied.get('mean'))}; "
            f"top pick by slot: {slots}"
        )
