"""The Ray engine on a cluster of several nodes simulated on this machine (`Cluster`: one
raylet per node, one CPU each), judging through a real loopback server."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ray_jobs import Background, comparable, item_of, read_results, write_job

from jurist.grading import GradeResult, make_config, run_grade
from jurist.store import Store
from scripted_server import ScriptedServer

pytestmark = pytest.mark.integration
FIELDS = {"input": "input", "response": "response", "id": "id", "labels": (), "keep": ()}
NODE = {"num_cpus": 1, "object_store_memory": 80 * 1024**2}


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    """Three nodes (the head and two workers) joined by this process; nodes are noticed
    dead within about a second, so a test that removes one need not wait long."""
    ray = pytest.importorskip("ray", reason="the Ray engine needs jurist[ray]")
    from ray.cluster_utils import Cluster

    quick = {"health_check_period_ms": 200, "health_check_failure_threshold": 3}
    head = {**NODE, "include_dashboard": False, "_system_config": quick}
    simulated = Cluster(initialize_head=True, head_node_args=head)
    for _ in range(2):
        simulated.add_node(**NODE)
    try:
        ray.init(address=simulated.address, log_to_driver=False)
        simulated.wait_for_nodes()
        yield simulated
    finally:
        ray.shutdown()
        simulated.shutdown()


def graded(prompt: str) -> str:
    """A deterministic judge: each item's score follows from its number."""
    return json.dumps({"rationale": "fixed", "score": 1 + int(item_of(prompt)[1:]) % 3})


def wait_for(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.02)


def node_of(actor: object) -> str:
    import ray

    call = actor.__ray_call__.remote(lambda _: ray.get_runtime_context().get_node_id())
    return ray.get(call, timeout=30)


def config(rubric: Path, data: Path, url: str, out: Path, **options: object):
    return make_config(
        rubric_path=str(rubric), data_path=str(data), judge=f"openai:{url}#m", fields=FIELDS,
        output_dir=str(out), **options,
    )  # fmt: skip


def test_three_nodes_write_the_asyncio_engines_judgments(cluster, tmp_path):
    import ray

    assert len([node for node in ray.nodes() if node["Alive"]]) == 3
    rubric, data = write_job(tmp_path, 30)
    results = {}
    with ScriptedServer(lambda prompt, n: ("ok", graded(prompt)), delay=0.02) as server:
        for engine in ("asyncio", "ray"):
            job = config(rubric, data, server.url, tmp_path / engine, engine=engine,
                         concurrency=4, workers=3)  # fmt: skip
            with Store(tmp_path / f"{engine}.sqlite") as store:  # each engine pays its calls
                result = run_grade(job, store)
            results[engine] = comparable(Path(result.results_path))
    assert sorted(results["ray"]) == list(range(30))
    assert results["ray"] == results["asyncio"]
    scores = {row["criteria"]["a"]["score"] for row in results["ray"].values()}
    assert scores == {1, 2, 3}  # the judgments differ by item, and both engines agree


def test_a_node_killed_midway_loses_no_item_and_repeats_no_finished_call(cluster, tmp_path):
    import ray

    doomed = cluster.add_node(**NODE)  # a fourth node, removed midway through the run
    cluster.wait_for_nodes()
    rubric, data = write_job(tmp_path, 64)
    with ScriptedServer(lambda prompt, n: ("ok", graded(prompt)), delay=0.15) as server:
        job = config(rubric, data, server.url, tmp_path / "out", engine="ray", workers=4,
                     concurrency=2)  # fmt: skip
        run = Background(job, tmp_path / "store.sqlite", "killed-node")
        wait_for(lambda: server.total >= 1)  # the workers are up
        workers = [ray.get_actor(f"jurist-killed-node-{k}") for k in range(4)]
        on_doomed = [worker for worker in workers if node_of(worker) == doomed.node_id]
        wait_for(lambda: server.total >= 40)
        calls_at_kill = server.total
        finished_before = {
            row["item_id"] for row in read_results(tmp_path / "out" / "results.jsonl")
        }
        cluster.remove_node(doomed, allow_graceful=False)  # as if it crashed
        result = run.outcome(90)
        assert isinstance(result, GradeResult)
        assert len(on_doomed) == 1  # one worker per node: each takes its node's only CPU
        assert 40 <= calls_at_kill < 100  # the kill came midway

        rows = read_results(Path(result.results_path))
        assert sorted(row["item_id"] for row in rows) == sorted(f"x{k}" for k in range(64))
        assert result.summary["items"] == 64 and result.summary["ok"] == 64
        with Store(tmp_path / "store.sqlite") as store:
            assert store.result_count("killed-node") == 64
        assert len(server.counts) == 128  # every call of every item was made
        repeated = {prompt: n for prompt, n in server.counts.items() if n > 1}
        # Only the calls in flight on the lost node (2 items at once) are asked again, and
        # none of an item finished before the kill.
        assert len(repeated) <= 2 and all(n == 2 for n in repeated.values()), repeated
        assert not {item_of(prompt) for prompt in repeated} & finished_before
