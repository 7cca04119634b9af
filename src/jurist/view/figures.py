"""Figures for the viewer and the report, all inline: SVG bars drawn here and the
`jurist meta` plots as PNG data URIs, so a page or a report file needs nothing else."""

from __future__ import annotations

import base64
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup, escape
from rich.console import Console, RenderableType

from jurist.core.errors import JuristError
from jurist.meta import (
    PlotOptions,
    Results,
    Settings,
    agreement_plots,
    agreement_report,
    audit_plots,
    bias_report,
    criterion_data,
)


def histogram_svg(
    bins: list[tuple[float, int]],
    points: list[float] | None = None,
    *,
    width: int = 260,
    height: int = 90,
) -> Markup:
    """Bars of counts per score value, labelled with the value and the count; every scale
    point gets a bar, so an unused point shows as an empty slot."""
    if not bins:
        return Markup('<p class="muted">no scores</p>')
    counts = dict(bins)
    for point in points or ():
        counts.setdefault(point, 0)
    bins = sorted(counts.items())
    top = max(c for _, c in bins) or 1
    slot = width / len(bins)
    bar = max(slot * 0.8, 1.0)
    parts = [
        f'<svg class="hist" viewBox="0 0 {width} {height + 28}" width="{width}" '
        f'height="{height + 28}" role="img" aria-label="score histogram">'
    ]
    for k, (value, count) in enumerate(bins):
        h = height * count / top
        x = k * slot + (slot - bar) / 2
        label = f"{value:g}"
        parts.append(
            f'<rect x="{x:.1f}" y="{height - h + 12:.1f}" width="{bar:.1f}" height="{h:.1f}">'
            f"<title>{escape(label)}: {count}</title></rect>"
            f'<text x="{x + bar / 2:.1f}" y="{height + 26}" text-anchor="middle">'
            f"{escape(label)}</text>"
            f'<text x="{x + bar / 2:.1f}" y="{height - h + 10:.1f}" text-anchor="middle" '
            f'class="count">{count}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


@dataclass(frozen=True)
class Section:
    """A report section as text (the CLI's rendering) and its plots as data URIs."""

    title: str
    text: str
    images: list[str]


def render_text(renderable: RenderableType, width: int = 110) -> str:
    console = Console(record=True, width=width, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def _png_uris(paths: list[Path]) -> list[str]:
    return [
        "data:image/png;base64," + base64.b64encode(p.read_bytes()).decode("ascii")
        for p in paths
        if p.suffix == ".png"
    ]


def meta_sections(results: Results, settings: Settings | None = None) -> list[Section]:
    """Judge vs human agreement and the judge's biases, when the results have labels."""
    settings = settings or Settings(n_resamples=300)
    out: list[Section] = []
    with tempfile.TemporaryDirectory(prefix="jurist-view-") as folder:
        options = PlotOptions(Path(folder), "png")
        try:
            criteria = [] if results.mode == "pairwise" else criterion_data(results)
            agreement = agreement_report(results, settings=settings)
            plots = agreement_plots(agreement, criteria, options)
            out.append(Section("Judge vs human", render_text(agreement.render()), _png_uris(plots)))
        except (JuristError, ValueError) as error:
            out.append(Section("Judge vs human", f"not computed: {error}", []))
        try:
            audit = bias_report(results, settings=settings)
            plots = audit_plots(audit, criteria, PlotOptions(Path(folder) / "audit", "png"))
            out.append(
                Section("Audit: judge biases", render_text(audit.render()), _png_uris(plots))
            )
        except (JuristError, ValueError) as error:
            out.append(Section("Audit: judge biases", f"not computed: {error}", []))
    return out
