"""How fast `jurist view` opens a big run, served by the real app on 127.0.0.1.

Each run is written the way `jurist grade` writes it: results.jsonl and, beside it, the
viewer's index filled row by row as results are appended (`IndexedResultsFile`, the
grading path), with human labels in every judgment so the first open joins them.

- first open: a new viewer opens the run and serves its run page (the index is completed
  from what grading wrote: labels joined, counts, histograms);
- warm open: another new viewer on the same run (nothing left to complete);
- full build: the old way, the index built from results.jsonl when the viewer opens
  (skipped above 100,000 items unless --full-build);
- pages: first request and median of the next ones, with the CPU time of this process.

    .venv/bin/python bench/view.py                 # 10,000 and 100,000 items
    .venv/bin/python bench/view.py --items 1000000
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from jurist.core.data import Item
from jurist.core.judgment import Judgment, judgment_from_json
from jurist.engine.outputs import RESULTS, SUMMARY, IndexedResultsFile, write_json
from jurist.engine.summary import SummaryBuilder
from jurist.engine.viewindex import INDEX
from jurist.view.app import Viewer, create_app, make_viewer
from jurist.view.server import serve_in_thread

TARGETS_S = {100_000: 2.0, 1_000_000: 10.0}


def judgments(n: int) -> Iterator[Judgment]:
    rng = random.Random(0)
    for i in range(n):
        criteria = {}
        status = "ok"
        for cid in ("coherence", "relevance"):
            if rng.random() < 0.03:
                criteria[cid] = {"status": "parse_error", "raw": "no score here"}
                status = "parse_error"
                continue
            score = rng.randint(1, 5)
            dist = {str(p): (0.6 if p == score else 0.1) for p in range(1, 6)}
            criteria[cid] = {
                "status": "ok", "score": score, "expected": score * 0.9 + 0.3,
                "distribution": dist, "rationale": f"Reason {i} for {cid}.",
            }  # fmt: skip
        record = {
            "item_id": f"item-{i}", "index": i, "mode": "pointwise", "status": status,
            "judge": "bench", "rubric": "bench", "rubric_hash": "0" * 16,
            "criteria": criteria, "labels": {"coherence": rng.randint(1, 5)},
            "response_chars": rng.randint(50, 900),
        }  # fmt: skip
        yield judgment_from_json(json.dumps(record))


def write_run(folder: Path, n: int) -> None:
    """results.jsonl and its index, as a grading run writes them."""
    folder.mkdir(parents=True)
    results = IndexedResultsFile(folder / RESULTS)
    items = (
        Item(id=f"item-{i}", input=f"Question {i}?", response=f"Answer {i}.") for i in range(n)
    )
    for _ in results.texts(items):
        pass
    summary = SummaryBuilder()
    for judgment in judgments(n):
        results.write(judgment)
        summary.add(judgment)
    results.close()
    write_json(folder / SUMMARY, summary.build())


def timed(client: httpx.Client, url: str, repeats: int = 5) -> tuple[float, float, float]:
    """(first request, median of the next ones, median CPU time of this process) in
    seconds; the server runs in this process, so CPU time shows the work done apart from
    waiting for a busy machine."""
    start = time.perf_counter()
    client.get(url).raise_for_status()
    first = time.perf_counter() - start
    times, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        client.get(url).raise_for_status()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return first, statistics.median(times), statistics.median(cpu)


def open_run(folder: Path, root: Path, cache: str) -> tuple[float, float, Viewer]:
    """(seconds to open the run and serve its run page, CPU seconds, the viewer) for a
    new viewer."""
    start, cpu = time.perf_counter(), time.process_time()
    viewer = make_viewer([str(folder)], root / "store.sqlite", token="b", cache_dir=root / cache)
    key = viewer.sources[0].key
    server = serve_in_thread(create_app(viewer))
    try:
        with httpx.Client(base_url=server.url, headers={"X-Jurist-Token": "b"}) as client:
            client.get(f"/run/{key}", timeout=600).raise_for_status()
    finally:
        server.stop()
    return time.perf_counter() - start, time.process_time() - cpu, viewer


def pages(viewer: Viewer, n: int) -> None:
    key = viewer.sources[0].key
    urls = {
        "run page": f"/run/{key}",
        "parse errors": f"/run/{key}?parse_errors=1",
        "coherence <= 2, by score desc": f"/run/{key}?criterion=coherence&score_max=2&sort=-score",
        "gap >= 2, by gap, page 20": f"/run/{key}?disagreement=2&sort=disagreement&offset=1000",
        "last page": f"/run/{key}?offset={n - 50}",
        "item page": f"/run/{key}/item/{n // 2}?at={n // 2}",
    }
    server = serve_in_thread(create_app(viewer))
    try:
        client = httpx.Client(base_url=server.url, headers={"X-Jurist-Token": "b"}, timeout=600)
        print(f"  {'page':32} {'first s':>8} {'median s':>9} {'cpu s':>7}")
        for name, url in urls.items():
            first, median, cpu = timed(client, url)
            print(f"  {name:32} {first:8.3f} {median:9.3f} {cpu:7.3f}")
    finally:
        server.stop()


def measure(root: Path, n: int, full_build: bool) -> None:
    folder = root / f"run-{n}"
    start = time.perf_counter()
    write_run(folder, n)
    size = (folder / INDEX).stat().st_size / 2**20
    print(
        f"{n} items: written with the index in {time.perf_counter() - start:.1f} s ({size:.0f} MiB)"
    )
    first, first_cpu, _ = open_run(folder, root, "cache")
    warm, warm_cpu, viewer = open_run(folder, root, "cache")
    target = TARGETS_S.get(n)
    goal = f"  (target < {target:g} s: {first / target:.2f} of it)" if target else ""
    print(f"  first open {first:7.2f} s (cpu {first_cpu:.2f} s){goal}")
    print(f"  warm open  {warm:7.2f} s (cpu {warm_cpu:.2f} s)")
    pages(viewer, n)
    if full_build:
        (folder / INDEX).unlink()  # as before grading wrote one: built from results.jsonl
        built, built_cpu, _ = open_run(folder, root, "cache-full")
        print(f"  full build {built:7.2f} s (cpu {built_cpu:.2f} s): first open / full build "
              f"= {first / built:.3f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--items", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument(
        "--full-build", action="store_true",
        help="also time the index built from results.jsonl above 100,000 items (slow)",
    )  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.items:
            measure(Path(tmp), n, args.full_build or n <= 100_000)


if __name__ == "__main__":
    main()
