"""The built-in profile: which new jobs use it, that options given on the command line win
(or turn it off where they change its reading), that it never breaks a rubric it was not
fitted on, that a resume keeps the profile its run started with, and (integration) that
the README's first command grades through it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jurist.cli import app
from jurist.core.errors import ConfigError
from jurist.core.judgment import CriterionScore, PointwiseJudgment
from jurist.core.rubric import load_rubric
from jurist.grading import GradeConfig, grade_job, make_config, resume_config
from jurist.judges import JudgeOptions
from jurist.session import JudgeSetup
from jurist.store import Store
from jurist.tune import (
    CriterionProfile,
    Profile,
    Provenance,
    builtin_names,
    profile_for_grading,
    read_profile,
    resolve_profile,
)
from scripted_server import ScriptedServer

REPO = Path(__file__).resolve().parents[2]
HELPFULNESS = REPO / "examples" / "helpfulness.yaml"
SUMMEVAL = REPO / "src" / "jurist" / "presets" / "summeval.yaml"


def test_the_embedded_judge_has_a_shipped_builtin_profile_measured_out_of_sample():
    assert "builtin:local" in builtin_names()
    profile = read_profile("builtin:local")
    assert profile.name == "builtin:local" and profile.judge == "local"
    assert profile.scope == "any" and profile.general is not None
    assert profile.provenance.split and profile.provenance.heldout is not None
    assert set(profile.criteria) == {"coherence", "consistency", "fluency", "relevance"}
    with pytest.raises(ConfigError, match="no such built-in profile"):
        read_profile("builtin:nosuch")


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({}, "builtin:local"),
        ({"judge": "local"}, "builtin:local"),
        ({"max_tokens": 64, "concurrency": 2}, "builtin:local"),  # not its reading
        ({"rationale": "before"}, None),  # another reading: the raw judge
        ({"joint": True}, None),
        ({"samples": 3}, None),
        ({"judge": "openai:gpt-4o-mini"}, None),
        ({"judge": "local:/models/other.gguf"}, None),
        ({"mode": "pairwise"}, None),
        ({"jurors": ["local", "openai:m"]}, None),
    ],
)
def test_which_new_jobs_use_the_builtin_profile(given, expected):
    assert resolve_profile(None, given) == expected
    assert resolve_profile("none", given) == "none"


def test_a_reading_option_against_a_given_profile_is_refused():
    reading = read_profile("builtin:local").reading()
    other = "before" if reading["rationale"] != "before" else "none"
    with pytest.raises(ConfigError, match=f"--rationale {other}.*--profile none"):
        resolve_profile("builtin:local", {"rationale": other})


def test_a_plain_new_job_stores_the_resolved_profile():
    config = GradeConfig.from_flat({"rubric_path": str(HELPFULNESS), "data_path": "d.jsonl"})
    assert config.profile == "builtin:local"
    raw = GradeConfig.from_flat(
        {"rubric_path": str(HELPFULNESS), "data_path": "d.jsonl", "profile": "none"}
    )
    assert raw.profile == "none"


def test_the_profile_asks_its_reading_and_keeps_options_given_beside_it():
    rubric = load_rubric(HELPFULNESS)
    base = JudgeSetup(options=JudgeOptions(max_tokens=99))
    setup, _ = profile_for_grading("builtin:local", rubric, base)
    reading = read_profile("builtin:local").reading()
    assert setup.options.rationale == reading["rationale"]
    assert setup.options.layout == reading["layout"]
    assert setup.options.max_tokens == 99  # given, not part of the reading: it wins
    clashing = JudgeSetup(options=JudgeOptions(joint=True))
    with pytest.raises(ConfigError, match="measured with"):
        profile_for_grading("builtin:local", rubric, clashing)


def general_profile() -> Profile:
    """A scope-any profile whose general map halves the distance to the scale's middle."""
    general = CriterionProfile(
        estimator="expected",
        calibration={"kind": "isotonic", "knots_x": [0.0, 1.0], "knots_y": [0.25, 0.75]},
        conformal={"coverage": 0.9, "radius": 0.25, "n": 100},
        bounds=(0.0, 1.0),
    )
    return Profile(
        judge="local", options={"rationale": "none"}, scope="any", criteria={}, general=general,
        provenance=Provenance(rubric="summeval", rubric_hash="x", data_hash="d", n=1, groups=1),
    )  # fmt: skip


