"""Jobs for the engine tests: a rubric with two criteria and items whose prompts name them."""

from __future__ import annotations

import json
import threading
from pathlib import Path

RUBRIC = """
name: r
criteria:
  - {id: a, question: "Good?", scale: {1: bad, 2: ok, 3: good}}
  - {id: b, question: "Clear?", scale: {1: bad, 2: ok, 3: good}}
"""


def write_job(folder: Path, count: int, rubric: str = RUBRIC) -> tuple[Path, Path]:
    """A rubric and `count` items whose prompts name their item ("question K")."""
    rubric_path = folder / "rubric.yaml"
    rubric_path.write_text(rubric)
    data = folder / "items.jsonl"
    rows = [
        {"id": f"x{k}", "input": f"question {k}", "response": f"answer {k}"} for k in range(count)
    ]
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return rubric_path, data


def read_results(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def comparable(path: Path) -> dict[int, dict]:
    """Each item's judgment by index, without what depends on how the job ran: wall-clock
    latencies, and requests sent (each worker's client probes the server's structured
    output support once, counted with the first call it makes)."""
    out = {}
    for row in read_results(path):
        row.pop("latency_s")
        row.pop("calls")
        out[row["index"]] = row
    return out


def item_of(prompt: str) -> str:
    return "x" + prompt.split("question ", 1)[1].split("\n", 1)[0].strip()


class Background:
    """`run_grade` on a thread, so the test can break things while the run goes on; the
    run's result, or what it raised, is handed back by `outcome()`."""

    def __init__(self, job: object, store_path: Path, run_id: str) -> None:
        from jurist.grading import run_grade
        from jurist.store import Store

        self._done: dict[str, object] = {}

        def grade() -> None:
            try:
                with Store(store_path) as store:
                    self._done["result"] = run_grade(job, store, run_id=run_id)
            except BaseException as error:  # handed to the test thread
                self._done["error"] = error

        self.thread = threading.Thread(target=grade)
        self.thread.start()

    def outcome(self, timeout: float) -> object:
        """The run's result once it ended within `timeout`; its error re-raised."""
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the run did not end"
        if "error" in self._done:
            raise AssertionError(f"the run failed: {self._done['error']!r}")
        return self._done["result"]
