"""One process at a time per run: a second `--resume` while the first is alive is refused
(naming the run and the process), and a run whose process died is taken over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from scripted_server import ScriptedServer

RUBRIC = """
name: r
criteria:
  - {id: q, question: "Good?", scale: {1: bad, 2: ok, 3: good}}
"""
ANSWER = json.dumps({"rationale": "fine", "score": 2})


def jurist(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "jurist", "grade", *args, "--no-progress"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ),
    )  # fmt: skip


def test_a_second_resume_of_a_live_run_is_refused_and_a_dead_ones_is_taken_over(tmp_path):
    (tmp_path / "r.yaml").write_text(RUBRIC)
    data = tmp_path / "d.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": f"i{k}", "input": f"question {k}", "response": "r"}) + "\n"
            for k in range(6)
        )
    )
    store = str(tmp_path / "s.sqlite")
    stuck = {"now": True}

    def behave(prompt: str, n: int):
        return ("hang", 60.0) if stuck["now"] else ("ok", ANSWER)

    with ScriptedServer(behave) as server:
        first = jurist(str(tmp_path / "r.yaml"), str(data), "--judge", f"openai:{server.url}#m",
                       "--store", store, "-o", str(tmp_path / "o"), "--run-id", "busy",
                       "--id-field", "id")  # fmt: skip
        deadline = time.monotonic() + 60
        while server.total == 0 and time.monotonic() < deadline:
            assert first.poll() is None, first.communicate()
            time.sleep(0.05)
        calls = server.total

        second = jurist("--resume", "busy", "--store", store)
        _, err = second.communicate(timeout=60)
        assert second.returncode == 2, err
        assert "busy" in err and str(first.pid) in err and "Traceback" not in err
        assert server.total == calls  # the refused process asked nothing

        first.send_signal(signal.SIGKILL)
        first.wait()
        stuck["now"] = False
        third = jurist("--resume", "busy", "--store", store, "--format", "json")
        out, err = third.communicate(timeout=120)
        assert third.returncode == 0, err
        assert json.loads(out)["items"] == 6
    lines = (Path(tmp_path / "o" / "results.jsonl")).read_text().splitlines()
    assert sorted(json.loads(line)["item_id"] for line in lines) == [f"i{k}" for k in range(6)]
