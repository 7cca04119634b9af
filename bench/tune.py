"""Judge profiles on SummEval: the default reading versus the tuned profile, held out.

The embedded judge grades SummEval summaries (groups = `doc_id`, all four criteria) under
each candidate reading (score-only ones first; every pass is cached, so a re-run is
free), then `jurist.tune` chooses by nested grouped cross-validation. Printed: every
candidate's outer-fold held-out agreement (within-document and pooled Spearman, MAE,
pairwise accuracy, 95% document-bootstrap intervals), the default's (rationale before,
rubric first, parsed score, no calibration) and the tuned procedure's, their paired
difference, and the conformal intervals' coverage of held-out labels, with the issue's
moonshot targets marked met / not met.

    python bench/tune.py --docs 8 --per-doc 4
    python bench/tune.py --docs 16 --readings none/rubric-first,none/item-first,before/rubric-first
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console

from jurist import CallPolicy, JudgeOptions, JudgeSetup
from jurist.core.data import Item
from jurist.datasets import load_preset
from jurist.tune import Reading, tune
from jurist.tune.tune import TuneReport

REPO = Path(__file__).resolve().parents[1]
RUBRIC = REPO / "src" / "jurist" / "presets" / "summeval.yaml"
DEFAULT_READINGS = "none/rubric-first,none/item-first,before/rubric-first"


def bench_items(docs: int, per_doc: int, chars: int) -> list[Item]:
    """`per_doc` summaries of each of the first `docs` documents, articles shortened."""
    taken: dict[str, int] = {}
    items = []
    for item in load_preset("summeval"):
        doc = item.metadata["doc_id"]
        if taken.get(doc, 0) >= per_doc or (doc not in taken and len(taken) == docs):
            continue
        taken[doc] = taken.get(doc, 0) + 1
        items.append(item.model_copy(update={"input": str(item.input)[:chars], "reference": None}))
    return items


def parse_readings(text: str) -> list[Reading]:
    found = []
    for part in text.split(","):
        rationale, layout, *rest = part.split("/")
        found.append(Reading(rationale, layout, int(rest[0].lstrip("x")) if rest else 1))  # type: ignore[arg-type]
    return found


def verdicts(report: TuneReport) -> list[str]:
    """The issue's moonshot targets, each met or not, with its interval."""
    diff, default, tuned = report.difference, report.default, report.tuned
    lines = [f"within-document Spearman, tuned - default: {diff.within.cell(True)} -> "
             + _met(diff.within.low is not None and diff.within.value >= 0.2 and diff.within.low > 0)]  # fmt: skip
    if default.mae.value and tuned.mae.value is not None:
        change = tuned.mae.value / default.mae.value - 1
        lines.append(f"MAE change {change:+.0%} (default {default.mae.cell()}, tuned "
                     f"{tuned.mae.cell()}; paired {diff.mae.cell(True)}) -> {_met(change <= -0.3)}")  # fmt: skip
    cover = report.coverage["mean"]
    lines.append(f"conformal 90% coverage {cover.cell()} -> "
                 + _met(cover.value is not None and 0.85 <= cover.value <= 0.95))  # fmt: skip
    return lines


def _met(ok: bool) -> str:
    return "met" if ok else "not met"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=8, help="SummEval documents (groups)")
    parser.add_argument("--per-doc", type=int, default=4, help="summaries per document")
    parser.add_argument("--chars", type=int, default=700, help="article characters kept")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--readings", default=DEFAULT_READINGS)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--store", default=str(REPO / ".bench-tune.sqlite"))
    args = parser.parse_args()
    items = bench_items(args.docs, args.per_doc, args.chars)
    setup = JudgeSetup(
        judge="local", options=JudgeOptions(max_tokens=args.max_tokens),
        calls=CallPolicy(concurrency=1, timeout=None),
    )  # fmt: skip
    started = time.perf_counter()
    tuned = tune(
        RUBRIC, items, setup, group_field="doc_id", candidates=parse_readings(args.readings),
        store=args.store, outer=args.folds, inner=max(2, args.folds - 1),
        on_reading=lambda r: print(f"grading {len(items)} items x 4 criteria under {r.name}",
                                   flush=True),
    )  # fmt: skip
    print(f"embedded judge, {len(items)} SummEval summaries of {args.docs} documents, "
          f"{time.perf_counter() - started:.0f} s")  # fmt: skip
    console = Console(width=160)
    for part in tuned.report.render():
        console.print(part)
    for criterion, figures in tuned.report.per_criterion.items():
        print(f"{criterion:<12} default within {figures['default'].within.cell()}  tuned "
              f"{figures['tuned'].within.cell()}  diff {figures['difference'].within.cell(True)}  "
              f"MAE {figures['default'].mae.cell()} -> {figures['tuned'].mae.cell()}")  # fmt: skip
    for line in verdicts(tuned.report):
        print(line)


if __name__ == "__main__":
    main()
