"""Judgments per second: jurist vs a minimal asyncio + openai-client loop (the ceiling).

Both send the same requests (same prompts, schema, max_tokens, temperature, seeds) to the same
real `python -m llama_cpp.server` at the same concurrency, in alternating rounds so machine
noise hits both alike; jurist starts each round with an empty cache. Then jurist's own CPU
cost per judgment is measured against an instant local HTTP server, where the model costs
nothing and only client work remains.

    python bench/throughput.py --n 200 --concurrency 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

import openai

from _servers import instant_server, llama_cpp_python_server
from jurist.backends import CallPolicy
from jurist.backends.llamacpp import default_model_path
from jurist.backends.openai import OpenAIBackend
from jurist.core.data import Item
from jurist.core.rubric import load_rubric, rubric_from_dict
from jurist.datasets import load_preset
from jurist.engine.local import LocalEngine, ResultSink
from jurist.grading import GradeConfig, run_grade
from jurist.judges.base import JudgeOptions
from jurist.judges.pointwise import PointwiseJudge
from jurist.session import JudgeSession, JudgeSetup
from jurist.store import Store

REPO = Path(__file__).resolve().parents[1]


def bench_items(n: int) -> list[Item]:
    """Real SummEval summaries with a short excerpt of their article as the input."""
    items = []
    for item in load_preset("summeval", limit=n):
        excerpt = str(item.input)[:400]
        items.append(
            item.model_copy(
                update={"input": f"Summarise this article:\n{excerpt}", "reference": None}
            )
        )
    return items


def fluency_rubric():
    full = load_rubric(REPO / "src" / "jurist" / "presets" / "summeval.yaml")
    return rubric_from_dict(
        {"name": "fluency", "criteria": [full.criterion("fluency").model_dump()]}
    )


async def plain_loop(url: str, requests: list[dict], concurrency: int) -> float:
    client = openai.AsyncOpenAI(base_url=url, api_key="no-key", max_retries=0, timeout=600)
    queue: asyncio.Queue[dict] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)

    async def worker() -> None:
        while not queue.empty():
            body = queue.get_nowait()
            response = await client.chat.completions.create(**body)
            assert response.choices[0].message.content is not None

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await client.close()
    return elapsed


async def jurist_run(
    url: str, items: list[Item], concurrency: int, judge: PointwiseJudge
) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as folder, Store(Path(folder) / "s.sqlite") as store:
        backend = OpenAIBackend("gemma", base_url=url, timeout=600, structured="json_object")
        setup = JudgeSetup(options=judge.options, calls=CallPolicy(concurrency=concurrency))
        session = JudgeSession(judge.rubric, setup, store=store, backend=backend)
        runner = LocalEngine(session, ResultSink(store, "bench"))
        started = time.perf_counter()
        await runner.run(items)
        elapsed = time.perf_counter() - started
        await backend.aclose()
        return elapsed, runner.counters.parse_error


def request_bodies(items: list[Item], judge: PointwiseJudge) -> list[dict]:
    bodies = []
    for item in items:
        for call in judge.calls(item):
            r = call.request
            bodies.append(
                {
                    "model": "gemma",
                    "messages": list(r.messages),
                    "max_tokens": r.max_tokens,
                    "temperature": r.temperature,
                    "seed": r.seed,
                    "response_format": {"type": "json_object", "schema": r.json_schema},
                }
            )
    return bodies


def overhead(n: int, concurrency: int) -> None:
    answer = json.dumps({"rationale": "fine", "score": 3})
    rows = [{"id": f"x{k}", "input": f"question {k}", "response": "an answer"} for k in range(n)]
    rubric = rubric_from_dict(
        {
            "name": "r",
            "criteria": [{"id": "q", "question": "Good?", "scale": {1: "bad", 2: "ok", 3: "good"}}],
        }
    )
    judge = PointwiseJudge(rubric, JudgeOptions(want_logprobs=False))
    items = [Item(id=r["id"], input=r["input"], response=r["response"]) for r in rows]
    with instant_server(answer) as url, tempfile.TemporaryDirectory() as folder:
        bodies = request_bodies(items, judge)
        for body in bodies:
            body["model"] = "m"
        asyncio.run(plain_loop(url, bodies[:200], concurrency))  # warm up
        cpu = time.process_time()
        wall = asyncio.run(plain_loop(url, bodies, concurrency))
        plain_cpu = time.process_time() - cpu
        data = Path(folder) / "items.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in rows))
        rubric_path = Path(folder) / "r.yaml"
        rubric_path.write_text(rubric.to_yaml())
        config = GradeConfig(
            rubric_path=str(rubric_path), data_path=str(data), judge=f"openai:{url}#m",
            fields={"input": "input", "response": "response", "id": "id", "labels": (), "keep": ()},
            concurrency=concurrency, logprobs=False, output_dir=str(Path(folder) / "out"),
        )  # fmt: skip
        with Store(Path(folder) / "s.sqlite") as store:
            cpu = time.process_time()
            started = time.perf_counter()
            result = run_grade(config, store)
            jurist_wall = time.perf_counter() - started
            jurist_cpu = time.process_time() - cpu
    assert result.summary["ok"] == n, result.summary
    per_plain = plain_cpu / n * 1000
    per_jurist = jurist_cpu / n * 1000
    print(
        f"\nCPU per judgment against an instant server ({n} judgments, concurrency {concurrency}):"
    )
    print(f"  plain openai loop : {per_plain:.3f} ms CPU ({n / wall:.0f} calls/s)")
    print(
        f"  jurist grade      : {per_jurist:.3f} ms CPU ({n / jurist_wall:.0f} judgments/s; "
        "prompt rendering, parsing, SQLite cache + run store, results.jsonl)"
    )
    print(
        f"  jurist overhead   : {per_jurist - per_plain:.3f} ms per judgment "
        f"(ratio jurist/plain CPU = {per_jurist / per_plain:.2f}; target overhead < 1 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=200, help="pointwise items (one judgment each)")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument(
        "--rounds", type=int, default=2, help="alternating rounds the items are split into"
    )
    parser.add_argument("--overhead-n", type=int, default=3000)
    parser.add_argument("--skip-model", action="store_true", help="only the CPU overhead part")
    args = parser.parse_args()

    if not args.skip_model:
        items = bench_items(args.n)
        judge = PointwiseJudge(fluency_rubric(), JudgeOptions(want_logprobs=False, max_tokens=128))
        chunks = [items[i :: args.rounds] for i in range(args.rounds)]
        plain_time = jurist_time = 0.0
        parse_errors = 0
        with (
            tempfile.TemporaryDirectory() as folder,
            llama_cpp_python_server(default_model_path(), Path(folder) / "log") as url,
        ):
            asyncio.run(
                plain_loop(url, request_bodies(items[:2], judge), 1)
            )  # load and warm the model
            for round_number, chunk in enumerate(chunks):
                bodies = request_bodies(chunk, judge)
                order = ("plain", "jurist") if round_number % 2 == 0 else ("jurist", "plain")
                for who in order:
                    if who == "plain":
                        plain_time += asyncio.run(plain_loop(url, bodies, args.concurrency))
                    else:
                        elapsed, errors = asyncio.run(
                            jurist_run(url, chunk, args.concurrency, judge)
                        )
                        jurist_time += elapsed
                        parse_errors += errors
        n = len(items)
        print(
            f"llama_cpp.server, Gemma 3 270M, {n} pointwise judgments, concurrency {args.concurrency}:"
        )
        print(f"  plain asyncio + openai loop : {n / plain_time:.3f} judgments/s")
        print(
            f"  jurist LocalEngine          : {n / jurist_time:.3f} judgments/s ({parse_errors} parse errors)"
        )
        print(f"  ratio jurist / ceiling      : {plain_time / jurist_time:.3f} (target >= 0.95)")
    overhead(args.overhead_n, 8)


if __name__ == "__main__":
    main()
