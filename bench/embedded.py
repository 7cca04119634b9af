"""The embedded judge against the machine's own limit.

llama-cpp-python alone, on this machine, sets the limit: its prompt-processing rate from an
empty cache and after a cached shared prefix (the best of 64, 128 and 512 new tokens), and
its generation rate. jurist then grades SummEval items in-process (`--judge local --rationale none`, score
only, then the one-token `--logprobs` path) and its backend counts the run's own tokens:
prompt tokens, those its key/value cache already held, and generated tokens. The shortest
time the run could take is

    cold prompt tokens / uncached rate + other new prompt tokens / cached-prefix rate
    + generated tokens / generation rate

and each path's throughput is printed as a fraction of it. The reference measurement and
the two paths take turns in every round, so noise from a shared machine hits all of them.

    python bench/embedded.py                      # 2 items x 4 criteria a path, 2 rounds
    python bench/embedded.py --items 4 --rounds 3 --threads 1
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path
from typing import Any

from jurist import JudgeOptions, JudgeSession, JudgeSetup, load_rubric
from jurist.backends.llamacpp import LlamaCppBackend, LocalUsage, default_model_path
from jurist.core.completion import value_only
from jurist.core.data import Item
from jurist.core.judgment import PointwiseJudgment
from jurist.core.rubric import Rubric
from jurist.datasets import load_preset
from jurist.judges.pointwise import PointwiseJudge

REPO = Path(__file__).resolve().parents[1]
PATHS = {"score-only": False, "logprobs": True}
# New tokens in the cached-prefix measurements, up to one full default batch: the best rate
# among them is the limit (on a small CPU model a short batch can be the fastest per token).
SUFFIXES = (64, 128, 512)
GENERATED = 16


@dataclasses.dataclass
class Rates:
    """Tokens a second llama.cpp reaches here, read from one measurement."""

    uncached: float
    cached: float
    generation: float
    # The cached-prefix rate at each number of new tokens.
    by_suffix: dict[int, float] = dataclasses.field(default_factory=dict)

    def shortest_s(self, usage: LocalUsage) -> float:
        warm = usage.prompt_tokens - usage.cached_tokens - usage.cold_tokens
        return (
            usage.cold_tokens / self.uncached
            + warm / self.cached
            + usage.generated_tokens / self.generation
        )


def prompt_tokens(llm: Any, rubric: Rubric, items: list[Item]) -> list[list[int]]:
    """The token lists jurist sends for these items (score-only prompts, template applied)."""
    from llama_cpp.llama_chat_format import format_gemma

    judge = PointwiseJudge(rubric, JudgeOptions(rationale="none"))
    lists = []
    for item in items:
        for call in judge.calls(item):
            plan = value_only(call.request)
            opening = plan.opening if plan is not None else ""
            text = format_gemma(messages=[dict(m) for m in call.request.messages]).prompt
            lists.append(llm.tokenize((text + opening).encode(), add_bos=True, special=True))
    return lists


def shared_length(lists: list[list[int]]) -> int:
    first = lists[0]
    return min(
        next((i for i, (a, b) in enumerate(zip(first, o, strict=False)) if a != b), len(o))
        for o in lists[1:]
    )


def measure_rates(llm: Any, lists: list[list[int]]) -> Rates:
    """Prompt rate from empty, prompt rate after the prompts' shared beginning is cached,
    and generation rate, all on the run's own tokens."""
    prompt = lists[0]
    shared = shared_length(lists)
    suffix = [t for other in lists[1:] for t in other[shared:]]
    llm.reset()
    started = time.perf_counter()
    llm.eval(prompt)
    uncached = len(prompt) / (time.perf_counter() - started)
    by_suffix = {}
    for size in SUFFIXES:
        llm.n_tokens = shared  # the shared beginning stays; the rest is cut by eval
        started = time.perf_counter()
        llm.eval(suffix[:size])
        by_suffix[size] = size / (time.perf_counter() - started)
    started = time.perf_counter()
    for token in suffix[:GENERATED]:
        llm.eval([token])
    generation = GENERATED / (time.perf_counter() - started)
    llm.reset()
    return Rates(uncached, max(by_suffix.values()), generation, by_suffix)


