"""`jurist report`: one self-contained HTML file for a run (summary, judge vs human and
audit when labels exist, a sample of items with rationales), to attach to a pull
request or an email. Styles and plots are inlined; the file makes no request."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jurist.engine.outputs import write_lines
from jurist.engine.summary import summarise
from jurist.meta import Results, read_labels
from jurist.view.figures import meta_sections
from jurist.view.index import load_source
from jurist.view.sources import RunSource, iter_source_items, resolve_source
from jurist.view.templating import environment

HERE = Path(__file__).parent


def _items_for(source: RunSource, wanted: set[str]) -> dict[str, dict[str, Any]]:
    items, _ = iter_source_items(source)
    found: dict[str, dict[str, Any]] = {}
    if items is None:
        return found
    for item in items:
        if item.id in wanted:
            found[item.id] = item.model_dump()
            if len(found) == len(wanted):
                break
    return found


@dataclass(frozen=True)
class ReportSettings:
    """What a report shows besides the run: labels to measure it against, and the sample."""

    labels: Path | None = field(
        default=None, metadata={"help": "Human labels (JSONL / JSON / CSV / TSV) joined by id."}
    )
    annotator_field: str | None = field(
        default=None, metadata={"help": "Labels column naming the annotator."}
    )
    sample: int = field(default=20, metadata={"help": "Items shown with rationales.", "min": 0})
    seed: int = field(default=0, metadata={"help": "Seed of the item sample and the bootstrap."})


def write_report(
    run: str,
    output: str | Path,
    *,
    store_path: Path,
    labels: str | Path | None = None,
    annotator_field: str | None = None,
    sample: int = 20,
    seed: int = 0,
    data_path: Path | None = None,
) -> Path:
    """Write the report for a run id, output folder or results.jsonl and return its path."""
    source = resolve_source(run, store_path, data_path)
    table = read_labels(labels, annotator_field=annotator_field) if labels is not None else None
    results = Results.from_loaded(load_source(source), table)
    summary = summarise(results.judgments)
    labelled = table is not None or any(j.labels for j in results.judgments)
    sections = meta_sections(results) if labelled else []
    chosen = sorted(random.Random(seed).sample(range(len(results)), min(sample, len(results))))
    judgments = [results.judgments[i] for i in chosen]
    texts = _items_for(source, {j.item_id for j in judgments})
    env = environment()
    html = env.get_template("report.html").render(
        title=f"jurist report: {source.label}",
        label=source.label,
        mode=results.mode,
        judges=sorted({j.judge for j in results.judgments}),
        rubrics=sorted({j.rubric for j in results.judgments}),
        info={"n": len(results), "status": results.status_counts(), "summary": summary},
        sections=sections,
        labelled=labelled,
        samples=[(j, texts.get(j.item_id)) for j in judgments],
        sample_of=len(results),
        css=(HERE / "static" / "app.css").read_text(encoding="utf-8"),
        made=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    )
    path = Path(output)
    write_lines(path, [html])
    return path
