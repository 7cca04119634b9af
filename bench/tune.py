"""Judge profiles on SummEval and LLM-Rubric: the default reading versus the tuned profile,
held out.

The embedded judge grades each set under every candidate reading (score-only ones first;
every pass is cached in a sqlite store, so a re-run is free), then `jurist.tune` chooses
by nested grouped cross-validation. Printed per set: every candidate's outer-fold held-out
agreement (within-group and pooled Spearman, MAE, pairwise accuracy, 95% group-bootstrap
intervals), the raw judge's parsed score (under rationale-first when `--readings` holds
before/rubric-first, else under the first reading), the tuned procedure's and their paired
difference, the built-in profile's on the same items (what `--judge local` uses now), and
the conformal intervals' coverage of held-out labels, with the targets
(within-group Spearman +0.2 with the paired interval above 0, MAE -30%, 90% intervals
covering 0.85-0.95) marked met / not met.

SummEval: summaries of the built-in profile's evaluation documents only (a hash of
`doc_id` put the others in its fit), groups = `doc_id`, every criterion. LLM-Rubric: whole
dialogues, one per user topic (a topic talked through with several systems is one
request: it never sits on both sides of a split), drawn in turn from the three dialogue
systems, conversation and search results shortened so the 270M judge can read them; each
dialogue's label is the mean of its annotators' answers ("not applicable" left out), and
each dialogue is its own group, so Spearman is pooled.

    python bench/tune.py                                   # both sets, the defaults below
    python bench/tune.py --set summeval --docs 12 --per-doc 4          # 48 summaries
    python bench/tune.py --set llmrubric --dialogues 40              # Q0 Q2 Q6 Q7
    python bench/tune.py --set llmrubric --questions Q0,Q1,Q2,Q3,Q4,Q5,Q6,Q7,Q8
    python bench/tune.py --readings none/rubric-first,none/item-first,before/rubric-first

Rationale-first grading writes up to `--max-tokens` tokens a call where a score-only
reading writes one: on 2 busy cores it is left out unless asked for.

`--builtin` fits the embedded judge's built-in profile instead (see `builtin`), writing
src/jurist/tune/profiles/local.yaml:

    python bench/tune.py --builtin --docs 8 --per-doc 4 --readings none/rubric-first
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import time
from pathlib import Path

import numpy as np
from rich.console import Console

from jurist import CallPolicy, JudgeOptions, JudgeSetup
from jurist.core.data import Item, Message
from jurist.core.rubric import Rubric, load_rubric
from jurist.datasets import load_preset
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
    read_profile,
    summarise,
    tune,
)
from jurist.tune.agreement import MEAN
from jurist.tune.candidates import CalibrationKind, Cost, Estimator
from jurist.tune.profile import READING_KEYS
from jurist.tune.tune import TuneReport, grade_readings, labelled_sample

REPO = Path(__file__).resolve().parents[1]
RUBRIC = REPO / "src" / "jurist" / "presets" / "summeval.yaml"
LLMRUBRIC = REPO / "src" / "jurist" / "presets" / "llmrubric.yaml"
DEFAULT_READINGS = "none/rubric-first,none/item-first"
# The questions asked of every dialogue: the citation ones (Q1, Q3-Q5) are "not applicable"
# to the system without sources, and Q8 (length) carries no weight.
QUESTIONS = "Q0,Q2,Q6,Q7"


def bench_items(docs: int, per_doc: int, chars: int) -> list[Item]:
    """`per_doc` summaries of each of `docs` documents, articles shortened: the built-in
    profile's evaluation documents only (it was fitted on the others)."""
    return split_items(docs, per_doc, chars)[1]


def parse_readings(text: str) -> list[Reading]:
    found = []
    for part in text.split(","):
        rationale, layout, *rest = part.split("/")
        found.append(Reading(rationale, layout, int(rest[0].lstrip("x")) if rest else 1))  # type: ignore[arg-type]
    return found


def verdicts(report: TuneReport) -> list[str]:
    """The targets, each met or not, with its interval: Spearman within group where there
    are groups, else pooled."""
    diff, default, tuned = report.difference, report.default, report.tuned
    metric = "within" if report.group_field else "pooled"
    gain, note = getattr(diff, metric), ""
    if gain.value is None and getattr(default, metric).value is None:
        # A constant default orders nothing (rho 0 on every resample, as within groups).
        gain, note = getattr(tuned, metric), " (the default's score is constant: rho 0)"
    lines = [f"{metric} Spearman, tuned - default{note}: {gain.cell(True)} -> "
             + _met(gain.low is not None and gain.value >= 0.2 and gain.low > 0)]  # fmt: skip
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


