"""Memory stays flat as inputs grow: peak RSS of `jurist grade` at n and 10 x n items.

Each size runs in its own process against an instant local HTTP server (so the model costs
nothing and only jurist's own memory shows), and the printed ratio is peak RSS at 10 x n over
peak RSS at n: near 1.0 means streaming, near 10 would mean holding every item.

    python bench/memory.py --n 10000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from _servers import instant_server

CHILD = r"""
import json, resource, sys
from jurist.grading import GradeConfig, run_grade
from jurist.store import Store
data, rubric, url, out = sys.argv[1:5]
config = GradeConfig(rubric_path=rubric, data_path=data, judge=f"openai:{url}#m", concurrency=8,
    fields={"input": "input", "response": "response", "id": "id", "labels": (), "keep": ()},
    logprobs=False, output_dir=out)
with Store(out + "/store.sqlite") as store:
    result = run_grade(config, store)
print(json.dumps({"ok": result.summary["ok"], "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

RUBRIC = "name: r\ncriteria:\n  - {id: q, question: 'Good?', scale: {1: bad, 2: ok, 3: good}}\n"


def peak_for(n: int, url: str, folder: Path) -> int:
    data = folder / f"items-{n}.jsonl"
    with data.open("w") as handle:
        for k in range(n):
            handle.write(
                json.dumps(
                    {
                        "id": f"x{k}",
                        "input": f"question {k} " + "lorem " * 40,
                        "response": "answer " * 40,
                    }
                )
                + "\n"
            )
    rubric = folder / "r.yaml"
    rubric.write_text(RUBRIC)
    out = folder / f"out-{n}"
    out.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(data), str(rubric), url, str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["ok"] == n, report
    return report["peak_kib"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=10000)
    args = parser.parse_args()
    answer = json.dumps({"rationale": "fine", "score": 3})
    with instant_server(answer) as url, tempfile.TemporaryDirectory() as folder:
        small = peak_for(args.n, url, Path(folder))
        large = peak_for(10 * args.n, url, Path(folder))
    print(
        f"peak RSS of jurist grade: {small / 1024:.0f} MiB at {args.n} items, {large / 1024:.0f} MiB at {10 * args.n} items"
    )
    print(f"ratio (10x items / 1x items): {large / small:.2f} (1.0 = flat)")


if __name__ == "__main__":
    main()
