"""Best-of-4 with the embedded judge: listwise ranking vs a Swiss pairwise tournament.

Sets are built from the shared human preference data (HHH alignment and Auto-J pairs): the
preferred response is one that no human comparison ranked below another and that beat at
least one rival, directly or through a chain of preferences; the other three are responses
to the same prompt it beat, topped up with responses written for other prompts of the same
category when the prompt has fewer than three (each set says how many rivals are on-topic).
Positions are shuffled, so the best response is not in a fixed slot.

Per set the judge ranks the four responses in K shuffled orders (pooled by Borda count and
by Bradley-Terry from the same answers; the first order alone is the un-debiased baseline),
and plays a Swiss tournament of pairwise matches (each match judged in both orders). The
bench prints top-1 accuracy with 95% Wilson intervals (a tied top earns 1/m), Kendall's tau
against the human two-level order (best vs the rest), the slot bias of the listwise answers,
and the model requests per set of each method. Every call goes through the one cached stack,
so a re-run costs nothing; requests per set count cache hits too.

Default size: 40 sets (20 HHH, 20 Auto-J), 4 orders, responses cut to 600 characters.

    python bench/listwise.py --sets 40
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from jurist import JudgeSession, JudgeSetup
from jurist.core.data import Item
from jurist.core.judgment import ListwiseJudgment
from jurist.judges import ListwiseOptions
from jurist.ranking import aggregate_rankings, session_tournament
from jurist.stats.ranking import mean_kendall_tau, slot_bias, top1_accuracy

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
RUBRIC = REPO / "src" / "jurist" / "presets" / "pairwise_general.yaml"
SET_SIZE = 4


def _hhh_pairs(path: Path) -> list[tuple[str, str, str, str]]:
    """(category, prompt, preferred, rejected) from the Prometheus-style HHH records."""

    def split(text: str) -> tuple[str, str]:
        body = text.split("###The instruction to evaluate:")[1]
        prompt, rest = body.split("###Response to evaluate:")
        return prompt.strip(), rest.split("###Score Rubrics:")[0].strip()

    pairs = []
    for record in json.loads(path.read_text()):
        prompt, chosen = split(record["chosen_instruction"])
        _, rejected = split(record["rejected_instruction"])
        pairs.append((record["source"], prompt, chosen, rejected))
    return pairs


def _autoj_pairs(path: Path) -> list[tuple[str, str, str, str]]:
    pairs = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record["label"] == 2:  # a tie names no preferred response
            continue
        first, second = record["response 1"], record["response 2"]
        chosen, rejected = (first, second) if record["label"] == 0 else (second, first)
        pairs.append((record["scenario"], record["prompt"], chosen, rejected))
    return pairs


def best_of_sets(
    pairs: list[tuple[str, str, str, str]], source: str, limit: int, rng: np.random.Generator
) -> list[tuple[Item, int]]:
    """Sets of four with the human best, and how many rivals answer the same prompt."""
    beats: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    losers: dict[str, set[str]] = defaultdict(set)
    category: dict[str, str] = {}
    for cat, prompt, chosen, rejected in pairs:
        beats[prompt][chosen].add(rejected)
        losers[prompt].add(rejected)
        category[prompt] = cat
    pool: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for cat, prompt, chosen, rejected in pairs:
        pool[cat] += [(prompt, chosen), (prompt, rejected)]
    sets: list[tuple[Item, int]] = []
    for prompt, graph in beats.items():
        best, beaten = None, set()
        for candidate in graph:
            if candidate in losers[prompt]:
                continue
            reached, frontier = set(), [candidate]
            while frontier:
                for loser in graph.get(frontier.pop(), ()):
                    if loser not in reached:
                        reached.add(loser)
                        frontier.append(loser)
            if len(reached) > len(beaten):
                best, beaten = candidate, reached
        if best is None:
            continue
        rivals = sorted(beaten)[: SET_SIZE - 1]
        on_topic = len(rivals)
        others = [text for p, text in pool[category[prompt]] if p != prompt]
        while len(rivals) < SET_SIZE - 1 and others:
            pick = others.pop(int(rng.integers(len(others))))
            if pick not in rivals:
                rivals.append(pick)
        texts = [best, *rivals]
        order = [int(i) for i in rng.permutation(len(texts))]
        item = Item(
            id=f"{source}-{len(sets)}",
            input=prompt[:1200],
            responses=tuple(texts[i][:600] for i in order),
            labels={"best": order.index(0)},
            metadata={"source": source, "category": category[prompt], "on_topic": on_topic},
        )
        sets.append((item, on_topic))
    rng.shuffle(sets)  # type: ignore[arg-type]
    # Sets with more on-topic rivals first: they are the harder, truer best-of-4.
    sets.sort(key=lambda s: -s[1])
    return sets[:limit]


def _fmt(estimate: Any) -> str:
    if estimate.value is None or np.isnan(estimate.value):
        return f"- (n={estimate.n})"
    return f"{estimate.value:.3f} [{estimate.low:.3f}, {estimate.high:.3f}] n={estimate.n}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sets", type=int, default=40, help="best-of-4 sets (half per source)")
    parser.add_argument("--orders", type=int, default=4, help="listwise presentation orders")
    parser.add_argument("--judge", default="local")
    parser.add_argument("--store", default=str(Path.home() / ".cache/jurist/bench-listwise.sqlite"))
    parser.add_argument("--rationale", default="none", choices=["before", "after", "none"])
    parser.add_argument("--no-tournament", action="store_true", help="listwise only")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    hhh = best_of_sets(_hhh_pairs(DATA / "hhh/hhh_alignment_eval.json"), "hhh", args.sets, rng)
    autoj = best_of_sets(_autoj_pairs(DATA / "autoj/autoj_pairwise.json"), "autoj", args.sets, rng)
    half = (args.sets + 1) // 2
    chosen = hhh[:half] + autoj[: args.sets - min(half, len(hhh))]
    items = [item for item, _ in chosen][: args.sets]
    on_topic = [n for _, n in chosen][: args.sets]
    print(
        f"{len(items)} best-of-4 sets ({sum(i.metadata['source'] == 'hhh' for i in items)} HHH, "
        f"{sum(i.metadata['source'] == 'autoj' for i in items)} Auto-J); on-topic rivals per "
        f"set: mean {np.mean(on_topic):.2f} of 3; judge {args.judge}, {args.orders} orders"
    )
    options = ListwiseOptions(orders=args.orders, rationale=args.rationale, max_tokens=64)
    setup = JudgeSetup(judge=args.judge, mode="listwise", options=options)
    session = JudgeSession(RUBRIC, setup, store=args.store)
    try:
        started = time.perf_counter()
        judged: list[ListwiseJudgment] = session(items)  # type: ignore[assignment]
        listwise_s = time.perf_counter() - started
        tournaments = []
        started = time.perf_counter()
        if not args.no_tournament:

            async def play_all() -> list[Any]:
                return [await session_tournament(session, item) for item in items]

            tournaments = asyncio.run(play_all())
        tournament_s = time.perf_counter() - started
    finally:
        session.close()

    best = [item.labels["best"] for item in items]
    human = [[1.0 if i == b else 0.0 for i in range(SET_SIZE)] for b in best]
    rows: list[tuple[str, list[list[float] | None], float]] = []
    requests = [j.calls + j.cache_hits for j in judged]
    for method in ("borda", "bt"):
        scores = [
            aggregate_rankings(
                [o.ranking for o in j.orders if o.ranking], j.n_responses, method
            ).scores
            if j.status == "ok"
            else None
            for j in judged
        ]
        rows.append((f"listwise x{args.orders} {method}", scores, float(np.mean(requests))))
    first = []
    for j in judged:
        order = j.orders[0] if j.orders else None
        if order is None or not order.ranking:
            first.append(None)
            continue
        first.append(aggregate_rankings([order.ranking], j.n_responses).scores)
    rows.append(("listwise x1 (no debiasing)", first, float(np.mean(requests)) / args.orders))
    if tournaments:
        scores_t = []
        for t in tournaments:
            ranking = t.ranking
            scores_t.append(
                None
                if t.ratings is None or not t.ratings.ratings
                else [float(SET_SIZE - ranking.index(i)) for i in range(SET_SIZE)]
            )
        calls_t = [t.requests for t in tournaments]
        matches_t = np.mean([len(t.matches) for t in tournaments])
        rows.append(
            (f"Swiss pairwise ({matches_t:.0f} matches)", scores_t, float(np.mean(calls_t)))
        )

    print(f"\n{'method':34} {'top-1 accuracy [95% CI]':32} {'Kendall tau-b vs human':32} req/set")
    for name, scores, per_set in rows:
        accuracy = top1_accuracy(scores, best)
        tau = mean_kendall_tau(scores, human, n_resamples=1000)
        print(f"{name:34} {_fmt(accuracy):32} {_fmt(tau):32} {per_set:.1f}")
    print(f"{'chance':34} {1 / SET_SIZE:.3f}")
    print("(a tied top earns 1/m; tau is undefined, so excluded, where all scores are equal)")
    statuses = [j.status for j in judged]
    print(
        f"\nlistwise items: ok {statuses.count('ok')}, parse_error "
        f"{statuses.count('parse_error')}, failed {statuses.count('failed')}; "
        f"top tied after pooling: {sum(bool(j.top_tied) for j in judged if j.status == 'ok')}"
    )
    tops = [o.shown.index(o.ranking[0]) for j in judged for o in j.orders if o.ranking]
    if tops:
        print(slot_bias(tops, SET_SIZE).sentence())
    full_round_robin = SET_SIZE * (SET_SIZE - 1) // 2 * 2
    print(
        f"requests per set: listwise {np.mean(requests):.1f}; full pairwise round robin would be "
        f"{full_round_robin}; wall time listwise {listwise_s:.0f}s, tournament {tournament_s:.0f}s"
    )


if __name__ == "__main__":
    main()
