"""Every judging mode end to end on real shared data, through both real backends:
the embedded llama-cpp model and `python -m llama_cpp.server` over HTTP."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jurist.cli import app
from jurist.grading import GradeConfig, run_grade

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[1]
PRESETS = REPO / "src" / "jurist" / "presets"


@pytest.fixture(params=["local", "server"])
def judge(request) -> str:
    if request.param == "local":
        request.getfixturevalue("gemma_path")
        return "local"
    return f"openai:{request.getfixturevalue('llama_server')}#gemma"


def grade(store, tmp_path, **config):
    config.setdefault("output_dir", str(tmp_path / "out"))
    return run_grade(GradeConfig(**config), store)


def results(result) -> list[dict]:
    return [json.loads(line) for line in Path(result.results_path).read_text().splitlines()]


def test_pointwise_summeval_every_criterion(judge, store, tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv("JURIST_DATA", str(shared_data))
    result = grade(
        store,
        tmp_path,
        rubric_path=str(PRESETS / "summeval.yaml"),
        preset="summeval",
        limit=2,
        judge=judge,
        max_tokens=160,
    )
    rows = results(result)
    assert [r["status"] for r in rows] == ["ok", "ok"]  # constrained decoding: no parse errors
    for row in rows:
        assert set(row["criteria"]) == {"coherence", "consistency", "fluency", "relevance"}
        assert set(row["labels"]) == {"coherence", "consistency", "fluency", "relevance"}
        for score in row["criteria"].values():
            assert score["score"] in (1, 2, 3, 4, 5)
            if judge == "local":  # read at the score position from the model's logits
                assert 1 <= score["expected"] <= 5
                assert abs(sum(score["distribution"].values()) - 1) < 1e-5
    summary = result.summary["criteria"]["coherence"]
    assert (
        summary["n"] == 2 and result.summary["parse_error"] == 0 and result.summary["failed"] == 0
    )


def test_pointwise_joint_with_reference(judge, store, tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv("JURIST_DATA", str(shared_data))
    result = grade(
        store, tmp_path, rubric_path=str(REPO / "examples" / "helpfulness.yaml"), data_path=str(REPO / "examples" / "answers.jsonl"),
        fields={"input": "input", "response": "response", "reference": "reference", "id": "id"},
        limit=2, judge=judge, joint=True, max_tokens=120,
    )  # fmt: skip
    rows = results(result)
    assert all(r["status"] == "ok" for r in rows)
    for row in rows:  # one call answered every criterion
        assert len(row["criteria"]) == 3 and len({c["raw"] for c in row["criteria"].values()}) == 1
    assert result.summary["model_calls"] == sum(r["calls"] for r in rows)


def test_checklist(judge, store, tmp_path):
    result = grade(
        store, tmp_path, rubric_path=str(REPO / "examples" / "safety_checklist.yaml"), mode="checklist",
        data_path=str(REPO / "examples" / "answers.jsonl"), fields={"input": "input", "response": "response", "id": "id"},
        limit=1, judge=judge, max_tokens=96,
    )  # fmt: skip
    (row,) = results(result)
    assert row["status"] == "ok" and row["checklist"]
    assert all(d["answer"] in ("yes", "no") for d in row["checklist"].values())
    assert 0.0 <= row["checklist_score"] <= 1.0
    if judge == "local":
        assert all(0.0 <= d["p_yes"] <= 1.0 for d in row["checklist"].values())


def test_pairwise_autoj_both_orders(judge, store, tmp_path, shared_data, monkeypatch):
    monkeypatch.setenv("JURIST_DATA", str(shared_data))
    result = grade(
        store, tmp_path, rubric_path=str(PRESETS / "pairwise_general.yaml"), preset="autoj", mode="pairwise",
        limit=2, judge=judge, max_tokens=120,
    )  # fmt: skip
    rows = results(result)
    assert [r["status"] for r in rows] == ["ok", "ok"]
    for row in rows:
        pair = row["pair"]
        assert pair["verdict_ab"] in ("A", "B", "tie") and pair["verdict_ba"] in ("A", "B", "tie")
        assert pair["consistent"] == (pair["verdict_ab"] == pair["verdict_ba"])
        assert pair["verdict"] == (pair["verdict_ab"] if pair["consistent"] else "tie")
        assert row["labels"]["preference"] in ("A", "B", "tie")
    # Two orders per pair; a parse retry (e.g. an answer cut by max_tokens) adds calls, never rows.
    assert result.summary["model_calls"] == sum(r["calls"] for r in rows) >= 4


def test_cli_main_job_on_embedded_judge_then_rerun_is_free(gemma_path, tmp_path, monkeypatch):
    monkeypatch.setenv("JURIST_STORE", str(tmp_path / "store.sqlite"))
    args = [
        "grade", str(REPO / "examples" / "helpfulness.yaml"), str(REPO / "examples" / "answers.jsonl"),
        "--id-field", "id", "--reference-field", "reference", "--limit", "1", "--joint",
        "--max-tokens", "120", "-o", str(tmp_path / "out"), "--format", "json",
    ]  # fmt: skip
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    summary = json.loads(first.stdout)
    assert summary["items"] == 1 and summary["ok"] == 1 and summary["model_calls"] == 1
    second = CliRunner().invoke(app, args)
    assert (
        json.loads(second.stdout)["model_calls"] == 0
        and json.loads(second.stdout)["cache_hits"] == 1
    )


@pytest.mark.slow
@pytest.mark.parametrize("placement", ["after", "none"])
def test_score_first_placements_on_the_real_model(placement, judge, store, tmp_path, shared_data,
                                                  monkeypatch):  # fmt: skip
    monkeypatch.setenv("JURIST_DATA", str(shared_data))
    result = grade(
        store, tmp_path, rubric_path=str(PRESETS / "summeval.yaml"), preset="summeval", limit=1,
        judge=judge, max_tokens=64, rationale=placement,
    )  # fmt: skip
    rows = results(result)
    assert result.summary["parse_error"] == 0 and result.summary["failed"] == 0
    for row in rows:
        for score in row["criteria"].values():
            assert score["score"] in (1, 2, 3, 4, 5)
            if judge == "local":  # the distribution at the score token
                assert 1 <= score["expected"] <= 5
            if placement == "none":
                assert score["rationale"] is None
        if placement == "none":
            assert row["completion_tokens"] <= 4 * 16  # the score alone, never a rationale
