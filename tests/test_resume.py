"""SIGKILL a real `jurist grade` process midway, resume it, and count calls on the server."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from scripted_server import ScriptedServer

REPO = Path(__file__).resolve().parents[1]
ANSWER = json.dumps({"rationale": "fine", "score": 2})
RUBRIC = """
name: r
criteria:
  - {id: a, question: "Good?", scale: {1: bad, 2: ok, 3: good}}
  - {id: b, question: "Clear?", scale: {1: bad, 2: ok, 3: good}}
"""


def jurist(*args: str, env: dict[str, str]) -> subprocess.Popen:
    code = "from jurist.cli import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_results(path: Path) -> list[dict]:
    lines = path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def settle(server: ScriptedServer, quiet: float = 0.3, limit: float = 5.0) -> None:
    """Wait until the server has read every request already on its way (none new for
    `quiet` seconds): a killed client's last request may still sit in the socket."""
    deadline = time.monotonic() + limit
    last, since = server.total, time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.05)
        if server.total != last:
            last, since = server.total, time.monotonic()


def test_sigkill_then_resume_repeats_no_finished_call(tmp_path):
    data = tmp_path / "items.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": f"x{k}", "input": f"question {k}", "response": "r"}) + "\n"
            for k in range(40)
        )
    )
    (tmp_path / "rubric.yaml").write_text(RUBRIC)
    out = tmp_path / "out"
    env = {**os.environ, "JURIST_STORE": str(tmp_path / "store.sqlite")}
    with ScriptedServer(lambda prompt, n: ("ok", ANSWER), delay=0.05) as server:
        args = [
            "grade", str(tmp_path / "rubric.yaml"), str(data), "--judge", f"openai:{server.url}#m",
            "-o", str(out), "--id-field", "id", "--concurrency", "2", "--no-progress", "--run-id", "killed",
        ]  # fmt: skip
        process = jurist(*args, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (out / "results.jsonl").exists() and len(read_results(out / "results.jsonl")) >= 8:
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
        settle(server)  # requests the killed process had already sent are counted first
        finished_before = {r["item_id"] for r in read_results(out / "results.jsonl")}
        assert 8 <= len(finished_before) < 40
        calls_before = dict(server.counts)

        resumed = jurist("grade", "--resume", "killed", "--format", "json", env=env)
        stdout, stderr = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, stderr
        summary = json.loads(stdout)
        results = read_results(out / "results.jsonl")
        ids = [r["item_id"] for r in results]
        assert sorted(ids) == sorted(f"x{k}" for k in range(40))  # complete, no duplicates
        assert summary["items"] == 40 and summary["ok"] == 40
        for prompt, count in server.counts.items():
            item = "x" + prompt.split("question ", 1)[1].split("\n", 1)[0]
            if item in finished_before:
                assert count == 1, f"{item} was finished before the kill but called {count} times"
            else:
                # At most the calls in flight at the kill are asked again.
                assert count <= calls_before.get(prompt, 0) + 1
        total_after_resume = server.total

        rerun = jurist(
            "grade", str(tmp_path / "rubric.yaml"), str(data), "--judge", f"openai:{server.url}#m",
            "-o", str(tmp_path / "again"), "--id-field", "id", "--format", "json",
            env=env,
        )  # fmt: skip
        stdout, stderr = rerun.communicate(timeout=120)
        assert rerun.returncode == 0, stderr
        assert server.total == total_after_resume  # a finished job re-run makes zero model calls
        assert json.loads(stdout)["model_calls"] == 0
