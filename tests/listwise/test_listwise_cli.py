"""`jurist grade --mode listwise`, `jurist meta` and `jurist compare` on listwise results,
against a real loopback HTTP server that ranks the response marked [best] first."""

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jurist.cli import app
from scripted_server import ScriptedServer

RUBRIC = Path(__file__).resolve().parents[2] / "src/jurist/presets/pairwise_general.yaml"
MODELS = ["small", "large", "medium"]


def _ranks_best_first(prompt: str, _n: int):
    slots = dict(re.findall(r'<response id="([A-Z])">\n(.*?)\n</response>', prompt, re.S))
    # The scripted judge prefers [best], then [good], then the rest.
    order = sorted(slots, key=lambda s: ("[best]" not in slots[s], "[good]" not in slots[s], s))
    return "ok", json.dumps({"rationale": "r", "ranking": order})


@pytest.fixture
def data(tmp_path) -> Path:
    rows = []
    for k in range(6):
        rows.append(
            {
                "id": f"q{k}",
                "input": f"question {k}",
                "responses": [f"weak {k}", f"strong {k} [best]", f"fair {k} [good]"],
                "best": 1,
                "human_scores": [0, 2, 1] if k % 2 else [1, 2, 0],
                "models": MODELS,
            }
        )
    path = tmp_path / "sets.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    return path


def test_grade_meta_compare(tmp_path, data, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "unused")
    out = tmp_path / "out"
    runner = CliRunner()
    with ScriptedServer(_ranks_best_first) as server:
        args = [
            "grade", str(RUBRIC), str(data), "--mode", "listwise", "--orders", "3",
            "--aggregate", "bt", "--judge", f"openai:{server.url}#m", "--no-logprobs",
            "--id-field", "id", "--label-field", "best", "--label-field", "human_scores",
            "--keep-field", "models", "-o", str(out), "--store", str(tmp_path / "s.sqlite"),
            "--format", "json", "--no-progress",
        ]  # fmt: skip
        graded = runner.invoke(app, args)
        assert graded.exit_code == 0, graded.output
        assert server.total == 18
        again = runner.invoke(app, [*args, "--overwrite"])
        assert again.exit_code == 0, again.output
        assert server.total == 18, "a re-run must be served from the cache"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ok"] == 6
    assert summary["listwise"]["top_consistency"]["mean"] == 1.0
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert all(r["mode"] == "listwise" and r["ranking"] == [1, 2, 0] for r in results)
    assert all(r["aggregate"] == "bt" for r in results)

    meta = runner.invoke(app, ["meta", str(out), "--format", "json"])
    assert meta.exit_code == 0, meta.output
    listwise = json.loads(meta.output)["listwise"]
    assert listwise["top1"]["value"] == 1.0 and listwise["top1"]["n"] == 6
    # Judge order 1 > 2 > 0 against human scores [0,2,1] (tau 1) and [1,2,0] (tau 1/3).
    assert listwise["kendall"]["value"] == pytest.approx((1 + 1 / 3) / 2)
    assert listwise["slot_bias"]["3"]["counts"] == [6, 6, 6]

    compared = runner.invoke(app, ["compare", str(out), "--by", "models", "--format", "json"])
    assert compared.exit_code == 0, compared.output
    pairwise = json.loads(compared.output)["pairwise"]
    assert pairwise["ranking"] == ["large", "medium", "small"]
    assert pairwise["n_pairs"] == 18
    table = runner.invoke(app, ["compare", str(out), "--by", "models"])
    assert table.exit_code == 0 and "large" in table.output


def test_missing_model_names_are_reported_with_their_field(tmp_path, data, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "unused")
    out = tmp_path / "out"
    with ScriptedServer(_ranks_best_first) as server:
        args = [
            "grade", str(RUBRIC), str(data), "--mode", "listwise", "--orders", "2",
            "--judge", f"openai:{server.url}#m", "--no-logprobs", "-o", str(out),
            "--store", str(tmp_path / "s.sqlite"), "--no-progress", "--limit", "1",
        ]  # fmt: skip
        assert CliRunner().invoke(app, args).exit_code == 0
    compared = CliRunner().invoke(app, ["compare", str(out), "--by", "models"])
    assert compared.exit_code != 0
    assert "metadata.models" in compared.output and "one per response" in compared.output
