"""The asyncio engine against a judge with a fixed latency: judgments/s as a share of ideal.

A local server answers every call after `--latency` seconds and serves any number at once,
like a large fleet of judge replicas. At concurrency C the ideal rate is C / latency; the
ratio printed is jurist's measured rate over that ideal, for C in 1, 8 and 64. Each run
grades fresh items (an empty cache) through the whole stack: the runner, cache, retries,
adaptive limits, parsing, SQLite store and results file.

    python bench/scale.py --latency 0.2
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from _servers import instant_server
from jurist.grading import GradeConfig, run_grade
from jurist.store import Store


def grade(url: str, folder: Path, n: int, concurrency: int) -> float:
    rows = [{"id": f"c{concurrency}-{k}", "input": f"question {concurrency}-{k}",
             "response": "an answer"} for k in range(n)]  # fmt: skip
    data = folder / f"items-{concurrency}.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rubric = folder / "r.yaml"
    rubric.write_text("name: r\ncriteria:\n  - id: q\n    question: Good?\n"
                      "    scale: {1: bad, 2: ok, 3: good}\n")  # fmt: skip
    config = GradeConfig(
        rubric_path=str(rubric), data_path=str(data), judge=f"openai:{url}#m",
        fields={"input": "input", "response": "response", "id": "id", "labels": (), "keep": ()},
        concurrency=concurrency, logprobs=False, output_dir=str(folder / f"out-{concurrency}"),
    )  # fmt: skip
    with Store(folder / f"s-{concurrency}.sqlite") as store:
        started = time.perf_counter()
        result = run_grade(config, store)
        elapsed = time.perf_counter() - started
    assert result.summary["ok"] == n, result.summary
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per call")
    parser.add_argument("--rounds", type=int, default=30, help="calls per worker")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 64])
    args = parser.parse_args()
    answer = json.dumps({"rationale": "fine", "score": 3})
    print(f"asyncio engine, judge latency {args.latency:g}s, {args.rounds} calls per worker")
    print(f"{'concurrency':>12}{'judgments/s':>14}{'ideal':>10}{'ratio':>8}")
    with instant_server(answer, args.latency) as url, tempfile.TemporaryDirectory() as folder:
        grade(url, Path(folder), 2, 2)  # imports and first connections, untimed
        for concurrency in args.concurrency:
            rate = grade(url, Path(folder), concurrency * args.rounds, concurrency)
            ideal = concurrency / args.latency
            print(f"{concurrency:>12}{rate:>14.2f}{ideal:>10.1f}{rate / ideal:>8.3f}")


if __name__ == "__main__":
    main()