# --- LLM-Rubric -------------------------------------------------------------------------


def shorten(messages: list[Message], chars: int) -> list[Message]:
    """The conversation's opening turns, `chars` characters in all (the last one cut)."""
    kept: list[Message] = []
    left = chars
    for message in messages:
        if left <= 0:
            break
        kept.append(message.model_copy(update={"content": message.content[:left]}))
        left -= len(message.content)
    return kept


def mean_label(values: object) -> float | None:
    """One label per dialogue: the mean of its annotators' answers ("not applicable",
    None, left out), so a dialogue is one item and can sit on one side of a split only."""
    listed = values if isinstance(values, list) else [values]
    found = [float(v) for v in listed if v is not None]
    return sum(found) / len(found) if found else None


def dialogue_items(
    count: int, chars: int, reference_chars: int, questions: list[str]
) -> list[Item]:
    """`count` dialogues, one per user topic, taken in turn from each dialogue system."""
    by_system: dict[int, list[Item]] = {}
    topics: set[str] = set()
    for item in load_preset("llmrubric"):
        topic = str(item.metadata.get("topic", item.id)).strip().lower()
        if topic in topics:
            continue
        topics.add(topic)
        by_system.setdefault(int(item.metadata["dialogue_system"]), []).append(item)
    queues = [by_system[k] for k in sorted(by_system)]
    picked = [q[i] for i in range(max(map(len, queues))) for q in queues if i < len(q)]
    return [
        item.model_copy(
            update={
                "input": shorten(list(item.input), chars),  # type: ignore[arg-type]
                "reference": str(item.reference)[:reference_chars] if item.reference else None,
                "labels": {q: mean_label(item.labels.get(q)) for q in questions},
            }
        )
        for item in picked[:count]
    ]


def sub_rubric(path: Path, ids: list[str]) -> Rubric:
    """The rubric with only the criteria `ids` (the judge is asked nothing else)."""
    data = load_rubric(path).model_dump()
    data["criteria"] = [c for c in data["criteria"] if c["id"] in ids]
    return Rubric.model_validate(data)


# --- one set: tune, the built-in profile beside it, the targets --------------------------


def sample_of(
    rubric: Rubric, items: list[Item], setup: JudgeSetup, chosen: list[Reading],
    store: str, group_field: str | None,
) -> Sample:  # fmt: skip
    """`items` graded under `chosen` (all cached by now), as arrays."""
    fields = {c.id: c.id for c in rubric.criteria}
    session = JudgeSession(rubric, setup, store=store)

    async def run() -> tuple[dict[str, list], dict[str, Cost]]:
        try:
            return await grade_readings(session, items, chosen)
        finally:
            await session.aclose()

    judged, costs = asyncio.run(run())
    return labelled_sample(rubric, items, judged, fields, group_field, costs)


def builtin_lines(rubric: Rubric, sample: Sample, report: TuneReport) -> list[str]:
    """The built-in profile (today's default for `--judge local`, never fitted on these
    items) on the same items and group resamples as the report: its figures, its paired
    difference from the raw default, and its intervals' coverage."""
    profile = read_profile("builtin:local").for_rubric(rubric)
    options = profile.options
    reading = Reading(options["rationale"], options["layout"], profile.samples).name
    if reading not in sample.raw:
        return [f"built-in profile: its reading {reading} was not graded"]
    predicted, lows, highs = {}, [], []
    for c in sample.criteria:
        part = profile.criteria[c]
        low, high = part.bounds or sample.bounds[c]
        values = part.calibration_map().apply(sample.raw[reading][c][part.estimator])
        predicted[c] = np.clip(values, low, high)
        below, above = part.interval_map().interval(predicted[c])
        lows.append(below)
        highs.append(above)
    labels = sample.labels
    cover = coverage_of(
        np.concatenate(lows), np.concatenate(highs), np.concatenate(list(labels.values()))
    )
    rs = Resamples.of(sample.groups, sample.n, 1000, 0)
    reps = agreement_reps(predicted, labels, rs)[MEAN]
    base = agreement_reps(
        {c: sample.raw[report.default_name][c]["parsed"] for c in labels}, labels, rs
    )[MEAN]
    mine, diff = summarise(reps), summarise(reps, base)
    return [
        f"built-in profile ({reading} expected, its maps): within {mine.within.cell()}, pooled "
        f"{mine.pooled.cell()}, MAE {mine.mae.cell()}, coverage {cover.cell()}",
        f"built-in - default (paired): within {diff.within.cell(True)}, pooled "
        f"{diff.pooled.cell(True)}, MAE {diff.mae.cell(True)}",
    ]


