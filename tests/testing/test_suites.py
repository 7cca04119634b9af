"""`jurist run`: suites from a jurist.yaml graded through the cache, thresholds decided on
their intervals, the gate against a baseline, and the table / JUnit / Markdown reports."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from judge_script import scripted_judge
from typer.testing import CliRunner

from jurist.cli import app
from jurist.core.errors import ConfigError
from jurist.testing.suites import load_suite_file, run_suites
from scripted_server import ScriptedServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ci"


@pytest.fixture
def server():
    with ScriptedServer(scripted_judge) as running:
        yield running


def project(tmp_path: Path, judge: str, **suite: object) -> Path:
    """The CI example with the scripted judge and the suite's settings changed."""
    folder = tmp_path / "ci"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".github"))
    config = yaml.safe_load((folder / "jurist.yaml").read_text())
    config["suites"]["answers"] |= {"judge": judge, **suite}
    (folder / "jurist.yaml").write_text(yaml.safe_dump(config))
    return folder


def spoil(folder: Path, n: int) -> None:
    """The first `n` answers become wrong ones."""
    path = folder / "answers.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    for row in rows[:n]:
        row["answer"] = "Ask in Sydney."
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def jurist_run(folder: Path, *args: str):
    return CliRunner().invoke(app, ["run", "-f", str(folder / "jurist.yaml"), *args])


def test_suite_runs_through_the_cache_and_checks_thresholds(tmp_path, server):
    folder = project(tmp_path, f"openai:{server.url}#m", baseline=None)
    first = jurist_run(folder)
    calls = server.total
    again = run_suites(folder / "jurist.yaml")
    assert first.exit_code == 0, first.output
    assert "accuracy: mean 5.00" in first.output and "required >= 3: pass" in first.output
    assert "jurist run: pass" in first.output
    assert calls == 8  # 4 answers x 2 criteria
    suite = again.suites[0]
    assert server.total == calls and suite.summary.model_calls == 0  # all from the cache
    assert (folder / "jurist-runs" / "answers" / "results.jsonl").is_file()
    assert (folder / ".jurist" / "store.sqlite").is_file()  # the suite file's store
    # a threshold needs its interval to clear the bar: 4 perfect scores and 0 wrong pass,
    # 2 of 4 wrong straddle 3.0 (inconclusive, exit 0), all wrong fail
    spoil(folder, 2)
    mixed = run_suites(folder / "jurist.yaml").suites[0]
    assert {c.name: c.decision for c in mixed.thresholds} == {
        "accuracy": "inconclusive", "clarity": "inconclusive",
    }  # fmt: skip
    assert mixed.exit_code == 0
    spoil(folder, 4)
    failed = jurist_run(folder, "--format", "junit", "-o", str(tmp_path / "junit.xml"))
    assert failed.exit_code == 1, failed.output
    suite_xml = ET.parse(tmp_path / "junit.xml").getroot().find("testsuite")
    assert suite_xml.get("name") == "answers" and suite_xml.get("failures") == "2"
    failure = suite_xml.find("testcase[@name='threshold accuracy']/failure")
    assert "required >= 3: fail" in failure.get("message")


def test_strict_suite_fails_when_inconclusive(tmp_path, server):
    folder = project(tmp_path, f"openai:{server.url}#m", baseline=None, strict=True)
    spoil(folder, 2)
    assert jurist_run(folder).exit_code == 1


def test_gate_against_the_baseline_run(tmp_path, server):
    folder = project(tmp_path, f"openai:{server.url}#m", baseline="base", max_drop=0.5)
    widen(folder, 3)  # 12 items: the gate decides nothing on fewer than 10 pairs
    first = jurist_run(folder)
    assert first.exit_code == 0, first.output
    assert "baseline base not found (a first run?): not gated" in first.output
    shutil.copytree(folder / "jurist-runs" / "answers", folder / "base")
    same = jurist_run(folder, "--format", "markdown")
    assert same.exit_code == 0, same.output
    assert same.output.startswith("## jurist run: **pass**")
    assert "| accuracy (mean) | 5.00" in same.output and "### jurist gate: **pass**" in same.output
    spoil(folder, 12)
    worse = run_suites(folder / "jurist.yaml").suites[0]
    assert worse.gate is not None and worse.gate.decision == "regressed"
    assert worse.decision == "fail" and worse.exit_code == 1


def test_suite_file_problems_are_config_errors(tmp_path, server):
    folder = project(tmp_path, f"openai:{server.url}#m", baseline=None)
    unknown = jurist_run(folder, "nope")
    assert unknown.exit_code == 2 and "no suite ['nope']" in unknown.output
    (folder / "bad.yaml").write_text("suites: {a: {rubric: r.yaml, colour: red}}\n")
    with pytest.raises(ConfigError, match=r"suites\.a\.colour: Extra inputs are not permitted"):
        load_suite_file(folder / "bad.yaml")
    with pytest.raises(ConfigError, match="fields: unknown roles"):
        run_suites(write(folder, {"suites": {"a": {"rubric": "rubric.yaml",
                   "data": "answers.jsonl", "fields": {"answer": "x"}}}}))  # fmt: skip


def write(folder: Path, config: dict) -> Path:
    path = folder / "other.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def widen(folder: Path, copies: int) -> None:
    """The example's answers repeated under new ids: enough items to gate in batches."""
    path = folder / "answers.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    many = [{**row, "id": f"{row['id']}-{k}"} for k in range(copies) for row in rows]
    path.write_text("".join(json.dumps(row) + "\n" for row in many))


def test_until_decided_grades_in_batches_and_stops_when_settled(tmp_path, server):
    folder = project(tmp_path, f"openai:{server.url}#m", baseline="base", max_drop=0.5)
    widen(folder, 20)  # 80 items
    assert jurist_run(folder).exit_code == 0
    shutil.copytree(folder / "jurist-runs" / "answers", folder / "base")
    spoil_all = [json.loads(line) for line in (folder / "answers.jsonl").read_text().splitlines()]
    for row in spoil_all:
        row["answer"] = "Ask in Sydney."
    (folder / "answers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in spoil_all))
    calls = server.total
    worse = run_suites(folder / "jurist.yaml", budget=80, batch_size=10).suites[0]
    assert worse.gate is not None and worse.gate.decision == "regressed"
    graded = (server.total - calls) // 2  # two criteria per item
    assert 0 < graded < 80  # settled before the budget was spent
    assert worse.exit_code == 1
    result = jurist_run(folder, "--until-decided", "--budget", "80")
    assert result.exit_code == 1, result.output
