"""`jurist tune` end to end on a scripted judge: the profile round-trips, `grade --profile`
adds calibrated scores with intervals, and refuses a rubric it was not made for (exit 2)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jurist.cli import app
from jurist.core.errors import ConfigError
from jurist.core.rubric import load_rubric
from jurist.session import JudgeSetup
from jurist.tune import Reading, load_profile, tune
from scripted_server import ScriptedServer

RUBRIC = """
name: r
criteria:
  - {id: q, question: "Is it good?", scale: {1: bad, 2: poor, 3: fair, 4: good, 5: great}}
"""


def answer(prompt: str, n: int) -> tuple[str, str]:
    """A lenient judge: the response's hidden quality plus one, capped at 5."""
    found = re.findall(r"quality (\d)", prompt)
    score = min(int(found[-1]) + 1, 5) if found else 3
    body = {"rationale": "ok", "score": score} if '"rationale"' in prompt else {"score": score}
    return ("ok", json.dumps(body))


def rows(n: int = 40) -> list[dict[str, object]]:
    out = []
    for k in range(n):
        quality = 1 + (k * 7) % 4  # 1..4
        out.append({
            "id": f"i{k}", "input": f"question {k}", "response": f"answer of quality {quality}",
            "q": quality, "doc": f"d{k // 4}",
        })  # fmt: skip
    return out


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rubric = tmp_path / "r.yaml"
    rubric.write_text(RUBRIC, encoding="utf-8")
    other = tmp_path / "other.yaml"
    other.write_text(RUBRIC.replace("name: r", "name: other"), encoding="utf-8")
    data = tmp_path / "data.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows()), encoding="utf-8")
    return {"rubric": rubric, "other": other, "data": data}


def test_tune_fits_a_profile_that_round_trips_and_calibrates(files, tmp_path):
    with ScriptedServer(answer) as server:
        setup = JudgeSetup(judge=f"openai:{server.url}#m", logprobs=False)
        items = [{**r, "labels": {"q": r["q"]}, "metadata": {"doc": r["doc"]}} for r in rows()]
        items = [{k: v for k, v in r.items() if k not in ("q", "doc")} for r in items]
        readings = [Reading("none"), Reading("before")]
        tuned = tune(files["rubric"], items, setup, group_field="doc", candidates=readings,
                     store=tmp_path / "s.sqlite", outer=4, inner=3, resamples=200)  # fmt: skip
    report, profile = tuned.report, tuned.profile
    assert report.n == 40 and report.groups == 10 and len(report.candidates) == 2 * 2 * 3
    # The judge is one point too lenient: the default MAE is about 1, calibration removes it.
    assert report.default.mae.value == pytest.approx(0.875, abs=0.2)
    assert report.tuned.mae.value < 0.3 and report.difference.mae.value < -0.5
    assert profile.criteria["q"].calibration["kind"] in ("isotonic", "ordinal")
    path = profile.save(tmp_path / "p.yaml")
    assert load_profile(path) == profile
    with pytest.raises(ConfigError, match="made for rubric 'r'"):
        profile.check(load_rubric(files["other"]), setup)
    with pytest.raises(ConfigError, match="made for judge"):
        profile.check(load_rubric(files["rubric"]), JudgeSetup(judge="openai:gpt-4o-mini"))


def test_cli_tune_then_grade_with_the_profile(files, tmp_path):
    runner = CliRunner()
    store = str(tmp_path / "s.sqlite")
    with ScriptedServer(answer) as server:
        judge = f"openai:{server.url}#m"
        common = [str(files["data"]), "--judge", judge, "--store", store]
        tuned = runner.invoke(app, [
            "tune", str(files["rubric"]), *common, "--label-field", "q", "--group-field", "doc",
            "--rationale", "none", "-o", str(tmp_path / "p.yaml"),
        ])  # fmt: skip
        assert tuned.exit_code == 0, tuned.output
        graded = runner.invoke(app, [
            "grade", str(files["rubric"]), *common, "--profile", str(tmp_path / "p.yaml"),
            "-o", str(tmp_path / "out"), "--no-progress", "--logprobs",
        ])  # fmt: skip
        refused = runner.invoke(app, [
            "grade", str(files["other"]), *common, "--profile", str(tmp_path / "p.yaml"),
            "-o", str(tmp_path / "out2"), "--no-progress",
        ])  # fmt: skip
    assert graded.exit_code == 0, graded.output
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    first = json.loads(lines[0])["criteria"]["q"]
    assert first["calibrated"] is not None and len(first["interval"]) == 2
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["criteria"]["q"]["calibrated"]["n"] == 40
    assert refused.exit_code == 2 and "made for rubric 'r'" in refused.output


def test_cli_tune_grades_only_the_readings_asked_for(files, tmp_path):
    runner = CliRunner()
    with ScriptedServer(answer) as server:
        common = [
            "tune", str(files["rubric"]), str(files["data"]), "--judge",
            f"openai:{server.url}#m", "--store", str(tmp_path / "s.sqlite"), "--label-field",
            "q", "--group-field", "doc", "-o", str(tmp_path / "p.yaml"),
        ]  # fmt: skip
        asked = [*common, "--rationale", "none", "--layout", "item-first", "--samples", "1"]
        tuned = runner.invoke(app, asked)
        bad_layout = runner.invoke(app, [*common, "--layout", "sideways"])
        bad_samples = runner.invoke(app, [*common, "--samples", "0"])
    assert tuned.exit_code == 0, tuned.output
    assert re.findall(r"grading under (\S+)", tuned.output) == ["none/item-first/x1"]
    assert load_profile(tmp_path / "p.yaml").reading()["layout"] == "item-first"
    assert bad_layout.exit_code == 2 and "--layout sideways" in bad_layout.output
    assert bad_samples.exit_code == 2 and "--samples" in bad_samples.output
