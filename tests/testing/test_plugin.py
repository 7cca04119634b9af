"""The pytest plugin end to end: the example project run in a subprocess under
`pytest -p jurist.testing.plugin` against a scripted judge server. A good answer passes, a
bad one fails with a readable message, a rerun makes 0 model calls, and the report folder
opens like any run."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from judge_script import scripted_judge
from typer.testing import CliRunner

from jurist.cli import app
from scripted_server import ScriptedServer

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pytest_project"


def run_project(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-p", "jurist.testing.plugin", "-p",
               "no:cacheprovider", "-rfEx", *args]  # fmt: skip
    env = {**os.environ, "COLUMNS": "160"}
    env.pop("JURIST_STORE", None)
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, env=env, timeout=300)


def outcome_counts(output: str) -> dict[str, int]:
    last = output.strip().splitlines()[-1]
    return {word: int(count) for count, word in re.findall(r"(\d+) (\w+)", last)}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns(".jurist", "__pycache__"))
    return folder


def test_example_project_passes_good_fails_bad_and_reruns_free(project, tmp_path):
    with ScriptedServer(scripted_judge) as server:
        judge = f"--jurist-judge=openai:{server.url}#m"
        first = run_project(project, judge)
        calls_after_first = server.total
        second = run_project(project, judge, "--jurist-report=report")
        calls_after_second = server.total
    output = first.stdout + first.stderr
    assert first.returncode == 1, output
    assert outcome_counts(first.stdout) == {"failed": 1, "passed": 4, "xfailed": 1}, output
    assert "FAILED test_answers.py::test_bad_answer_fails" in output
    # the message: the score, what was required, the judge's rationale
    assert "accuracy: score 1, required >= 4  FAILED" in output
    assert "rationale: The response names Sydney, but the reference says Canberra." in output
    assert "inconclusive: n too small" in output and "cases would decide" in output
    # the terminal summary: calls, and the pass rate with its interval
    assert "5 cases judged: 5 model calls, 0 cache hits" in output
    assert "accuracy: pass rate 0.80 [" in output and "n=5" in output
    assert calls_after_first == 5
    # the rerun: same outcomes, every answer from the cache
    assert outcome_counts(second.stdout) == outcome_counts(first.stdout), second.stdout
    assert "5 cases judged: 0 model calls, 5 cache hits" in second.stdout
    assert calls_after_second == calls_after_first
    assert (project / ".jurist" / "store.sqlite").is_file()  # [tool.jurist] store
    check_report(project / "report", project / ".jurist" / "store.sqlite", tmp_path)


def check_report(report: Path, store: Path, tmp_path: Path) -> None:
    """The report folder is an ordinary run: results, summary, the stored run."""
    lines = (report / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 5
    ids = [json.loads(line)["item_id"] for line in lines]
    assert "test_answers.py::test_bad_answer_fails" in ids
    assert "test_answers.py::test_answers[france]" in ids
    summary = json.loads((report / "summary.json").read_text(encoding="utf-8"))
    assert summary["items"] == 5 and summary["status"] == "finished"
    assert summary["criteria"]["accuracy"]["n"] == 5
    html = tmp_path / "report.html"
    result = CliRunner().invoke(
        app, ["report", str(report), "-o", str(html), "--store", str(store)]
    )
    assert result.exit_code == 0, result.output
    text = html.read_text(encoding="utf-8")
    assert "The capital of Australia is Sydney." in text  # the judged items are found


def test_plugin_options_replace_tool_jurist_and_bad_settings_are_usage_errors(project):
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n[tool.jurist.extra]\nx = 1\n")
    broken = run_project(project, "--co")
    assert broken.returncode == 4 and "[tool.jurist] does not know ['extra']" in broken.stderr


def test_a_session_that_judges_nothing_loads_no_model(tmp_path):
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    assert True\n")
    result = run_project(tmp_path, "--jurist-judge=openai:http://127.0.0.1:9/v1#m")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "jurist" not in result.stdout.split("passed")[-1]
    assert "cases judged" not in result.stdout