def scored(expected: dict[str, float]) -> PointwiseJudgment:
    criteria = {
        c: CriterionScore(status="ok", score=round(v), expected=v) for c, v in expected.items()
    }
    return PointwiseJudgment(
        item_id="i", index=0, status="ok", judge="local", rubric="r", rubric_hash="h",
        criteria=criteria,
    )  # fmt: skip


def test_the_general_map_calibrates_any_criterion_on_its_own_scale():
    rubric = load_rubric(HELPFULNESS)  # helpfulness and accuracy 1-5, clarity 1-3
    profile = general_profile()
    profile.check(rubric, JudgeSetup())  # scope any: not refused for another rubric
    fitted = profile.for_rubric(rubric)
    assert set(fitted.criteria) == {"helpfulness", "accuracy", "clarity"}
    applied = fitted.apply(scored({"helpfulness": 5.0, "accuracy": 1.0, "clarity": 3.0}))
    top = applied.criteria["helpfulness"].extras
    assert top["calibrated"] == 4.0 and top["interval"] == [3.0, 5.0]  # 1 + 4 * 0.75 +- 1
    assert applied.criteria["accuracy"].extras["calibrated"] == 2.0
    clarity = applied.criteria["clarity"].extras
    assert clarity["calibrated"] == 2.5 and clarity["interval"] == [2.0, 3.0]
    assert clarity["prediction_set"] == [2, 3]


def test_the_rubric_it_was_fitted_on_keeps_its_own_maps():
    profile = read_profile("builtin:local")
    assert profile.provenance.rubric_hash == load_rubric(SUMMEVAL).content_hash
    assert profile.for_rubric(load_rubric(SUMMEVAL)).criteria == profile.criteria


def test_a_resume_keeps_the_profile_its_run_started_with(tmp_path):
    rubric = tmp_path / "r.yaml"
    rubric.write_text('name: r\ncriteria:\n  - {id: q, question: "Good?", scale: {1: a, 2: b}}\n')
    data = tmp_path / "d.jsonl"
    data.write_text(
        "".join(json.dumps({"input": f"q{k}", "response": "r"}) + "\n" for k in range(2))
    )
    answer = json.dumps({"score": 2})
    with ScriptedServer(lambda prompt, n: ("ok", answer)) as server, Store(tmp_path / "s") as store:
        judge = f"openai:{server.url}#m"
        given = {"rubric_path": str(rubric), "data_path": str(data), "judge": judge,
                 "output_dir": str(tmp_path / "o"), "rationale": "none", "logprobs": False}  # fmt: skip
        first = grade_job({**given, "profile": "none"}, store, run_id="raw")
        assert store.run_config(first.run_id)["profile"] == "none"
        with pytest.raises(ConfigError, match="--profile would change"):
            grade_job({"profile": "builtin:local"}, store, resume="raw")
    # A run stored before profiles were resolved is resumed as it was: never given one.
    old = make_config(rubric_path=str(rubric), data_path=str(data)).stored(load_rubric(rubric))
    assert old["profile"] is None and resume_config(old, {})[0].profile is None


@pytest.mark.integration
def test_the_readme_first_command_grades_through_the_builtin_profile(gemma_path, tmp_path):
    args = [
        "grade", str(HELPFULNESS), str(REPO / "examples" / "answers.jsonl"), "--id-field", "id",
        "--reference-field", "reference", "-o", str(tmp_path / "out"), "--no-progress",
        "--store", str(tmp_path / "s.sqlite"),
    ]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = [
        json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()
    ]
    assert len(rows) == 6 and all(r["status"] == "ok" for r in rows)
    for row in rows:
        for cid, score in row["criteria"].items():
            low, high = (1, 3) if cid == "clarity" else (1, 5)
            assert low <= score["calibrated"] <= high and score["rationale"] is None
            assert low <= score["interval"][0] <= score["interval"][1] <= high
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["criteria"]["helpfulness"]["calibrated"]["n"] == 6