def run_set(
    name: str, rubric: Rubric, items: list[Item], setup: JudgeSetup,
    args: argparse.Namespace, group_field: str | None,
) -> None:  # fmt: skip
    """Tune on `items`, print the report, the built-in profile's figures and the targets."""
    chosen = parse_readings(args.readings)
    criteria = [c.id for c in rubric.criteria]
    started = time.perf_counter()
    tuned = tune(
        rubric, items, setup, label_fields={c: c for c in criteria}, group_field=group_field,
        candidates=chosen, store=args.store, outer=args.folds, inner=max(2, args.folds - 1),
        on_reading=lambda r: print(f"{name}: grading {len(items)} items x {len(criteria)} "
                                   f"criteria under {r.name}", flush=True),
    )  # fmt: skip
    print(f"{name}: embedded judge, {len(items)} items, {time.perf_counter() - started:.0f} s")
    console = Console(width=160)
    for part in tuned.report.render():
        console.print(part)
    for criterion, figures in tuned.report.per_criterion.items():
        print(f"{criterion:<12} default within {figures['default'].within.cell()} pooled "
              f"{figures['default'].pooled.cell()}  tuned within {figures['tuned'].within.cell()} "
              f"pooled {figures['tuned'].pooled.cell()}  diff within "
              f"{figures['difference'].within.cell(True)} pooled "
              f"{figures['difference'].pooled.cell(True)}  MAE {figures['default'].mae.cell()} "
              f"-> {figures['tuned'].mae.cell()}")  # fmt: skip
    sample = sample_of(rubric, items, setup, chosen, args.store, group_field)
    for line in [*builtin_lines(rubric, sample, tuned.report), *verdicts(tuned.report)]:
        print(f"{name}: {line}")


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
    return sample_of(rubric, items, setup, [reading], store, "doc_id")


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
    parser.add_argument("--set", choices=("summeval", "llmrubric", "both"), default="both")
    parser.add_argument("--docs", type=int, default=12, help="SummEval documents (groups)")
    parser.add_argument("--per-doc", type=int, default=4, help="summaries per document")
    parser.add_argument("--chars", type=int, default=700, help="article characters kept")
    parser.add_argument("--dialogues", type=int, default=40, help="LLM-Rubric dialogues")
    parser.add_argument("--dialogue-chars", type=int, default=1200,
                        help="conversation characters kept (opening turns)")  # fmt: skip
    parser.add_argument("--source-chars", type=int, default=400,
                        help="search-result characters kept")  # fmt: skip
    parser.add_argument("--questions", default=QUESTIONS, help="LLM-Rubric criteria")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--readings", default=DEFAULT_READINGS)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--store", default=str(REPO / ".bench-tune.sqlite"))
    parser.add_argument("--builtin", action="store_true", help="fit the built-in profile")
    args = parser.parse_args()
    # llama.cpp's OpenMP threads spin while they wait; on cores shared with other work a
    # spinning thread takes the time the working one needs (4-5x slower at load 12).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    setup = JudgeSetup(
        judge="local", options=JudgeOptions(max_tokens=args.max_tokens),
        calls=CallPolicy(concurrency=1, timeout=None),
    )  # fmt: skip
    if args.builtin:
        fit_builtin(args, setup)
        return
    if args.set in ("summeval", "both"):
        items = bench_items(args.docs, args.per_doc, args.chars)
        run_set("SummEval", load_rubric(RUBRIC), items, setup, args, "doc_id")
    if args.set in ("llmrubric", "both"):
        questions = args.questions.split(",")
        dialogues = dialogue_items(
            args.dialogues, args.dialogue_chars, args.source_chars, questions
        )
        run_set("LLM-Rubric", sub_rubric(LLMRUBRIC, questions), dialogues, setup, args, None)


if __name__ == "__main__":
    main()
