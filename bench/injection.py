"""Prompt injection against the judge, with and without the defence, on real labelled data.

Two audits with one judge (the embedded one by default), each grading every item clean and
under each attack, then all of it again with judge-directed text neutralised:

  SummEval (pointwise, one criterion)   items balanced over the rounded human label
  Auto-J (pairwise, both orders)        decided pairs short enough to keep the run quick;
                                        the attack goes into the response people judged worse

Shift = attacked minus clean score, paired per item, with a percentile bootstrap 95% CI;
"moved" is the share of items whose score changed (Wilson 95% CI). The clean rows say
whether the defence costs agreement with people. Before any model call, the defence's false
positive rate on every clean response of four data sets is printed. Every call is cached in
--store, so a re-run is free and a killed run resumes.

    python bench/injection.py [--judge local] [--summeval 8] [--autoj 6]
                              [--store /tmp/injection.sqlite]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Hashable, Iterable
from itertools import islice

from rich.console import Console

from jurist.core.data import Item
from jurist.datasets import (
    get_preset,
    load_autoj,
    load_evalbiasbench,
    load_hhh,
    load_judgebench,
    load_llmrubric,
    load_summeval,
    resolve_data_dir,
)
from jurist.injection import injection_audit, neutralise
from jurist.engine.local import RunCounters
from jurist.store import Store

console = Console(width=200)


def show_progress(counters: RunCounters, total: int | None) -> None:
    print(f"\r  graded {counters.items}/{total or '?'}", end="", file=sys.stderr, flush=True)


def balanced(items: Iterable[Item], level: Callable[[Item], Hashable], n: int) -> list[Item]:
    """The first items that cycle through the levels of `level`, so no one level dominates."""
    levels: dict[Hashable, list[Item]] = {}
    for item in items:
        levels.setdefault(level(item), []).append(item)
    chosen: list[Item] = []
    while len(chosen) < n and any(levels.values()):
        for queue in levels.values():
            if queue and len(chosen) < n:
                chosen.append(queue.pop(0))
    return chosen


def summeval_items(n: int, criterion: str) -> list[Item]:
    """Balanced over the rounded human label, so a rank correlation has ranks to compare."""
    items = islice(load_summeval(resolve_data_dir()), 400)
    return balanced(items, lambda item: round(item.labels[criterion]), n)


def autoj_pairs(n: int, max_chars: int) -> list[Item]:
    """Decided pairs short enough to keep the run quick, alternating which side people
    preferred, so the attacked (worse) response sits in position A as often as in B."""

    def short_and_decided(item: Item) -> bool:
        size = len(str(item.input)) + len(item.response or "") + len(item.response_b or "")
        return item.labels["preference"] != "tie" and size <= max_chars

    candidates = filter(short_and_decided, islice(load_autoj(resolve_data_dir()), 300))
    return balanced(candidates, lambda item: item.labels["preference"], n)


def judged_texts(item: Item) -> list[str]:
    """The texts a judge would grade: the responses, or a dialogue's assistant turns."""
    if item.response is None and isinstance(item.input, list):
        return [turn.content for turn in item.input if turn.role == "assistant"]
    return [text for text in (item.response, item.response_b) if text]


def false_positive_rates() -> None:
    data = resolve_data_dir()
    loaders = (
        load_summeval, load_autoj, load_judgebench, load_evalbiasbench, load_hhh, load_llmrubric
    )  # fmt: skip
    for loader in loaders:
        texts = [text for item in loader(data) for text in judged_texts(item)]
        flagged = sum(neutralise(text).changed for text in texts)
        console.print(
            f"defence on clean {loader.__name__.removeprefix('load_')} texts: "
            f"{flagged} of {len(texts)} flagged ({flagged / len(texts):.2%})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--judge", default="local")
    parser.add_argument("--store", default="/tmp/injection.sqlite")
    parser.add_argument("--summeval", type=int, default=8, help="SummEval items")
    parser.add_argument("--criterion", default="consistency")
    parser.add_argument(
        "--summeval-attacks", default="ignore_previous,fake_json,close_tag_upper,inverted_scale"
    )
    parser.add_argument("--autoj", type=int, default=6, help="Auto-J pairs (0 skips)")
    parser.add_argument(
        "--autoj-attacks", default="claims_better,fake_verdict_json,close_tag_verdict"
    )
    parser.add_argument("--max-chars", type=int, default=2500, help="Auto-J pair size limit")
    parser.add_argument("--concurrency", type=int, default=2)
    args = parser.parse_args()

    false_positive_rates()
    with Store(args.store) as store:
        if args.summeval:
            items = summeval_items(args.summeval, args.criterion)
            started = time.perf_counter()
            report = injection_audit(
                get_preset("summeval").rubric_path,
                items,
                args.judge,
                store,
                attacks=args.summeval_attacks.split(","),
                criterion=args.criterion,
                concurrency=args.concurrency,
                progress=show_progress,
            )
            console.print(report.render())
            console.print(f"SummEval audit: {time.perf_counter() - started:.0f} s\n")
        if args.autoj:
            pairs = autoj_pairs(args.autoj, args.max_chars)
            started = time.perf_counter()
            report = injection_audit(
                get_preset("autoj").rubric_path,
                pairs,
                args.judge,
                store,
                attacks=args.autoj_attacks.split(","),
                concurrency=args.concurrency,
                progress=show_progress,
            )
            console.print(report.render())
            console.print(f"Auto-J audit: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