def run_path(backend: LlamaCppBackend, rubric: Rubric, items: list[Item], logprobs: bool) -> dict:
    """One jurist run (fresh answer store): its time, its token counts, its judgments."""
    before = dataclasses.replace(backend.usage)
    setup = JudgeSetup(judge="local", options=JudgeOptions(rationale="none"), logprobs=logprobs)
    with tempfile.TemporaryDirectory() as folder:
        session = JudgeSession(rubric, setup, store=Path(folder) / "cache.sqlite", backend=backend)
        started = time.perf_counter()
        judgments = session.judge(items)
        seconds = time.perf_counter() - started
        session.close()
    after = backend.usage
    usage = LocalUsage(
        **{
            f.name: getattr(after, f.name) - getattr(before, f.name)
            for f in dataclasses.fields(after)
        }
    )
    ok = sum(
        c.status == "ok"
        for j in judgments
        if isinstance(j, PointwiseJudgment)
        for c in j.criteria.values()
    )
    return {"seconds": seconds, "usage": usage, "ok": ok}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=2, help="SummEval items a path grades")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--threads", type=int, help="n_threads for both (default: jurist's)")
    args = parser.parse_args()

    from llama_cpp import Llama

    rubric = load_rubric(REPO / "src" / "jurist" / "presets" / "summeval.yaml")
    items = list(load_preset("summeval", limit=args.items + 1))
    warm_up, items = items[:1], items[1:]
    backend = LlamaCppBackend(n_threads=args.threads)
    reference = Llama(
        model_path=str(default_model_path()),
        n_ctx=backend.n_ctx,
        n_threads=backend.n_threads,
        verbose=False,
    )
    lists = prompt_tokens(reference, rubric, items)
    run_path(backend, rubric, warm_up, logprobs=True)  # loads the model: not timed
    totals = {name: {"seconds": 0.0, "shortest": 0.0, "ok": 0, "usage": []} for name in PATHS}
    measured: list[Rates] = []
    for _ in range(args.rounds):
        for name, logprobs in PATHS.items():
            rates = measure_rates(reference, lists)
            measured.append(rates)
            run = run_path(backend, rubric, items, logprobs)
            total = totals[name]
            total["seconds"] += run["seconds"]
            total["shortest"] += rates.shortest_s(run["usage"])
            total["ok"] += run["ok"]
            total["usage"].append(run["usage"])
    report(args, backend, measured, totals, len(items) * len(rubric.criteria))
    reference.close()


def report(
    args: Any, backend: LlamaCppBackend, measured: list[Rates], totals: dict, n: int
) -> None:
    mean = Rates(
        *(
            sum(getattr(r, f) for r in measured) / len(measured)
            for f in ("uncached", "cached", "generation")
        )
    )
    sizes = ", ".join(
        f"{size}: {sum(r.by_suffix[size] for r in measured) / len(measured):.1f}"
        for size in SUFFIXES
    )
    print(
        f"Gemma 3 270M (llama-cpp-python, n_threads={backend.n_threads}, n_ctx={backend.n_ctx}), "
        f"{args.items} SummEval items x 4 criteria a run, {args.rounds} rounds"
    )
    print(
        f"machine: prompt {mean.uncached:.1f} tok/s from empty, {mean.cached:.1f} tok/s after a "
        f"cached prefix (best of, by new tokens, {sizes}), generation {mean.generation:.1f} tok/s "
        f"(mean of {len(measured)} measurements)"
    )
    print(
        f"{'path':<12}{'judg/s':>8}{'ok':>6}{'prompt':>8}{'cached':>8}{'new':>6}{'gen':>5}"
        f"{'limit s':>9}{'actual s':>9}{'fraction':>9}"
    )
    for name, total in totals.items():
        usage = total["usage"]
        prompt = sum(u.prompt_tokens for u in usage)
        cached = sum(u.cached_tokens for u in usage)
        generated = sum(u.generated_tokens for u in usage)
        judgments = n * len(usage)
        print(
            f"{name:<12}{judgments / total['seconds']:>8.3f}{total['ok']:>6}{prompt:>8}{cached:>8}"
            f"{prompt - cached:>6}{generated:>5}{total['shortest']:>9.1f}{total['seconds']:>9.1f}"
            f"{total['shortest'] / total['seconds']:>9.2f}"
        )
    print("fraction = shortest possible time (the run's tokens at the machine's rates) / actual")


if __name__ == "__main__":
    main()
