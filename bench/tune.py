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

`--builtin` fits the embedded judge's built-in profile instead (see `builtin`), writing
src/jurist/tune/profiles/local.yaml:

    python bench/tune.py --builtin --docs 12 --per-doc 4
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import time
from pathlib import Path

import numpy as np
from rich.console import Console

from jurist import CallPolicy, JudgeOptions, JudgeSetup
from jurist.core.data import Item
from jurist.core.rubric import Rubric, load_rubric
from jurist.datasets import SUMMEVAL_CRITERIA, load_preset
from jurist.session import JudgeSession
from jurist.stats.results import Figure
from jurist.tune import (
    Agreement,
    CriterionProfile,
    Reading,
    Resamples,
    Sample,
    agreement_reps,
    coverage_of,
    fit_general,
    summarise,
    tune,
)
from jurist.tune.candidates import CalibrationKind, Cost, Estimator
from jurist.tune.profile import READING_KEYS
from jurist.tune.tune import TuneReport, grade_readings, labelled_sample

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


# --- the built-in profile ---------------------------------------------------------------


def split_items(docs: int, per_doc: int, chars: int) -> tuple[list[Item], list[Item]]:
    """Training and evaluation items: each document goes to one side by a hash of its id
    (stable, chosen before any score is seen), `docs` documents a side."""
    sides: tuple[list[Item], list[Item]] = ([], [])
    taken: tuple[dict[str, int], dict[str, int]] = ({}, {})
    for item in load_preset("summeval"):
        doc = str(item.metadata["doc_id"])
        side = int(hashlib.sha256(doc.encode()).hexdigest(), 16) % 2
        count = taken[side]
        if count.get(doc, 0) >= per_doc or (doc not in count and len(count) == docs):
            continue
        count[doc] = count.get(doc, 0) + 1
        sides[side].append(
            item.model_copy(update={"input": str(item.input)[:chars], "reference": None})
        )
    return sides


def scored(
    rubric: Rubric, items: list[Item], setup: JudgeSetup, reading: Reading, store: str
) -> Sample:
    """`items` graded under `reading` (cached), as arrays."""
    fields = {c: c for c in SUMMEVAL_CRITERIA}
    session = JudgeSession(rubric, setup, store=store)

    async def run() -> tuple[dict[str, list], dict[str, Cost]]:
        try:
            return await grade_readings(session, items, [reading])
        finally:
            await session.aclose()

    judged, costs = asyncio.run(run())
    return labelled_sample(rubric, items, judged, fields, "doc_id", costs)


def evaluate(
    predicted: dict[str, np.ndarray],
    radius: dict[str, float],
    held: Sample,
    baseline: dict[str, np.ndarray] | None = None,
) -> tuple[dict[str, Agreement], Figure]:
    """Held-out figures of calibrated scores on the evaluation documents (minus the
    `baseline` scores' on the same document resamples: paired differences), and the share
    of labels inside their intervals."""
    rs = Resamples.of(held.groups, held.n, 1000, 0)
    reps = agreement_reps(predicted, held.labels, rs)
    if baseline is not None:
        base = agreement_reps(baseline, held.labels, rs)
        return {c: summarise(r, base[c]) for c, r in reps.items()}, Figure()
    lows, highs, labels = [], [], []
    for c, values in predicted.items():
        low, high = held.bounds[c]
        lows.append(np.maximum(values - radius[c], low))
        highs.append(np.minimum(values + radius[c], high))
        labels.append(held.labels[c])
    cover = coverage_of(np.concatenate(lows), np.concatenate(highs), np.concatenate(labels))
    return {c: summarise(r) for c, r in reps.items()}, cover


def general_maps(
    train: Sample, held: Sample, reading: str, estimator: Estimator, kind: CalibrationKind
) -> tuple[CriterionProfile, dict[str, np.ndarray], dict[str, float]]:
    """The pooled map on every criterion, and each criterion's evaluation scores from a map
    fitted without it (what a criterion the profile never saw can expect)."""
    criteria = train.criteria

    def fit(chosen: list[str]) -> CriterionProfile:
        return fit_general(
            {c: train.raw[reading][c][estimator] for c in chosen},
            {c: train.labels[c] for c in chosen}, {c: train.bounds[c] for c in chosen},
            train.groups, estimator=estimator, kind=kind,
        )  # fmt: skip

    predicted, radius = {}, {}
    for c in criteria:
        low, high = held.bounds[c]
        left_out = fit([o for o in criteria if o != c]).rescaled(low, high, [])
        mapped = left_out.calibration_map().apply(held.raw[reading][c][estimator])
        predicted[c] = np.clip(mapped, low, high)
        radius[c] = left_out.interval_map().radius
    return fit(criteria), predicted, radius


