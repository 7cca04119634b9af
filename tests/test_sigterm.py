"""SIGTERM (what `timeout`, systemd, Kubernetes and CI runners send) ends a run as Ctrl-C
does: sending stops, finished items are kept, the run is marked interrupted, its summary is
written, and the process exits 143; `--resume` then finishes it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from jurist.grading import grade_job
from jurist.store import Store
from scripted_server import ScriptedServer

RUBRIC = """
name: r
criteria:
  - {id: q, question: "Good?", scale: {1: bad, 2: ok, 3: good}}
"""
ANSWER = json.dumps({"rationale": "fine", "score": 2})


def result_ids(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line)["item_id"] for line in text.splitlines() if line.strip()]


def test_sigterm_stops_keeps_answers_marks_interrupted_and_exits_143(tmp_path):
    (tmp_path / "r.yaml").write_text(RUBRIC)
    data = tmp_path / "d.jsonl"
    data.write_text(
        "".join(
            json.dumps({"id": f"i{k}", "input": f"question {k}", "response": "r"}) + "\n"
            for k in range(30)
        )
    )
    out = tmp_path / "o"
    store_path = tmp_path / "s.sqlite"
    slow = {"now": True}

    def behave(prompt: str, n: int):
        # Four answers come quickly; the rest hang until the process is gone.
        number = int(prompt.split("question ", 1)[1].split()[0])
        return ("hang", 60.0) if slow["now"] and number >= 4 else ("ok", ANSWER)

    with ScriptedServer(behave) as server:
        process = subprocess.Popen(
            [sys.executable, "-m", "jurist", "grade", str(tmp_path / "r.yaml"), str(data),
             "--judge", f"openai:{server.url}#m", "--store", str(store_path), "-o", str(out),
             "--no-progress", "--run-id", "termed", "--id-field", "id", "--concurrency", "4",
            ],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while len(result_ids(out / "results.jsonl")) < 4 and time.monotonic() < deadline:
            assert process.poll() is None, process.communicate()
            time.sleep(0.05)
        while server.total < 8 and time.monotonic() < deadline:
            time.sleep(0.05)  # the next calls are in flight, hanging
        sent_before = server.total
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=30)
        elapsed = time.monotonic() - started
        assert process.returncode == 143 and elapsed < 10, (process.returncode, elapsed, err)
        assert "--resume termed" in err and "Traceback" not in err
        assert server.total == sent_before  # nothing was sent after the signal
        kept = result_ids(out / "results.jsonl")
        assert sorted(kept) == ["i0", "i1", "i2", "i3"]
        summary = json.loads((out / "summary.json").read_text())
        assert summary["status"] == "interrupted" and summary["items"] == 4
        with Store(store_path) as db:
            assert db.run_status("termed") == "interrupted"
            slow["now"] = False
            resumed = grade_job({}, db, resume="termed")
            assert db.run_status("termed") == "finished"
    assert sorted(result_ids(Path(resumed.results_path))) == sorted(f"i{k}" for k in range(30))
