"""The loop's parts without a model: the group split, resuming from the state file, and
the report's figures against scipy."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from judgment_builders import judgment
from jurist.core.data import Item
from jurist.core.errors import InputError
from jurist.core.rubric import Criterion, Rubric
from jurist.train import LoopSettings, split_items
from jurist.train.loop import LoopState, expected_reading, loop_fingerprint, with_expected_rows
from jurist.train.metrics import build_report
from jurist.train.pairs import PAIR_KEY, candidate_from

RUBRIC = Rubric(
    name="r",
    criteria=[
        Criterion(id="c", question="q?", range=(1, 5), scale={i: str(i) for i in range(1, 6)})
    ],
)


def test_split_keeps_every_group_on_one_side() -> None:
    items = [
        Item(id=f"{d}/{s}", input="x", response="y", metadata={"doc_id": f"d{d}"})
        for d in range(10)
        for s in range(3)
    ]
    train, test = split_items(items, "doc_id", 0.3, seed=4)
    train_docs = {i.metadata["doc_id"] for i in train}
    test_docs = {i.metadata["doc_id"] for i in test}
    assert not train_docs & test_docs
    assert len(test_docs) == 3 and len(train) + len(test) == 30
    assert split_items(items, "doc_id", 0.3, seed=4) == (train, test)
    with pytest.raises(InputError) as raised:
        split_items([*items, Item(id="z", input="x", response="y")], "doc_id", 0.3)
    assert (raised.value.row, raised.value.field) == (31, "doc_id")


def test_a_finished_stage_is_not_run_again(tmp_path: Path) -> None:
    runs: list[str] = []

    def work(name: str) -> dict[str, object]:
        runs.append(name)
        return {"value": name}

    state = LoopState(tmp_path / "state.json")
    state.run("a", lambda: work("a"), lambda _: None)
    resumed = LoopState(tmp_path / "state.json")  # as after a killed process
    assert resumed.run("a", lambda: work("a again"), lambda _: None)["value"] == "a"
    resumed.run("b", lambda: work("b"), lambda _: None)
    assert runs == ["a", "b"]


def test_report_figures_match_scipy_and_a_method_equal_to_base_differs_by_zero(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(3)
    human = rng.integers(1, 6, 40).astype(float)
    judge = np.clip(human + rng.integers(-2, 3, 40), 1, 5)
    other = np.clip(human + rng.integers(-1, 2, 40), 1, 5)
    labels = {f"i{n}": {"c": float(h)} for n, h in enumerate(human)}

    def scores(values: np.ndarray, missing: int | None = None) -> dict:
        return {f"i{n}": {"c": None if n == missing else float(v)} for n, v in enumerate(values)}

    methods = {
        "base": {"scores": scores(judge), "calls_per_item": 1},
        "round 1": {"scores": scores(other, missing=0), "calls_per_item": 1},
        "same": {"scores": scores(judge), "calls_per_item": 1},
    }
    report = build_report(RUBRIC, "pointwise", labels, methods, [], n_resamples=200)
    base, round1, _ = report.rows
    assert base.spearman.value == pytest.approx(stats.spearmanr(judge, human)[0], abs=1e-4)
    assert base.kendall.value == pytest.approx(stats.kendalltau(judge, human)[0], abs=1e-4)
    assert base.mae.value == pytest.approx(np.abs(judge - human).mean(), abs=1e-4)
    assert base.exact.value == pytest.approx((judge == human).mean(), abs=1e-4)
    assert round1.parse_errors == 1 and round1.n == 39
    expected = stats.spearmanr(other[1:], human[1:])[0] - stats.spearmanr(judge[1:], human[1:])[0]
    diff = {d.method: d for d in report.differences}
    assert diff["round 1"].spearman.value == pytest.approx(expected, abs=1e-4)
    assert diff["round 1"].spearman.n == 39
    assert diff["same"].spearman.value == pytest.approx(0.0)
    assert diff["same"].spearman.low == pytest.approx(0.0)
    assert "round 1" in report.render()
    assert report.plot(tmp_path / "rounds.png").stat().st_size > 1000


def test_expected_score_readings_get_rows_compared_with_the_base_models_expected_scores(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(5)
    human = rng.integers(1, 6, 30).astype(float)
    labels = {f"i{n}": {"c": float(h)} for n, h in enumerate(human)}
    constant = {f"i{n}": {"c": 1.0} for n in range(30)}  # a judge that writes one score
    base_expected = np.clip(human + rng.normal(0, 2, 30), 1, 5)
    round_expected = np.clip(human + rng.normal(0, 0.5, 30), 1, 5)

    def table(values: np.ndarray) -> dict:
        return {f"i{n}": {"c": float(v)} for n, v in enumerate(values)}

    methods = with_expected_rows(
        {
            "base": {"scores": constant, "expected": table(base_expected), "wall_s": 1.0},
            "round 1": {"scores": constant, "expected": table(round_expected), "wall_s": 2.0},
            # a stage result saved before expected readings existed
            "self-consistency": {"scores": table(base_expected), "calls_per_item": 4},
            "no reading": {"scores": constant, "expected": {"i0": {"c": None}}},
        }
    )
    assert list(methods) == [
        "base", "base (expected)", "round 1", "round 1 (expected)", "self-consistency",
        "no reading",
    ]  # fmt: skip
    report = build_report(RUBRIC, "pointwise", labels, methods, [], n_resamples=200)
    rows = {row.method: row for row in report.rows}
    assert rows["base"].spearman.value is None  # constant scores rank nothing
    assert rows["round 1 (expected)"].spearman.value == pytest.approx(
        stats.spearmanr(round_expected, human)[0], abs=1e-4
    )
    diff = {d.method: d for d in report.differences}
    assert set(diff) == {"round 1", "round 1 (expected)", "self-consistency", "no reading"}
    want = stats.spearmanr(round_expected, human)[0] - stats.spearmanr(base_expected, human)[0]
    assert diff["round 1 (expected)"].spearman.value == pytest.approx(want, abs=1e-4)
    assert "round 1 (expected)" in report.render()
    assert report.plot(tmp_path / "rounds.png").stat().st_size > 1000


def test_the_expected_reading_of_a_judgment() -> None:
    scored = judgment("a", 0, criteria={"c": {"status": "ok", "score": 1, "expected": 2.6}})
    unread = judgment("b", 1, criteria={"c": {"status": "ok", "score": 1}})
    failed = judgment("c", 2, status="parse_error", criteria={"c": {"status": "parse_error"}})
    pair = judgment("d", 3, mode="pairwise", pair={"status": "ok", "verdict": "A", "p_a": 0.8})
    assert [expected_reading(j, "c") for j in (scored, unread, failed)] == [2.6, None, None]
    assert expected_reading(pair, PAIR_KEY) == pytest.approx(0.2)  # A = 0, B = 1


def test_best_of_n_knows_how_sure_a_pairwise_sample_was() -> None:
    sure = {"status": "ok", "verdict": "B", "verdict_ab": "B", "raw_ab": "{}"}
    read = judgment("e", 0, mode="pairwise", pair={**sure, "distribution_ab": {"A": 0.1, "B": 0.9}})
    unread = judgment("f", 1, mode="pairwise", pair=sure)
    assert candidate_from(read, PAIR_KEY, 3).confidence == pytest.approx(0.9)
    assert candidate_from(unread, PAIR_KEY, 3).confidence is None


def test_a_state_file_from_other_items_or_settings_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    LoopState(path, "one").run("a", lambda: {"value": 1}, lambda _: None)
    assert LoopState(path, "one").done["a"]["value"] == 1
    with pytest.raises(InputError, match="started with other items, rubric or settings"):
        LoopState(path, "two")
    legacy = tmp_path / "legacy.json"  # written before fingerprints: adopted as it is
    legacy.write_text('{"done": {"a": {"value": 2}}}')
    assert LoopState(legacy, "two").done["a"]["value"] == 2

    items = [Item(id=f"i{n}", input="x", response="y", metadata={"doc_id": "d"}) for n in range(3)]
    settings = LoopSettings()
    base = loop_fingerprint(RUBRIC, items, settings)
    more_rounds = replace(settings, iterations=5, baselines=("sft",), n_resamples=10)
    assert loop_fingerprint(RUBRIC, items, more_rounds) == base
    other_beta = replace(settings, dpo=replace(settings.dpo, beta=0.5))
    assert loop_fingerprint(RUBRIC, items, other_beta) != base
    edited = [items[0].model_copy(update={"response": "z"}), *items[1:]]
    assert loop_fingerprint(RUBRIC, edited, settings) != base
