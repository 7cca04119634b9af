"""Do generated or refined rubrics help a judge agree with people? Side by side, one judge.

On a held-out slice of human-labelled pairs (Auto-J and HHH by default), pairwise accuracy
with a bootstrap 95% CI for three rubrics, all judged the same way (each response graded
alone under the rubric, the higher score wins):

  generic    one Likert criterion whose question is one line
  generated  a rubric written by the judge for each pair's prompt (from the prompt only)
  refined    the generic rubric refined on a separate train slice of the same data set
             (flat criteria split, misaligned / redundant ones dropped, re-weighted)

Pairs labelled a tie are not sampled; a judge tie on a decided pair counts as wrong. A
pair whose rubric could not be written has no verdict: it is left out of that row and
counted, and the paired difference against generic uses only the pairs both rows judged.
Every call is cached in --store, so a re-run is free and a killed run resumes.

    python bench/rubrics.py [--judge local] [--n 20] [--train 8] [--seed 0]
                            [--store PATH] [--datasets autoj,hhh] [--max-chars 1200]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from pathlib import Path

import numpy as np

from jurist.backends import CallPolicy, RetryPolicy
from jurist.core.data import Item
from jurist.core.rubric import Criterion, Rubric
from jurist.datasets import load_preset
from jurist.judges import JudgeOptions
from jurist.rubrics.contrastive import preference_label
from jurist.rubrics.generate import generate_instance_rubric
from jurist.rubrics.pipeline import PairScores
from jurist.rubrics.refine import pair_sides, refine_rubric
from jurist.rubrics.session import JudgeSettings, open_pipeline
from jurist.session import JudgeSetup
from jurist.stats.agreement import pairwise_accuracy
from jurist.stats.compare import paired_difference
from jurist.store import default_store_path

GENERIC = Rubric(
    name="generic",
    description="How well a response answers the user's request.",
    criteria=[
        Criterion(
            id="quality",
            question="How well does the response answer the user's request?",
            scale={
                1: "It fails the request: wrong, off topic, or harmful.",
                2: "It mostly fails: major errors or omissions.",
                3: "It partly answers, with clear gaps or errors.",
                4: "It answers well, with minor gaps.",
                5: "It answers fully, correctly and safely.",
            },
        )
    ],
)


def sample(name: str, n: int, train: int, max_chars: int, seed: int, data_dir: str | None):
    """Held-out and train pairs: decided labels, two non-empty responses, short enough."""
    usable = [
        item
        for item in load_preset(name, data_dir)
        if preference_label(item) in ("A", "B")
        and (item.response or "").strip()
        and (item.response_b or "").strip()
        and len(str(item.input)) + len(item.response or "") + len(item.response_b or "")
        <= max_chars
    ]
    random.Random(f"{name}:{seed}").shuffle(usable)
    return usable[:n], usable[n : n + train], len(usable)


async def generated_rubrics(pipeline, pairs, args) -> tuple[list[Rubric | None], dict[str, int]]:
    rubrics: list[Rubric | None] = []
    counts: dict[str, int] = {}
    for pair in pairs:
        prompt_only = pair.model_copy(update={"response": None, "response_b": None})
        result = await generate_instance_rubric(
            prompt_only,
            pipeline.backend,
            style=args.style,
            max_parts=args.max_parts,
            tries=args.tries,
            temperature=0.7,
            seed=args.seed,
            max_tokens=args.gen_tokens,
        )
        counts[result.status] = counts.get(result.status, 0) + 1
        rubrics.append(result.rubric if result.ok else None)
    return rubrics, counts


async def refined_rubric(pipeline, train: list[Item], args, embed):
    sides = [side for pair in train for side in pair_sides(pair)]
    return await refine_rubric(
        GENERIC,
        sides,
        pipeline.backend,
        pipeline.grade,
        depth=1,
        samples=2,
        seed=args.seed,
        pairs=train,
        min_pairs=args.min_pairs,
        embed=embed,
    )


def row(data: str, name: str, scores: PairScores, note: str = "") -> str:
    acc = scores.accuracy
    counts = scores.counts()
    interval = f"{acc.value:.3f} [{acc.low:.3f}, {acc.high:.3f}]" if acc.n else "   -  (no pairs)"
    return (
        f"{data:<7}{name:<11}{interval:<24}{acc.n:>4}{acc.n_excluded:>6}"
        f"{counts['judge_ties']:>6}  {note}"
    )


def difference(data: str, name: str, scores: PairScores, generic: PairScores) -> str:
    diff = paired_difference(scores.correct, generic.correct, name_x=name, name_y="generic")
    if diff.n < 2:
        return f"{data:<7}{name} - generic: n={diff.n} shared pairs, no interval"
    return (
        f"{data:<7}{name} - generic = {diff.value:+.3f} [{diff.low:+.3f}, {diff.high:+.3f}] "
        f"on {diff.n} shared pairs (paired t, p={diff.p_value:.2g})"
    )


async def main_async(args) -> None:
    setup = JudgeSetup(
        judge=args.judge,
        mode=args.mode,
        options=JudgeOptions(
            joint=True, max_tokens=args.max_tokens, rationale_chars=args.rationale_chars
        ),
        calls=CallPolicy(
            concurrency=args.concurrency, timeout=args.timeout, retry=RetryPolicy(max_attempts=3)
        ),
        logprobs=args.logprobs,
    )
    embed = None
    from jurist.rubrics import embeddings

    if embeddings.available():
        embed = embeddings.embed
    started = time.perf_counter()
    lines: list[str] = []
    diffs: list[str] = []
    notes: list[str] = []
    pooled: dict[str, list[PairScores]] = {"generic": [], "generated": [], "refined": []}
    async with open_pipeline(JudgeSettings(setup, store=args.store)) as pipeline:
        backend = pipeline.session.raw_backend
        for name in args.datasets.split(","):
            held_out, train, available = sample(
                name, args.n, args.train, args.max_chars, args.seed, args.data_dir
            )
            generic = await pipeline.score_pairs(GENERIC, held_out, seed=args.seed)
            rubrics, statuses = await generated_rubrics(pipeline, held_out, args)
            generated = await pipeline.score_pairs(rubrics, held_out, seed=args.seed)
            refined, report = await refined_rubric(pipeline, train, args, embed)
            refined_scores = await pipeline.score_pairs(refined, held_out, seed=args.seed)
            written = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
            parts = [c.id for c in refined.criteria]
            lines += [
                row(name, "generic", generic),
                row(name, "generated", generated, f"rubrics: {written}"),
                row(name, "refined", refined_scores, f"criteria: {', '.join(parts)}"),
            ]
            diffs += [
                difference(name, "generated", generated, generic),
                difference(name, "refined", refined_scores, generic),
            ]
            notes.append(
                f"{name}: {len(held_out)} held-out + {len(train)} train pairs drawn from "
                f"{available} eligible; refinement: " + ("; ".join(report.lines()) or "no changes")
            )
            pooled["generic"].append(generic)
            pooled["generated"].append(generated)
            pooled["refined"].append(refined_scores)
    for condition, parts in pooled.items():
        verdicts = [v for scores in parts for v in scores.verdicts]
        labels = [lab for scores in parts for lab in scores.labels]
        acc = pairwise_accuracy(verdicts, labels, n_resamples=2000, seed=args.seed)
        combined = PairScores(
            ids=[i for scores in parts for i in scores.ids],
            verdicts=verdicts,
            labels=labels,
            accuracy=acc,
        )
        lines.append(row("all", condition, combined))
    generic_all = np.concatenate([s.correct for s in pooled["generic"]])
    for condition in ("generated", "refined"):
        correct = np.concatenate([s.correct for s in pooled[condition]])
        diff = paired_difference(correct, generic_all, name_x=condition, name_y="generic")
        diffs.append(
            f"{'all':<7}{condition} - generic = {diff.value:+.3f} "
            f"[{diff.low:+.3f}, {diff.high:+.3f}] on {diff.n} shared pairs "
            f"(paired t, p={diff.p_value:.2g})"
        )
    elapsed = time.perf_counter() - started
    print(
        f"judge {args.judge} ({backend.name}:{backend.model}), each response graded alone "
        f"(mode {args.mode}, joint, {'expected scores' if setup.reads_logprobs else 'integer scores'}); "
        f"generated style {args.style}, seed {args.seed}"
    )
    print(f"{'data':<7}{'rubric':<11}{'accuracy [95% CI]':<24}{'n':>4}{'excl':>6}{'ties':>6}")
    for line in lines:
        print(line)
    print("paired differences (accuracy, same pairs):")
    for line in diffs:
        print(f"  {line}")
    for note in notes:
        print(f"  {note}")
    print(
        f"model calls {pipeline.usage.calls}, cache hits {pipeline.usage.cache_hits}, "
        f"wall {elapsed:.0f}s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", default="local", help="local | openai:MODEL | openai:URL#M")
    parser.add_argument("--n", type=int, default=20, help="held-out pairs per data set")
    parser.add_argument("--train", type=int, default=8, help="train pairs for refinement")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--store",
        type=Path,
        default=default_store_path().with_name("bench-rubrics.sqlite"),
        help="SQLite cache; a re-run makes no model calls",
    )
    parser.add_argument("--datasets", default="autoj,hhh")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument(
        "--max-chars", type=int, default=1200, help="longest pair (input + both responses)"
    )
    parser.add_argument("--mode", choices=("pointwise", "pairwise"), default="pointwise")
    parser.add_argument("--style", choices=("likert", "checklist"), default="checklist")
    parser.add_argument("--max-parts", type=int, default=3)
    parser.add_argument("--tries", type=int, default=2)
    parser.add_argument("--gen-tokens", type=int, default=400, help="token budget per rubric")
    parser.add_argument("--max-tokens", type=int, default=96, help="token budget per grade")
    parser.add_argument("--rationale-chars", type=int, default=120)
    parser.add_argument(
        "--min-pairs", type=int, default=6, help="decided train pairs to judge alignment"
    )
    parser.add_argument("--logprobs", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=600.0)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
