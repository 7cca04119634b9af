"""The Ray engine against the asyncio engine, side by side, where CPU per judgment decides.

A local server answers every chat call after `--latency` seconds (200 ms: a GPU fleet's
regime) and serves any number at once. Both engines grade fresh items through the whole
stack (config, SQLite cache and results, results file, summary) with the same number of
items in flight, in alternating rounds so machine noise hits both alike, on one Ray node
(`ray.init`) and on a simulated 3-node cluster (`ray.cluster_utils.Cluster`, one logical CPU
per node, all on this machine). The rate is steady: results from the end of the first wave
of `in flight` items to the start of the last, so neither the pool's start-up nor the
drain of the last wave counts. Printed: judgments/s of each engine and Ray / asyncio.

    python bench/ray.py                       # 1 node and 3 nodes, 64 and 256 in flight
    python bench/ray.py --nodes 1 --in-flight 64 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _servers import instant_server
from jurist.grading import GradeConfig, run_grade
from jurist.store import Store

OBJECT_STORE_BYTES = 80 * 1024**2
RUBRIC = "name: r\ncriteria:\n  - {id: q, question: 'Good?', scale: {1: bad, 2: ok, 3: good}}\n"
FIELDS = {"input": "input", "response": "response", "id": "id", "labels": (), "keep": ()}


@contextmanager
def cluster(nodes: int) -> Iterator[int]:
    """A Ray cluster on this machine joined by this process; yields its CPU count. One node
    is a plain `ray.init` with 2 CPUs; more are separate raylets with one CPU each."""
    import ray

    if nodes == 1:
        ray.init(num_cpus=2, include_dashboard=False, object_store_memory=OBJECT_STORE_BYTES,
                 _node_ip_address="127.0.0.1", log_to_driver=False)  # fmt: skip
        try:
            yield 2
        finally:
            ray.shutdown()
        return
    from ray.cluster_utils import Cluster

    node = {"num_cpus": 1, "object_store_memory": OBJECT_STORE_BYTES}
    simulated = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    for _ in range(nodes - 1):
        simulated.add_node(**node)
    try:
        ray.init(address=simulated.address, log_to_driver=False)
        simulated.wait_for_nodes()
        yield nodes
    finally:
        ray.shutdown()
        simulated.shutdown()


def steady_rate(stamps: list[float], in_flight: int) -> float:
    """Results/s from the last result of the first wave to the last of the one before the
    last: the same phase of a wave at both ends, so bursty waves do not bias it."""
    first, last = in_flight - 1, len(stamps) - in_flight - 1
    if last <= first or stamps[last] <= stamps[first]:
        return 0.0
    return (last - first) / (stamps[last] - stamps[first])


def grade(url: str, folder: Path, tag: str, n: int, concurrency: int, workers: int | None) -> float:
    """One run on fresh items; `workers` None is the asyncio engine. Returns the steady rate."""
    rows = [{"id": f"{tag}-{k}", "input": f"question {tag}-{k}", "response": "an answer"}
            for k in range(n)]  # fmt: skip
    data = folder / f"items-{tag}.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    rubric = folder / "r.yaml"
    rubric.write_text(RUBRIC)
    config = GradeConfig(
        rubric_path=str(rubric), data_path=str(data), judge=f"openai:{url}#m", fields=FIELDS,
        concurrency=concurrency, logprobs=False, output_dir=str(folder / f"out-{tag}"),
        engine="asyncio" if workers is None else "ray", workers=workers,
    )  # fmt: skip
    stamps: list[float] = []
    with Store(folder / f"s-{tag}.sqlite") as store:
        result = run_grade(config, store, progress=lambda *_: stamps.append(time.perf_counter()))
    assert result.summary["ok"] == n, result.summary
    return steady_rate(stamps, concurrency if workers is None else concurrency * workers)


def compare(url: str, folder: Path, nodes: int, cpus: int, args: argparse.Namespace) -> None:
    workers = args.workers or cpus
    for in_flight in args.in_flight:
        per_worker = math.ceil(in_flight / workers)
        n = in_flight * args.waves
        local: list[float] = []
        remote: list[float] = []
        for round_ in range(args.rounds):
            # Alternate which engine goes first, so a burst of load hits both alike.
            order = ("asyncio", "ray") if round_ % 2 == 0 else ("ray", "asyncio")
            for engine in order:
                tag = f"{nodes}-{in_flight}-{round_}-{engine}"
                if engine == "asyncio":
                    local.append(grade(url, folder, tag, n, in_flight, None))
                else:
                    remote.append(grade(url, folder, tag, n, per_worker, workers))
        ratios = [r / a for r, a in zip(remote, local, strict=True) if a]
        print(
            f"{nodes:>6}{in_flight:>10}{workers:>9}{per_worker * workers:>12}"
            f"{statistics.median(local):>10.1f}{statistics.median(remote):>10.1f}"
            f"{statistics.median(ratios):>12.3f}   {' '.join(f'{r:.2f}' for r in ratios)}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per call")
    parser.add_argument("--in-flight", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--rounds", type=int, default=3, help="runs of each engine")
    parser.add_argument("--waves", type=int, default=8, help="items per run / in flight")
    parser.add_argument("--workers", type=int, help="Ray workers (default: one per CPU)")
    args = parser.parse_args()
    # This script is named ray.py: its folder must not shadow the ray package.
    here = Path(__file__).resolve().parent
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != here]
    answer = json.dumps({"rationale": "fine", "score": 3})
    print(f"judge latency {args.latency:g}s; steady judgments/s, median of {args.rounds} "
          "alternating rounds; ray/asyncio per round on the right")  # fmt: skip
    print(f"{'nodes':>6}{'in flight':>10}{'workers':>9}{'ray flight':>12}{'asyncio':>10}"
          f"{'ray':>10}{'ray/async':>12}   rounds")  # fmt: skip
    with instant_server(answer, args.latency) as url, tempfile.TemporaryDirectory() as folder:
        grade(url, Path(folder), "warm", 4, 2, None)  # imports and first connections
        for nodes in args.nodes:
            with cluster(nodes) as cpus:
                compare(url, Path(folder), nodes, cpus, args)


if __name__ == "__main__":
    main()
