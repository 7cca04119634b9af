"""How fast `jurist view` opens a 100,000-item run: the run page and filtered pages,
served by the real app on 127.0.0.1, against the 2-second target of the issue.

The index is built once per version of the results (timed separately: it is the
one-off cost); page times are medians of a few requests after the first.

    .venv/bin/python bench/view.py [--items 100000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from jurist.view.app import create_app, make_viewer
from jurist.view.server import serve_in_thread

TARGET_S = 2.0


def write_run(folder: Path, n: int) -> Path:
    rng = random.Random(0)
    folder.mkdir(parents=True)
    with (folder / "results.jsonl").open("w") as out:
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
                    "status": "ok",
                    "score": score,
                    "expected": score * 0.9 + 0.3,
                    "distribution": dist,
                    "rationale": f"Reason {i} for {cid}.",
                }
            record = {
                "item_id": f"item-{i}",
                "index": i,
                "mode": "pointwise",
                "status": status,
                "judge": "bench",
                "rubric": "bench",
                "rubric_hash": "0" * 16,
                "criteria": criteria,
                "labels": {"coherence": rng.randint(1, 5)},
                "response_chars": rng.randint(50, 900),
            }
            out.write(json.dumps(record) + "\n")
    return folder


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        start = time.perf_counter()
        folder = write_run(root / "run", args.items)
        print(f"wrote {args.items} judgments in {time.perf_counter() - start:.1f} s")
        viewer = make_viewer(
            [str(folder)], root / "store.sqlite", token="bench", cache_dir=root / "cache"
        )
        key = viewer.sources[0].key
        start = time.perf_counter()
        viewer.index(key)
        print(f"index built once in {time.perf_counter() - start:.1f} s (cached afterwards)")
        server = serve_in_thread(create_app(viewer))
        try:
            client = httpx.Client(
                base_url=server.url, headers={"X-Jurist-Token": "bench"}, timeout=120
            )
            pages = {
                "run page": f"/run/{key}",
                "parse errors": f"/run/{key}?parse_errors=1",
                "coherence <= 2, by score desc": (
                    f"/run/{key}?criterion=coherence&score_max=2&sort=-score"
                ),
                "gap >= 2, by gap, page 20": f"/run/{key}?disagreement=2&sort=disagreement"
                "&offset=1000",
                "last page": f"/run/{key}?offset={args.items - 50}",
                "item page": f"/run/{key}/item/{args.items // 2}?at={args.items // 2}",
            }
            print(
                f"{'page':34} {'first s':>8} {'median s':>9} {'cpu s':>7} "
                f"{'median / 2 s target':>20}"
            )
            for name, url in pages.items():
                first, median, cpu = timed(client, url)
                print(f"{name:34} {first:8.3f} {median:9.3f} {cpu:7.3f} {median / TARGET_S:20.3f}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
