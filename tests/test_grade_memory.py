"""The grading job in memory (`jurist.grade`), and runs stored before the config had parts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import jurist
from jurist.core.data import FieldMap
from jurist.core.errors import ConfigError
from jurist.core.rubric import load_rubric
from jurist.datasets import ItemSource
from jurist.grading import GradeConfig, grade_job
from jurist.judges import JudgeOptions
from jurist.prompts import templates_hash
from jurist.session import JudgeSetup
from jurist.store import Store
from scripted_server import ScriptedServer

RUBRIC_YAML = """
name: r
criteria:
  - {id: q, question: "Is it good?", scale: {1: bad, 2: poor, 3: fair, 4: good, 5: great}}
"""
ANSWER = json.dumps({"rationale": "fine", "score": 4})


@pytest.fixture
def rubric(tmp_path: Path) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(RUBRIC_YAML, encoding="utf-8")
    return path


def rows(n: int) -> list[dict[str, str]]:
    return [{"id": f"i{k}", "input": f"question {k}", "response": f"answer {k}"} for k in range(n)]


def test_grade_in_memory_streams_judgments_and_writes_no_files(rubric, tmp_path):
    setup = JudgeSetup(options=JudgeOptions(want_logprobs=False), logprobs=False)
    before = set(tmp_path.iterdir())
    streamed = []
    with ScriptedServer(lambda prompt, n: ("ok", ANSWER)) as server:
        setup = setup.with_changes(judge=f"openai:{server.url}#m")
        with Store(tmp_path / "s.sqlite") as store:
            run = jurist.grade(rubric, rows(5), setup, store=store, on_result=streamed.append)
            again = jurist.grade(load_rubric(rubric), rows(5), setup, store=store)
        calls = server.total
    assert [j.item_id for j in run.judgments] == [f"i{k}" for k in range(5)]
    assert sorted(j.item_id for j in streamed) == [f"i{k}" for k in range(5)]
    assert all(j.criteria["q"].score == 4 for j in run.judgments)
    assert run.summary.items == 5 and run.summary.ok == 5 and run.summary.model_calls == 5
    assert again.summary.cache_hits == 5 and again.summary.model_calls == 0 and calls == 5
    written = {p.name for p in set(tmp_path.iterdir()) - before}
    assert {name.split("-")[0] for name in written} == {"s.sqlite"}  # the store, nothing else


def test_grade_in_memory_saves_under_a_run_and_reads_an_items_source(rubric, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows(3)), encoding="utf-8")
    source = ItemSource(data=data, fields=FieldMap(id="id"), limit=2)
    with ScriptedServer(lambda prompt, n: ("ok", ANSWER)) as server:
        setup = JudgeSetup(judge=f"openai:{server.url}#m", logprobs=False)
        with Store(tmp_path / "s.sqlite") as store:
            run = jurist.grade(rubric, source, setup, store=store, run_id="mem")
            saved = sorted(j.item_id for j in store.iter_results("mem"))
    assert run.run_id == "mem" and saved == ["i0", "i1"]


def old_flat_config(rubric: Path, data: Path, out: Path, judge: str) -> dict:
    """A run's config as stored before the config had parts: one flat object."""
    fields = {"input": "input", "response": "response", "response_b": None, "reference": None,
              "id": "id", "labels": [], "keep": [], "responses": []}  # fmt: skip
    source = ItemSource(data=data, fields=FieldMap(**{**fields, "labels": (), "keep": ()}))
    return {
        "rubric_path": str(rubric), "data_path": str(data), "preset": None,
        "mode": "pointwise", "judge": judge, "jurors": [], "jury": None,
        "jury_aggregate": None, "weights": [], "fields": fields, "skip_bad_rows": False,
        "limit": None, "joint": False, "both_orders": True, "orders": 4, "aggregate": "borda",
        "rationale": "before", "layout": "rubric-first", "defend_injection": False,
        "samples": 1, "temperature": 0.0, "sample_temperature": 0.7, "seed": 0,
        "max_tokens": 384, "parse_retries": 2, "concurrency": 4, "timeout": 120.0,
        "max_attempts": 6, "rpm": None, "tpm": None, "logprobs": False,
        "api_key_env": "OPENAI_API_KEY", "output_dir": str(out), "engine": "asyncio",
        "address": None, "workers": None,
        "rubric_hash": load_rubric(rubric).content_hash, "templates_hash": templates_hash(),
        "input_hash": source.fingerprint(),
    }  # fmt: skip


def test_a_run_stored_flat_before_the_parts_still_resumes(rubric, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows(4)), encoding="utf-8")
    out = tmp_path / "out"
    with ScriptedServer(lambda prompt, n: ("ok", ANSWER)) as server:
        judge = f"openai:{server.url}#m"
        flat = old_flat_config(rubric, data, out, judge)
        config = GradeConfig.model_validate(flat)
        assert config.setup.judge == judge and config.items.fields.id == "id"
        assert config.flat()["max_tokens"] == 384 and config.engine.kind == "asyncio"
        with Store(tmp_path / "s.sqlite") as store:
            store.create_run("old", flat)
            resumed = grade_job({"concurrency": 2}, store, resume="old")
    assert resumed.summary["items"] == 4 and resumed.summary["ok"] == 4
    assert resumed.notes == ["concurrency: 4 -> 2"]


def test_a_stored_config_that_cannot_be_read_is_refused_with_the_reason(rubric, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows(2)), encoding="utf-8")
    flat = old_flat_config(rubric, data, tmp_path / "out", "openai:http://127.0.0.1:9/v1#m")
    flat["fields"] = {**flat["fields"], "colour": "red"}  # a field no version ever knew
    with Store(tmp_path / "s.sqlite") as store:
        store.create_run("odd", flat)
        with pytest.raises(ConfigError, match=r"stored settings cannot be read.*new run"):
            grade_job({}, store, resume="odd")


def test_the_nested_config_round_trips_through_its_stored_json(rubric, tmp_path):
    config = GradeConfig.from_flat(
        {"rubric_path": str(rubric), "data_path": "d.jsonl", "mode": "listwise", "orders": 3,
         "concurrency": 2, "jurors": None, "max_attempts": 3}
    )  # fmt: skip
    stored = json.loads(json.dumps(config.model_dump(mode="json")))
    again = GradeConfig.model_validate(stored)
    assert again == config and again.setup.options.orders == 3  # type: ignore[attr-defined]
    assert again.setup.calls.retry.max_attempts == 3 and again.jury is None
    with pytest.raises(ConfigError, match="--max-tokens"):
        GradeConfig.from_flat({"rubric_path": str(rubric), "max_tokens": 0})
