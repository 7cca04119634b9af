"""Self-rationalization on the embedded judge: does DPO on its own rationales make it agree
with people better than its base model, self-consistency, best-of-N and rationale SFT?

Tasks: SummEval (pointwise, expert mean scores; training and held-out documents disjoint,
split by `doc_id`) and Auto-J (pairwise human preferences with ties; split by scenario).
Each round: the current judge samples N judgments per training item, pairs are curated
against the labels, DPO (LoRA) trains the next judge, which grades the held-out items.
Printed per round and per baseline: Spearman, Kendall, MAE, exact agreement with 95% CIs,
parse errors, pairs, train loss, wall time, and paired bootstrap differences against the
base model on the same held-out items.

Default size (3,512 s = 59 minutes measured on 2 idle CPU cores: Auto-J 761 s, SummEval
2,751 s; DPO steps and sampling dominate):
  SummEval: 8 documents x 4 summaries (criterion coherence), half the documents held out
            (16 + 16 items), 4 samples per item at T 0.8, 2 rounds, articles cut to 700 chars;
  Auto-J:   12 pairs, one per scenario, half the scenarios held out (6 + 6), 4 samples,
            2 rounds, texts cut to 400 characters.
Larger runs: --docs, --per-doc, --pairs, --holdout; --base-model hf:FOLDER starts the loop
from another judge (e.g. an SFT warm start).
A tiny run to check the wiring (a few minutes):
    python bench/self_rationalization.py --docs 4 --per-doc 2 --pairs 0 --samples 2 \\
        --iterations 1 --baselines self-consistency
Everything is cached in --workdir: a run started again continues where it stopped.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from jurist.core.data import Item
from jurist.datasets import get_preset, load_preset
from jurist.train import DPOSettings, LoopSettings, SamplingSettings, TrainSettings, run_loop
from jurist.train.lora import model_target


def summeval_items(docs: int, per_doc: int, chars: int) -> list[Item]:
    taken: dict[str, int] = {}
    items: list[Item] = []
    for item in load_preset("summeval"):
        doc = item.metadata["doc_id"]
        if doc not in taken and len(taken) == docs:
            continue
        if taken.get(doc, 0) >= per_doc:
            continue
        taken[doc] = taken.get(doc, 0) + 1
        items.append(item.model_copy(update={"input": str(item.input)[:chars], "reference": None}))
    return items


def autoj_items(pairs: int, chars: int) -> list[Item]:
    """One labelled pair per scenario, scenarios in file order: the file is sorted by
    scenario, so its first pairs would all fall on one side of a split by scenario."""
    by_scenario: dict[str, Item] = {}
    for item in load_preset("autoj"):
        scenario = item.metadata.get("scenario")
        if item.labels.get("preference") is None or scenario in by_scenario:
            continue
        by_scenario[scenario] = item.model_copy(
            update={
                "input": str(item.input)[:chars],
                "response": (item.response or "")[:chars],
                "response_b": (item.response_b or "")[:chars],
            }
        )
        if len(by_scenario) == pairs:
            break
    return list(by_scenario.values())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=int, default=8, help="SummEval documents (0: skip)")
    parser.add_argument("--per-doc", type=int, default=4, help="summaries per document")
    parser.add_argument("--criterion", action="append", help="SummEval criteria (coherence)")
    parser.add_argument("--pairs", type=int, default=12, help="Auto-J pairs (0: skip)")
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--max-tokens", type=int, default=120)
    parser.add_argument("--chars", type=int, default=700, help="cut SummEval articles to this")
    parser.add_argument("--pair-chars", type=int, default=400, help="cut Auto-J texts to this")
    parser.add_argument("--holdout", type=float, default=0.5, help="share of groups held out")
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--beta", type=float, default=0.1)
    parser.add_argument("--epochs", type=float, default=2.0)
    parser.add_argument("--min-margin", type=float, default=1.0)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument(
        "--base-model",
        default="embedded",
        help="the judge round 0 starts from: embedded or hf:FOLDER (e.g. an SFT warm start)",
    )
    parser.add_argument(
        "--baselines", default="self-consistency,best-of-n,sft", help="comma-separated"
    )
    parser.add_argument("--workdir", type=Path, default=Path("bench-out/self_rationalization"))
    args = parser.parse_args()

    train = TrainSettings(
        learning_rate=args.lr, epochs=args.epochs, batch_size=2, max_length=768, seed=0
    )
    sampling = SamplingSettings(samples=args.samples).with_options(
        temperature=args.temperature, max_tokens=args.max_tokens, rationale_chars=200
    )
    baselines = tuple(b for b in args.baselines.split(",") if b)
    tasks = []
    if args.pairs:
        rubric = get_preset("autoj").load_rubric()
        items = autoj_items(args.pairs, args.pair_chars)
        tasks.append(("autoj", rubric, items, "pairwise", "scenario"))
    if args.docs:
        rubric = get_preset("summeval").load_rubric()
        wanted = set(args.criterion or ["coherence"])
        rubric = rubric.model_copy(
            update={"criteria": [c for c in rubric.criteria if c.id in wanted]}
        )
        items = summeval_items(args.docs, args.per_doc, args.chars)
        tasks.append(("summeval", rubric, items, "pointwise", "doc_id"))

    run_started = time.perf_counter()
    for name, rubric, items, mode, split_by in tasks:
        settings = LoopSettings(
            iterations=args.iterations,
            split_by=split_by,
            holdout=args.holdout,
            mode=mode,
            base_model=model_target(args.base_model),
            sampling=sampling,
            dpo=DPOSettings(beta=args.beta, train=train),
            min_margin=args.min_margin if mode == "pointwise" else 0.5,
            baselines=baselines,
            n_resamples=args.resamples,
        )
        print(
            f"== {name}: {len(items)} items, {mode}, split by {split_by}, "
            f"{args.samples} samples, {args.iterations} rounds, lr {args.lr}, "
            f"beta {args.beta}, epochs {args.epochs}",
            flush=True,
        )
        started = time.perf_counter()
        report = run_loop(
            rubric,
            items,
            args.workdir / name,
            settings,
            log=lambda line: print(f"  {line}", flush=True),
        )
        print(report.render())
        print(
            f"plot: {args.workdir / name / 'agreement_per_round.png'}; "
            f"{time.perf_counter() - started:.0f} s\n",
            flush=True,
        )
    print(f"all tasks: {time.perf_counter() - run_started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
