"""A jury of two real jurors: the embedded judge in process and the same model behind
`python -m llama_cpp.server`, on two SummEval summaries (one criterion, score first)."""

import json
from pathlib import Path

import pytest

from jurist.core.rubric import load_rubric, save_rubric
from jurist.datasets import load_summeval
from jurist.grading import grade_job

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PRESETS = Path(__file__).resolve().parents[2] / "src" / "jurist" / "presets"


def test_embedded_and_server_jurors_grade_two_summaries(
    gemma_path, llama_server, shared_data, store, tmp_path
):
    rubric = load_rubric(PRESETS / "summeval.yaml")
    one = rubric.model_copy(update={"criteria": [rubric.criteria[0]]})
    save_rubric(one, tmp_path / "coherence.yaml")
    data = tmp_path / "items.jsonl"
    with data.open("w") as handle:
        for item in load_summeval(shared_data, limit=2):
            row = {"id": item.id, "input": str(item.input)[:600], "response": item.response}
            handle.write(json.dumps({**row, "coherence": item.labels["coherence"]}) + "\n")
    given = {
        "rubric_path": str(tmp_path / "coherence.yaml"),
        "data_path": str(data),
        "jurors": ["local", f"openai:{llama_server}#gemma"],
        "rationale": "none",
        "fields": {"labels": ["coherence"]},
        "output_dir": str(tmp_path / "out"),
    }
    result = grade_job(given, store)
    rows = [json.loads(line) for line in Path(result.results_path).read_text().splitlines()]
    assert [r["status"] for r in rows] == ["ok", "ok"]
    for row in rows:
        score = row["criteria"]["coherence"]
        jurors = score["jurors"]
        assert list(jurors) == ["local", f"openai:{llama_server}#gemma"]
        assert all(v in (1, 2, 3, 4, 5) for v in jurors.values())
        assert score["score"] == pytest.approx(sum(jurors.values()) / 2)
        assert score["review"] == (max(jurors.values()) - min(jurors.values()) > 1)
        assert row["calls"] >= 2 and row["labels"]["coherence"] >= 1  # retries count too
    jury = result.summary["jury"]
    assert jury["asked"] == dict.fromkeys(rows[0]["criteria"]["coherence"]["jurors"], 2)
    assert jury["criteria"]["coherence"]["items"] == 2
    assert result.summary["model_calls"] >= 4

    again = grade_job({**given, "output_dir": str(tmp_path / "again")}, store)
    assert again.summary["model_calls"] == 0 and again.summary["cache_hits"] == 4
