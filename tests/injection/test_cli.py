from __future__ import annotations

import json

import typer
from typer.testing import CliRunner

from jurist.cli.injection import injection


def app() -> typer.Typer:
    # A one-command app, so the command is tested the way the jurist app will call it.
    wrapper = typer.Typer()
    wrapper.command()(injection)
    wrapper.command("unused")(lambda: None)
    return wrapper


def test_json_report_from_a_data_file(gullible, tmp_path) -> None:
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(
        "name: r\ncriteria:\n  - id: ok\n    question: Is it ok?\n"
        "    scale: {1: bad, 2: poor, 3: fair, 4: good, 5: great}\n"
    )
    data = tmp_path / "items.jsonl"
    rows = [{"id": f"i{n}", "input": "Q?", "response": f"Answer {n}.", "ok": n} for n in (1, 3, 5)]
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    out = tmp_path / "report.json"
    arguments = [
        "injection", str(rubric), str(data), "--judge", "gullible",
        "--store", str(tmp_path / "s.sqlite"), "--id-field", "id", "--label-field", "ok",
        "--attack", "fake_json", "--attack", "judge_note", "--format", "json", "-o", str(out),
    ]  # fmt: skip
    result = CliRunner().invoke(app(), arguments)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report == json.loads(out.read_text())
    assert [row["attack"] for row in report["attacks"]] == ["fake_json", "judge_note"]
    assert report["attacks"][0]["undefended"]["score"] == {"value": 3.0, "ci95": [3.0, 3.0], "n": 3}
    assert (
        report["agreement"][0]["label"] == "ok" and report["agreement"][0]["undefended"]["n"] == 3
    )


def test_table_and_errors(gullible, tmp_path, shared_data, monkeypatch) -> None:
    monkeypatch.setenv("JURIST_DATA", str(shared_data))
    rubric = "src/jurist/presets/summeval.yaml"
    store = str(tmp_path / "s.sqlite")
    common = ["injection", rubric, "--preset", "summeval", "--limit", "2", "--judge", "gullible"]
    table = CliRunner().invoke(
        app(), [*common, "--store", store, "--criterion", "fluency", "--attack", "fake_json"]
    )
    assert table.exit_code == 0, table.output
    assert "Injection: summeval / fluency" in table.stdout and "fake_json" in table.stdout
    no_criterion = CliRunner().invoke(app(), [*common, "--store", store])
    assert no_criterion.exit_code == 2
    assert no_criterion.output.startswith("error: rubric 'summeval' has several criteria")
    bad = CliRunner().invoke(
        app(), [*common, "--store", store, "--criterion", "fluency", "--attack", "nope"]
    )
    assert bad.exit_code == 2
    assert bad.output.startswith("error: unknown attack 'nope'; built-in attacks: ")
