"""`jurist tune` on pairwise judging end to end: a scripted judge on 127.0.0.1 (the profile
round-trips, `grade --profile` adds the calibrated verdict and its set, a profile of the
other mode is refused with exit 2) and, as an integration test, the embedded judge on a
few HHH pairs."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jurist.cli import app
from jurist.core.rubric import load_rubric
from jurist.datasets import load_preset
from jurist.tune import CriterionProfile, Profile, Provenance, load_profile
from scripted_server import ScriptedServer

RUBRIC = """
name: pair
criteria:
  - {id: q, question: "Which is better?", scale: {1: bad, 2: poor, 3: fair, 4: good, 5: great}}
"""


def answer(prompt: str, n: int) -> tuple[str, str]:
    """A position-biased judge: right when the qualities differ by 2 or more, "A" (the
    first shown) when they differ by 1, "tie" when they are equal."""
    first, second = (int(q) for q in re.findall(r"answer of quality (\d)", prompt)[-2:])
    if first == second:
        verdict = "tie"
    elif abs(first - second) == 1:
        verdict = "A"  # position bias: the first shown
    else:
        verdict = "A" if first > second else "B"
    body = {"verdict": verdict}
    if '"rationale"' in prompt:
        body["rationale"] = "ok"
    return ("ok", json.dumps(body))


def rows(n: int = 36) -> list[dict[str, object]]:
    out = []
    for k in range(n):
        a, b = 1 + k % 4, 1 + (k // 4) % 4
        label = "tie" if a == b else "A" if a > b else "B"
        out.append({
            "id": f"p{k}", "input": f"question {k}", "response": f"answer of quality {a}",
            "response_b": f"answer of quality {b}", "preference": label, "topic": f"t{k // 3}",
        })  # fmt: skip
    return out


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rubric = tmp_path / "pair.yaml"
    rubric.write_text(RUBRIC, encoding="utf-8")
    data = tmp_path / "pairs.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows()), encoding="utf-8")
    return {"rubric": rubric, "data": data}


def pointwise_profile(rubric: Path, judge: str) -> Profile:
    loaded = load_rubric(rubric)
    part = CriterionProfile(
        estimator="parsed", calibration={"kind": "none"}, conformal={"coverage": 0.9, "n": 0}
    )
    made = Provenance(rubric=loaded.name, rubric_hash=loaded.content_hash, data_hash="d", n=1,
                      groups=0)  # fmt: skip
    return Profile(judge=judge, options={"rationale": "none"}, criteria={"q": part},
                   provenance=made)  # fmt: skip


def test_cli_tunes_a_pairwise_profile_grades_with_it_and_refuses_the_other_mode(files, tmp_path):
    runner = CliRunner()
    store = str(tmp_path / "s.sqlite")
    with ScriptedServer(answer) as server:
        judge = f"openai:{server.url}#m"
        common = [str(files["data"]), "--judge", judge, "--store", store]
        tuned = runner.invoke(app, [
            "tune", str(files["rubric"]), *common, "--mode", "pairwise", "--label-field",
            "preference", "--group-field", "topic", "--rationale", "none",
            "-o", str(tmp_path / "p.yaml"),
        ])  # fmt: skip
        assert tuned.exit_code == 0, tuned.output
        grade = ["grade", str(files["rubric"]), *common, "--no-progress"]
        graded = runner.invoke(app, [*grade, "--mode", "pairwise", "--profile",
                                     str(tmp_path / "p.yaml"), "-o", str(tmp_path / "out")])  # fmt: skip
        as_pointwise = runner.invoke(app, [*grade, "--mode", "pointwise", "--profile",
                                           str(tmp_path / "p.yaml"), "-o", str(tmp_path / "o2")])  # fmt: skip
        pointwise_path = pointwise_profile(files["rubric"], judge).save(tmp_path / "pw.yaml")
        on_pairs = runner.invoke(app, [*grade, "--mode", "pairwise", "--profile",
                                       str(pointwise_path), "-o", str(tmp_path / "o3")])  # fmt: skip
    assert "labels have no ties" not in tuned.output  # these labels include ties
    assert "tie-aware" in tuned.output and "verdict sets" in tuned.output
    profile = load_profile(tmp_path / "p.yaml")
    assert profile.mode == "pairwise" and profile.pairwise is not None
    assert profile.pairwise.classes == ["A", "tie", "B"]
    assert profile.provenance.n == 36 and profile.provenance.groups == 12
    assert load_profile(profile.save(tmp_path / "again.yaml")) == profile  # round trip
    assert graded.exit_code == 0, graded.output
    lines = [json.loads(x) for x in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert len(lines) == 36
    for line in lines:
        pair = line["pair"]
        assert 0.0 <= pair["calibrated"] <= 1.0 and pair["calibrated_verdict"] in ("A", "B", "tie")
        assert set(pair["prediction_set"]) <= {"A", "B", "tie"}
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())["pairwise"]
    counted = Counter(line["pair"]["calibrated_verdict"] for line in lines)
    assert summary["calibrated"] == {v: counted[v] for v in ("A", "B", "tie")}
    sizes = [len(line["pair"]["prediction_set"]) for line in lines]
    assert summary["set_size"]["mean"] == pytest.approx(sum(sizes) / len(sizes), abs=1e-3)
    assert "profile's reading" in graded.output
    assert (
        as_pointwise.exit_code == 2
        and "made for pairwise judging, not pointwise" in as_pointwise.output
    )
    assert on_pairs.exit_code == 2 and "made for pointwise judging, not pairwise" in on_pairs.output


def test_budget_is_refused_for_pairwise(files, tmp_path):
    result = CliRunner().invoke(app, [
        "tune", str(files["rubric"]), str(files["data"]), "--mode", "pairwise", "--budget",
        "--judge", "openai:http://127.0.0.1:9/v1#m", "-o", str(tmp_path / "p.yaml"),
    ])  # fmt: skip
    assert result.exit_code == 2 and "--budget" in result.output


def short_hhh_pairs(tmp_path: Path, n: int, data_root: Path) -> Path:
    """The `n` shortest HHH pairs, written as a data file with a pair id to group by."""
    items = sorted(load_preset("hhh", data_root), key=lambda i: len(i.input) + len(i.response or "")
                   + len(i.response_b or ""))[:n]  # fmt: skip
    path = tmp_path / "hhh.jsonl"
    path.write_text("\n".join(json.dumps({
        "id": i.id, "input": i.input, "response": i.response, "response_b": i.response_b,
        "preference": i.labels["preference"], "pair": i.id,
    }) for i in items), encoding="utf-8")  # fmt: skip
    return path


@pytest.mark.integration
def test_embedded_judge_tunes_on_a_few_hhh_pairs(gemma_path, tmp_path, data_root):
    data = short_hhh_pairs(tmp_path, 4, data_root)
    rubric = tmp_path / "pair.yaml"
    rubric.write_text(RUBRIC, encoding="utf-8")
    result = CliRunner().invoke(app, [
        "tune", str(rubric), str(data), "--judge", "local", "--rationale", "none",
        "--mode", "pairwise", "--label-field", "preference", "--group-field", "pair",
        "--store", str(tmp_path / "s.sqlite"), "-o", str(tmp_path / "p.yaml"),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    profile = load_profile(tmp_path / "p.yaml")
    assert profile.judge == "local" and profile.pairwise is not None
    assert profile.options["rationale"] == "none" and profile.provenance.n == 4
    assert "labels have no ties" in result.output and "none/rubric-first/x1" in result.output
    assert 0.0 <= profile.pairwise.band <= 0.3
