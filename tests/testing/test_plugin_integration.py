"""The example project against a real `llama_cpp.server`: the tiny model's verdicts are
whatever they are, but a rerun gives the same outcomes from the cache, with 0 model calls."""

from __future__ import annotations

import re

import pytest
from test_plugin import outcome_counts, project, run_project  # noqa: F401 (a fixture)

pytestmark = pytest.mark.integration


def test_rerun_against_a_real_server_makes_no_model_calls(project, llama_server):  # noqa: F811
    judge = f"--jurist-judge=openai:{llama_server}#gemma"
    first = run_project(project, judge)
    second = run_project(project, judge)
    assert first.returncode in (0, 1), first.stdout + first.stderr
    # at least one call per case (a tiny model is sometimes re-asked for a readable answer)
    assert re.search(r"5 cases judged: ([5-9]|\d\d+) model calls", first.stdout), first.stdout
    assert "5 cases judged: 0 model calls, 5 cache hits" in second.stdout, second.stdout
    assert outcome_counts(second.stdout) == outcome_counts(first.stdout)