def fit_builtin(args: argparse.Namespace, setup: JudgeSetup) -> None:
    """Choose the reading and fit the maps by nested CV on training documents, then
    measure the profile (and its general map, criterion left out) on the others."""
    rubric = load_rubric(RUBRIC)
    train_items, held_items = split_items(args.docs, args.per_doc, args.chars)
    tuned = tune(
        rubric, train_items, setup, group_field="doc_id", candidates=parse_readings(args.readings),
        store=args.store, outer=args.folds, inner=max(2, args.folds - 1),
        on_reading=lambda r: print(f"training: {len(train_items)} items under {r.name}", flush=True),
    )  # fmt: skip
    for part in tuned.report.render():
        Console(width=160).print(part)
    profile = tuned.profile
    reading = Reading(profile.options["rationale"], profile.options["layout"], profile.samples)
    print(f"evaluation: {len(held_items)} items under {reading.name}", flush=True)
    held = scored(rubric, held_items, setup, reading, args.store)
    train = scored(rubric, train_items, setup, reading, args.store)
    parts = profile.criteria
    predicted = {c: part.calibration_map().apply(held.raw[reading.name][c][part.estimator])
                 for c, part in parts.items()}  # fmt: skip
    figures, cover = evaluate(
        predicted, {c: p.interval_map().radius for c, p in parts.items()}, held
    )
    raw = {c: held.raw[reading.name][c]["parsed"] for c in parts}
    raw_figures, _ = evaluate(raw, dict.fromkeys(parts, 0.0), held)
    paired, _ = evaluate(predicted, {}, held, baseline=raw)
    # The general map serves rubrics whose prompts move the judge's expected scores away
    # from SummEval's: it reads the expected score (the parsed one is nearly constant) and
    # is linear, so scores outside the fitted range keep their order instead of tying.
    est, kind = "expected", "linear"
    general, loco, loco_radius = general_maps(train, held, reading.name, est, kind)
    general_figures, general_cover = evaluate(loco, loco_radius, held)
    general = general.model_copy(update={"heldout": general_figures["mean"]})
    criteria = {c: p.model_copy(update={"heldout": figures[c]}) for c, p in parts.items()}
    split = (
        f"SummEval: fitted on {len(train_items)} summaries of {args.docs} training documents "
        f"(nested grouped CV chose each criterion's estimator and map; the general map: "
        f"{est} {kind}); figures on "
        f"{len(held_items)} summaries of {args.docs} other documents; general map's figures "
        f"with each criterion left out of its fit; general coverage {general_cover.cell()}"
    )
    provenance = profile.provenance.model_copy(update={
        "split": split, "heldout": figures["mean"], "default_heldout": raw_figures["mean"],
        "coverage": cover,
    })  # fmt: skip
    builtin = profile.model_copy(update={
        "options": {k: v for k, v in profile.options.items() if k in READING_KEYS},
        "scope": "any", "criteria": criteria, "general": general, "provenance": provenance,
    })  # fmt: skip
    target = REPO / "src" / "jurist" / "tune" / "profiles" / "local.yaml"
    target.parent.mkdir(exist_ok=True)
    builtin.save(target)
    for c, figure in figures.items():
        print(f"{c:<12} evaluation: builtin {figure.within.cell()} within, MAE {figure.mae.cell()}"
              f"; raw parsed within {raw_figures[c].within.cell()}, MAE {raw_figures[c].mae.cell()}")  # fmt: skip
    print(f"builtin - raw parsed (paired): within {paired['mean'].within.cell(True)}, MAE "
          f"{paired['mean'].mae.cell(True)}")  # fmt: skip
    print(f"coverage {cover.cell()}; general (criterion left out): within "
          f"{general_figures['mean'].within.cell()}, MAE {general_figures['mean'].mae.cell()}, "
          f"coverage {general_cover.cell()}")  # fmt: skip
    print(f"saved {target} ({target.stat().st_size} bytes)")


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
    parser.add_argument("--builtin", action="store_true", help="fit the built-in profile")
    args = parser.parse_args()
    setup = JudgeSetup(
        judge="local", options=JudgeOptions(max_tokens=args.max_tokens),
        calls=CallPolicy(concurrency=1, timeout=None),
    )  # fmt: skip
    if args.builtin:
        fit_builtin(args, setup)
        return
    items = bench_items(args.docs, args.per_doc, args.chars)
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
