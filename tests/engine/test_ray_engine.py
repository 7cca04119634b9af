"""The Ray engine on a real local Ray cluster, judging through real loopback servers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ray_jobs import Background, comparable, item_of, read_results, write_job

from jurist.core.errors import BackendError
from jurist.grading import GradeResult, make_config, run_grade
from jurist.store import Store
from scripted_server import ScriptedServer

pytestmark = pytest.mark.integration
ANSWER = json.dumps({"rationale": "fine", "score": 2})
ONE_CRITERION = (
    "name: r\ncriteria:\n  - {id: a, question: 'Good?', scale: {1: bad, 2: ok, 3: good}}\n"
)
FIELDS = {"input": "input", "response": "response", "id": "id", "labels": (), "keep": ()}


def config(rubric: Path, data: Path, judge: str, out: Path, **options: object):
    return make_config(
        rubric_path=str(rubric), data_path=str(data), judge=judge, fields=FIELDS,
        output_dir=str(out), **options,
    )  # fmt: skip


def test_same_results_as_asyncio_engine(ray_cluster, llama_server, tmp_path):
    rubric, data = write_job(tmp_path, 2, rubric=ONE_CRITERION)
    judge = f"openai:{llama_server}#gemma"
    results = {}
    for engine in ("asyncio", "ray"):
        job = config(rubric, data, judge, tmp_path / engine, engine=engine, rationale="none",
                     concurrency=1, workers=2, max_tokens=16)  # fmt: skip
        with Store(tmp_path / f"{engine}.sqlite") as store:  # each engine pays for its calls
            result = run_grade(job, store)
        results[engine] = comparable(Path(result.results_path))
    assert sorted(results["ray"]) == [0, 1]
    assert results["ray"] == results["asyncio"]
    assert any(row["status"] == "ok" for row in results["ray"].values())


def test_killed_worker_loses_nothing_and_repeats_no_finished_call(ray_cluster, tmp_path):
    import ray

    rubric, data = write_job(tmp_path, 24)
    with ScriptedServer(lambda prompt, n: ("ok", ANSWER), delay=0.15) as server:
        job = config(rubric, data, f"openai:{server.url}#m", tmp_path / "out", engine="ray",
                     workers=2, concurrency=2)  # fmt: skip
        run = Background(job, tmp_path / "store.sqlite", "killed-worker")
        deadline = time.monotonic() + 90
        while server.total < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        worker = ray.get_actor("jurist-killed-worker-0")
        pid = ray.get(worker.describe.remote())[3]
        calls_at_kill = server.total
        os.kill(pid, signal.SIGKILL)
        result = run.outcome(120)
        assert isinstance(result, GradeResult)
        assert 10 <= calls_at_kill < 48  # the kill came midway

        rows = read_results(Path(result.results_path))
        assert sorted(r["item_id"] for r in rows) == sorted(f"x{k}" for k in range(24))
        assert result.summary["ok"] == 24
        repeated = {p: n for p, n in server.counts.items() if n > 1}
        # Only the calls in flight on the killed worker (2 items, one call each) are asked
        # again; every call it had finished was streamed to the driver and stored.
        assert len(repeated) <= 2 and all(n == 2 for n in repeated.values()), repeated
        assert len(server.counts) == 48

        total = server.total
        rerun = config(rubric, data, f"openai:{server.url}#m", tmp_path / "again",
                       engine="ray", workers=2, concurrency=2)  # fmt: skip
        with Store(tmp_path / "store.sqlite") as store:
            again = run_grade(rerun, store)
        assert server.total == total  # a finished job costs no call the second time
        assert again.summary["ok"] == 24 and again.summary["items"] == 24


def jurist(*args: str, env: dict[str, str]) -> subprocess.Popen:
    code = "from jurist.cli import main; main()"
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def test_resume_after_killed_driver(ray_cluster, tmp_path):
    rubric, data = write_job(tmp_path, 20)
    out = tmp_path / "out"
    env = {**os.environ, "JURIST_STORE": str(tmp_path / "store.sqlite")}
    env.pop("RAY_ADDRESS", None)
    with ScriptedServer(lambda prompt, n: ("ok", ANSWER), delay=0.1) as server:
        process = jurist(
            "grade", str(rubric), str(data), "--judge", f"openai:{server.url}#m", "-o", str(out),
            "--id-field", "id", "--engine", "ray", "--address", ray_cluster, "--workers", "2",
            "--concurrency", "2", "--no-progress", "--run-id", "killed-driver", env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and process.poll() is None:
            if (out / "results.jsonl").exists() and len(read_results(out / "results.jsonl")) >= 6:
                break
            time.sleep(0.02)
        assert process.poll() is None, process.communicate()
        process.send_signal(signal.SIGKILL)
        process.wait()
        finished_before = {r["item_id"] for r in read_results(out / "results.jsonl")}
        assert 6 <= len(finished_before) < 20

        resumed = jurist("grade", "--resume", "killed-driver", "--format", "json",
                         "--address", ray_cluster, env=env)  # fmt: skip
        stdout, stderr = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, stderr
        summary = json.loads(stdout)
        ids = [r["item_id"] for r in read_results(out / "results.jsonl")]
        assert sorted(ids) == sorted(f"x{k}" for k in range(20))  # complete, no duplicates
        assert summary["items"] == 20 and summary["ok"] == 20
        for prompt, count in server.counts.items():
            if item_of(prompt) in finished_before:
                assert count == 1, f"{item_of(prompt)} finished before the kill, called {count}x"
            else:
                assert count <= 2  # at most the calls in flight at the kill are asked again


def test_a_judge_the_workers_cannot_build_is_a_clear_error(ray_cluster, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    rubric, data = write_job(tmp_path, 2)
    job = config(rubric, data, "openai:some-model", tmp_path / "out", engine="ray", workers=1,
                 api_key_env="JURIST_TEST_UNSET_KEY")  # fmt: skip
    with Store(tmp_path / "store.sqlite") as store, pytest.raises(BackendError) as caught:
        run_grade(job, store)
    assert "could not build the judge" in str(caught.value)
    assert "JURIST_TEST_UNSET_KEY" in str(caught.value)
