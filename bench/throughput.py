"""Judgments per second and driver CPU per judgment: jurist vs a minimal aiohttp loop.

The reference is the least a client can do: an asyncio loop over `aiohttp` (C-accelerated
HTTP parser, keep-alive pool) POSTing the same request bodies jurist sends (same prompts,
schema, max_tokens, temperature, seeds) at the same concurrency. Rounds alternate so
machine noise hits both alike.

1. Throughput against a real `python -m llama_cpp.server` (jurist starts each round with an
   empty cache): judgments/s of both and their ratio.
2. CPU per judgment against an instant local HTTP server, where the model costs nothing and
   only client work remains: the aiohttp loop, jurist in-process (`run_grade`) and jurist
   through the CLI (`jurist grade` in a subprocess, its CPU read from the OS). The CLI's
   fixed start-up (imports, opening the store) is measured on a tiny run and reported
   apart, so the per-judgment figure is what each further judgment costs.

    python bench/throughput.py --n 40 --concurrency 2 --overhead-n 2000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

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
    """The reference client: each body serialised, POSTed, its answer parsed; seconds taken."""
    connector = aiohttp.TCPConnector(limit=concurrency)
    headers = {"Authorization": "Bearer no-key", "Content-Type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=600)
    endpoint = f"{url}/chat/completions"
    pending = iter(requests)
    async with aiohttp.ClientSession(
        connector=connector, headers=headers, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:

        async def worker() -> None:
            for body in pending:
                async with session.post(endpoint, data=json.dumps(body).encode()) as response:
                    answer = json.loads(await response.read())
                assert response.status == 200, answer
                assert answer["choices"][0]["message"]["content"] is not None

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started


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


def overhead_rubric():
    return rubric_from_dict(
        {
            "name": "r",
            "criteria": [{"id": "q", "question": "Good?", "scale": {1: "bad", 2: "ok", 3: "good"}}],
        }
    )


def overhead_rows(n: int) -> list[dict]:
    return [{"id": f"x{k}", "input": f"question {k}", "response": "an answer"} for k in range(n)]


def grade_in_process(url: str, folder: Path, rows: int, concurrency: int, tag: str) -> float:
    """CPU seconds of `run_grade` over `rows` items, from an empty store."""
    config = GradeConfig(
        rubric_path=str(folder / "r.yaml"), data_path=str(folder / f"items{rows}.jsonl"),
        judge=f"openai:{url}#m",
        fields={"input": "input", "response": "response", "id": "id", "labels": (), "keep": ()},
        concurrency=concurrency, logprobs=False, output_dir=str(folder / f"out-{tag}"),
    )  # fmt: skip
    with Store(folder / f"{tag}.sqlite") as store:
        cpu = time.process_time()
        result = run_grade(config, store)
        cpu = time.process_time() - cpu
    assert result.summary["ok"] == rows, result.summary
    return cpu


def grade_cli(url: str, folder: Path, rows: int, concurrency: int, tag: str) -> float:
    """CPU seconds (user + system) of `jurist grade` in its own process, from an empty store."""
    command = [
        str(Path(sys.executable).parent / "jurist"), "grade", str(folder / "r.yaml"),
        str(folder / f"items{rows}.jsonl"), "--judge", f"openai:{url}#m", "--id-field", "id",
        "--output", str(folder / f"out-{tag}"), "--store", str(folder / f"{tag}.sqlite"),
        "--concurrency", str(concurrency), "--no-logprobs", "--format", "json",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    lines = (folder / f"out-{tag}" / "results.jsonl").read_text().splitlines()
    assert len(lines) == rows and all('"status":"ok"' in line for line in lines)
    return usage.ru_utime + usage.ru_stime


def overhead(n: int, concurrency: int, rounds: int, startup_n: int) -> None:
    answer = json.dumps({"rationale": "fine", "score": 3})
    rubric = overhead_rubric()
    judge = PointwiseJudge(rubric, JudgeOptions(want_logprobs=False))
    rows = overhead_rows(n)
    items = [Item(id=r["id"], input=r["input"], response=r["response"]) for r in rows]
    cpu = {"reference": 0.0, "in-process": 0.0, "cli": 0.0, "cli-startup": 0.0}
    wall = {"reference": 0.0, "in-process": 0.0}
    with instant_server(answer) as url, tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        (folder / "r.yaml").write_text(rubric.to_yaml())
        for size in (n, startup_n):
            lines = "".join(json.dumps(r) + "\n" for r in overhead_rows(size))
            (folder / f"items{size}.jsonl").write_text(lines)
        bodies = request_bodies(items, judge)
        for body in bodies:
            body["model"] = "m"
        asyncio.run(plain_loop(url, bodies[:200], concurrency))  # warm up
        grade_in_process(url, folder, startup_n, concurrency, "warm")
        for round_number in range(rounds):
            order = ["reference", "in-process", "cli"]
            for who in order if round_number % 2 == 0 else order[::-1]:
                tag = f"{who}-{round_number}"
                if who == "reference":
                    started = time.process_time()
                    wall[who] += asyncio.run(plain_loop(url, bodies, concurrency))
                    cpu[who] += time.process_time() - started
                elif who == "in-process":
                    started = time.perf_counter()
                    cpu[who] += grade_in_process(url, folder, n, concurrency, tag)
                    wall[who] += time.perf_counter() - started
                else:
                    cpu[who] += grade_cli(url, folder, n, concurrency, tag)
                    cpu["cli-startup"] += grade_cli(url, folder, startup_n, concurrency, tag + "s")
    done = n * rounds
    per = {who: cpu[who] / done * 1000 for who in ("reference", "in-process")}
    startup = cpu["cli-startup"] / rounds
    per_cli = (cpu["cli"] - cpu["cli-startup"]) / ((n - startup_n) * rounds) * 1000
    print(
        f"\nDriver CPU per judgment against an instant server ({n} judgments x {rounds} rounds, "
        f"concurrency {concurrency}):"
    )
    print(
        f"  aiohttp loop (reference) : {per['reference']:.3f} ms ({done / wall['reference']:.0f} calls/s)"
    )
    print(
        f"  jurist in-process        : {per['in-process']:.3f} ms ({done / wall['in-process']:.0f} judgments/s; "
        "prompts, parsing, SQLite cache + run store, results.jsonl)"
    )
    print(
        f"  jurist grade (CLI)       : {per_cli:.3f} ms per further judgment; {startup:.2f} s CPU "
        f"to start and finish a {startup_n}-item run; {cpu['cli'] / done * 1000:.3f} ms/judgment all in"
    )
    print(
        f"  jurist - reference       : {per['in-process'] - per['reference']:.3f} ms per judgment"
    )
    print(f"  CLI / in-process         : {per_cli / per['in-process']:.2f} (target <= 1.2)")
    print(
        f"  jurist / reference rate  : {wall['reference'] / wall['in-process']:.3f} (calls/s, instant server)"
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
    parser.add_argument("--overhead-n", type=int, default=2000)
    parser.add_argument("--overhead-rounds", type=int, default=2)
    parser.add_argument("--startup-n", type=int, default=20, help="items of the CLI start-up run")
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
        print(f"  aiohttp loop (reference)    : {n / plain_time:.3f} judgments/s")
        print(
            f"  jurist LocalEngine          : {n / jurist_time:.3f} judgments/s ({parse_errors} parse errors)"
        )
        print(f"  ratio jurist / reference    : {plain_time / jurist_time:.3f} (target >= 0.95)")
    overhead(args.overhead_n, 8, args.overhead_rounds, args.startup_n)


if __name__ == "__main__":
    main()
