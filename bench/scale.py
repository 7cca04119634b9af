"""The asyncio engine against a judge with a fixed latency: judgments/s as a share of ideal.

A local server answers every call after `--latency` seconds and serves any number at once,
like a large fleet of judge replicas. At concurrency C the ideal rate is C / latency; the
ratio printed is jurist's measured rate over that ideal, for C in 1, 8 and 64, with the
driver's CPU per judgment in ms (what caps the rate on a machine with few cores). The Ray
engine then runs the same items on a local 2-CPU Ray cluster with 1 and 2 workers (C items
in flight shared among them), printed as a share of ideal and of the asyncio engine. Each run
grades fresh items (an empty cache) through the whole stack: the runner, cache, retries,
adaptive limits, parsing, SQLite store and results file.

    python bench/scale.py --latency 0.2
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _servers import instant_server
from jurist.grading import GradeConfig, run_grade
from jurist.store import Store


@dataclass(frozen=True)
class Rate:
    """Judgments/s end to end, and steady (first result to last: without start-up); the
    driver's CPU per judgment, which caps the rate on a machine with few cores."""

    end_to_end: float
    steady: float
    startup_s: float
    cpu_ms: float


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def grade(
    url: str, folder: Path, n: int, concurrency: int, engine: str = "asyncio", workers: int = 1
) -> Rate:
    """`concurrency` items in flight in all; the Ray engine shares them among `workers`."""
    tag = f"{engine}-{workers}-{concurrency}"
    rows = [{"id": f"{tag}-{k}", "input": f"question {tag}-{k}",
             "response": "an answer"} for k in range(n)]  # fmt: skip
    data = folder / f"items-{tag}.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rubric = folder / "r.yaml"
    rubric.write_text("name: r\ncriteria:\n  - id: q\n    question: Good?\n"
                      "    scale: {1: bad, 2: ok, 3: good}\n")  # fmt: skip
    per_worker = max(1, concurrency // workers) if engine == "ray" else concurrency
    config = GradeConfig(
        rubric_path=str(rubric), data_path=str(data), judge=f"openai:{url}#m",
        fields={"input": "input", "response": "response", "id": "id", "labels": (), "keep": ()},
        concurrency=per_worker, logprobs=False, output_dir=str(folder / f"out-{tag}"),
        engine=engine, workers=workers if engine == "ray" else None,
    )  # fmt: skip
    stamps: list[float] = []
    with Store(folder / f"s-{tag}.sqlite") as store:
        started, cpu = time.perf_counter(), cpu_seconds()
        result = run_grade(config, store, progress=lambda *_: stamps.append(time.perf_counter()))
        elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    assert result.summary["ok"] == n, result.summary
    steady = (n - 1) / (stamps[-1] - stamps[0]) if n > 1 and stamps[-1] > stamps[0] else 0.0
    return Rate(n / elapsed, steady, stamps[0] - started, 1000 * cpu / n)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per call")
    parser.add_argument("--rounds", type=int, default=30, help="calls per worker")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument(
        "--ray-concurrency", type=int, nargs="*", default=[8, 64],
        help="items in flight for the Ray rows (shared among 1 or 2 workers); none: skip Ray",
    )  # fmt: skip
    args = parser.parse_args()
    answer = json.dumps({"rationale": "fine", "score": 3})
    print(f"asyncio engine, judge latency {args.latency:g}s, {args.rounds} calls per worker")
    print(f"{'concurrency':>12}{'judgments/s':>14}{'ideal':>10}{'ratio':>8}{'cpu ms/j':>10}")
    steady: dict[int, float] = {}
    with instant_server(answer, args.latency) as url, tempfile.TemporaryDirectory() as folder:
        grade(url, Path(folder), 2, 2)  # imports and first connections, untimed
        for concurrency in sorted(set(args.concurrency) | set(args.ray_concurrency)):
            rate = grade(url, Path(folder), concurrency * args.rounds, concurrency)
            steady[concurrency] = rate.steady
            if concurrency in args.concurrency:
                ideal = concurrency / args.latency
                print(f"{concurrency:>12}{rate.end_to_end:>14.2f}{ideal:>10.1f}"
                      f"{rate.end_to_end / ideal:>8.3f}{rate.cpu_ms:>10.2f}")  # fmt: skip
        if args.ray_concurrency:
            ray_rows(url, Path(folder), args, steady)


def ray_rows(url: str, folder: Path, args: argparse.Namespace, steady: dict[int, float]) -> None:
    """The Ray engine on a local 2-CPU cluster, 1 and 2 workers. Rates are steady (first
    result to last), the asyncio engine's too, so the pool's start-up (workers importing
    jurist and building their clients) is shown apart rather than mixed into the rate."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=96 * 1024**2,
             _node_ip_address="127.0.0.1", log_to_driver=False)  # fmt: skip
    try:
        print("\nray engine (steady rates; vs asyncio = ray / asyncio at the same in flight)")
        print(f"{'workers':>8}{'in flight':>11}{'judgments/s':>14}{'ideal':>10}{'ratio':>8}"
              f"{'vs asyncio':>12}{'start-up s':>12}")  # fmt: skip
        for concurrency in args.ray_concurrency:
            for workers in (1, 2):
                n = concurrency * args.rounds
                rate = grade(url, folder, n, concurrency, "ray", workers)
                ideal = concurrency / args.latency
                versus = rate.steady / steady[concurrency] if steady[concurrency] else 0.0
                print(f"{workers:>8}{concurrency:>11}{rate.steady:>14.2f}{ideal:>10.1f}"
                      f"{rate.steady / ideal:>8.3f}{versus:>12.3f}{rate.startup_s:>12.1f}")  # fmt: skip
    finally:
        ray.shutdown()


if __name__ == "__main__":
    main()
