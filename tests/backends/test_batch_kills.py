"""Kill a real `jurist grade --judge openai-batch:...` process at each point of a batch's
life (being created, polled, collected) and resume it: no answered request is bought twice.

The fake batch server counts every request it is sent in a batch (`bought`); 2,000 items
keep the windows between those points wide enough to be hit, and the server answers
instantly, so the whole test takes seconds.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from batch_server import BatchServer

ITEMS = 2_000
GOOD = json.dumps({"rationale": "fine", "score": 3})
RUBRIC = """
name: r
criteria:
  - {id: q, question: "Good?", scale: {1: bad, 2: ok, 3: good}}
"""


def answer_all(prompt: str) -> tuple[str, str]:
    return ("ok", GOOD)


def result_lines(path: Path) -> list[str]:
    try:
        return [line for line in path.read_text().splitlines() if line.strip()]
    except FileNotFoundError:
        return []


def wait_for(condition: Callable[[], bool], process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 120
    while not condition():
        if process.poll() is not None:
            _, err = process.communicate()
            pytest.fail(f"the run ended before {what}: {err[-2000:]}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


@pytest.mark.parametrize("point", ["create", "poll", "collect"])
def test_a_run_killed_at_any_point_of_a_batch_buys_no_answer_twice(tmp_path, point):
    (tmp_path / "rubric.yaml").write_text(RUBRIC)
    data = tmp_path / "items.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": f"x{k}", "input": f"question {k}", "response": "r"}) + "\n"
            for k in range(ITEMS)
        )
    )
    out = tmp_path / "out"
    env = {**os.environ, "OPENAI_API_KEY": "sk-test-batch-kills"}
    store = str(tmp_path / "store.sqlite")
    with BatchServer(answer_all, stall_creates=1 if point == "create" else 0) as server:
        judge = f"openai-batch:{server.url}#m"
        common = ["--store", store, "--no-progress", "--format", "json"]
        args = [str(tmp_path / "rubric.yaml"), str(data), "--judge", judge, "-o", str(out),
                "--id-field", "id", "--run-id", "bought"]  # fmt: skip
        if point == "poll":
            server.hold.clear()  # the batch stays in progress until the process is gone
        process = subprocess.Popen(
            [sys.executable, "-m", "jurist", "grade", *args, *common],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        if point == "create":
            # The batch exists at the server, but its id never reached the process.
            wait_for(lambda: len(server.created) == 1, process, "the batch was created")
        elif point == "poll":
            wait_for(lambda: server.batches.get("batch-1", {}).get("polled"), process, "a poll")
        else:
            # Answers are being collected: some items are written, most are not yet.
            wait_for(lambda: len(result_lines(out / "results.jsonl")) >= 50, process, "results")
        process.send_signal(signal.SIGKILL)
        process.wait()
        written = len(result_lines(out / "results.jsonl"))
        assert written < ITEMS, f"the run finished before it was killed ({point})"
        assert server.bought == ITEMS
        server.hold.set()

        resumed = subprocess.run(
            [sys.executable, "-m", "jurist", "grade", "--resume", "bought", *common],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert resumed.returncode == 0, resumed.stderr[-2000:]
        resent = server.bought - ITEMS
        assert resent == 0, f"killed at {point}: {resent} of {ITEMS} requests bought twice"
    ids = [json.loads(line)["item_id"] for line in result_lines(out / "results.jsonl")]
    assert sorted(ids) == sorted(f"x{k}" for k in range(ITEMS))
    assert json.loads(resumed.stdout)["ok"] == ITEMS
