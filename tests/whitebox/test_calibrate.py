"""Calibration from a graded run's cached hidden states, and the estimators side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats

from jurist.core.errors import InputError
from jurist.core.judgment import CriterionScore, PointwiseJudgment
from jurist.meta.calibrate import calibrate
from jurist.meta.estimators import compare_estimators, estimators_report
from jurist.whitebox.cache import HiddenCache, hidden_key
from jurist.whitebox.calibration import Calibration
from jurist.whitebox.lager import LagerFile
from jurist.whitebox.learned import ProbeEstimator
from jurist.whitebox.probe import ProbeFile


def _run(tmp_path: Path, cache: HiddenCache, layers: int, hidden: int) -> tuple[Path, np.ndarray]:
    """A results file of 60 labelled items in 6 documents; layer 2 of the hidden state
    carries the label."""
    rng = np.random.default_rng(0)
    lines, labels = [], []
    for index in range(60):
        label = float(rng.integers(1, 6))
        states = rng.normal(size=(layers, hidden)).astype(np.float32)
        states[2, 0] += 2.0 * label
        key = hidden_key("tiny", f"prompt {index}")
        cache.put(key, {"last": states})
        score = CriterionScore(
            status="ok",
            score=float(rng.integers(1, 6)),
            expected=float(rng.uniform(1, 5)),
            distribution={str(p): 0.2 for p in range(1, 6)},
            hidden_key=key,
            probe=label + float(rng.normal(0, 0.5)),
        )
        judgment = PointwiseJudgment(
            item_id=f"doc{index % 6}/{index}",
            index=index,
            status="ok",
            judge="hf:tiny",
            rubric="r",
            rubric_hash="h",
            labels={"fluency": label},
            metadata={"doc_id": f"doc{index % 6}"},
            criteria={"fluency": score},
        )
        lines.append(judgment.model_dump_json())
        labels.append(label)
    path = tmp_path / "results.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path, np.asarray(labels)


def test_probe_calibration_finds_the_informative_layer(tmp_path: Path) -> None:
    cache = HiddenCache(tmp_path / "hidden")
    results, _ = _run(tmp_path, cache, layers=4, hidden=16)
    report = calibrate("probe", results, cache=cache, out=tmp_path / "cal", folds=3)
    probe = ProbeFile.load(report.path).criteria["fluency"]
    assert probe.layer == 2
    learned = report.comparisons[0].figures[1]
    assert learned.pooled.value > 0.8 and learned.pooled.low > 0.5
    assert Calibration.load(tmp_path / "cal").probe_for("fluency") == probe


def test_lager_calibration_saves_weights_per_criterion(
    tmp_path: Path, tiny_gemma: tuple[Any, Any]
) -> None:
    model, tokenizer = tiny_gemma
    cache = HiddenCache(tmp_path / "hidden")
    layers = model.config.num_hidden_layers + 1
    results, _ = _run(tmp_path, cache, layers=layers, hidden=model.config.hidden_size)
    report = calibrate(
        "lager", results, cache=cache, out=tmp_path / "cal", folds=3, model=(model, tokenizer)
    )
    weights = LagerFile.load(report.path).criteria["fluency"].weights
    assert len(weights) == layers and sum(weights) == pytest.approx(1.0)


def test_missing_hidden_states_name_the_line_and_field(tmp_path: Path) -> None:
    results, _ = _run(tmp_path, HiddenCache(tmp_path / "hidden"), layers=4, hidden=8)
    with pytest.raises(InputError, match=r"row 1, field 'criteria\.fluency\.hidden_key'"):
        calibrate("probe", results, cache=HiddenCache(tmp_path / "empty"), out=tmp_path)


def test_estimators_side_by_side_match_scipy(tmp_path: Path) -> None:
    results, labels = _run(tmp_path, HiddenCache(tmp_path / "hidden"), layers=4, hidden=8)
    report = estimators_report(results, n_resamples=200)
    (comparison,) = report.comparisons
    names = [f.name for f in comparison.figures]
    assert names == ["parsed", "expected", "learned head"]  # no LAGER in this run
    assert comparison.baseline == "expected"
    rows = [line for line in results.read_text().splitlines()]
    probe = [
        PointwiseJudgment.model_validate_json(r).criteria["fluency"].extras["probe"] for r in rows
    ]
    head = comparison.figures[2]
    assert head.pooled.value == pytest.approx(stats.spearmanr(probe, labels).statistic)
    assert head.pooled.low <= head.pooled.value <= head.pooled.high
    assert head.pooled_diff is not None and head.pooled_diff.low > 0
    groups = [f"doc{i % 6}" for i in range(60)]
    within = np.mean(
        [
            stats.spearmanr(
                np.asarray(probe)[np.array(groups) == g], labels[np.array(groups) == g]
            ).statistic
            for g in sorted(set(groups))
        ]
    )
    assert head.within.value == pytest.approx(within)


def test_constant_estimator_gives_nan_not_a_number_from_nowhere() -> None:
    y = np.arange(20.0)
    result = compare_estimators({"flat": np.ones(20), "good": y}, y, np.repeat([0, 1], 10))
    assert np.isnan(result.figures[0].pooled.value)
    assert result.figures[1].pooled.value == pytest.approx(1.0)


def test_calibrate_probe_is_the_fit_tune_makes(tmp_path: Path) -> None:
    """`jurist calibrate probe` and `jurist tune` share one fitting path: the saved head is
    the learned estimator fitted on every item."""
    cache = HiddenCache(tmp_path / "hidden")
    results, labels = _run(tmp_path, cache, layers=4, hidden=16)
    report = calibrate("probe", results, cache=cache, out=tmp_path / "cal", folds=3)
    saved = ProbeFile.load(report.path).criteria["fluency"]
    rows = [PointwiseJudgment.model_validate_json(r) for r in results.read_text().splitlines()]
    hidden = np.stack([cache.get(r.criteria["fluency"].extras["hidden_key"])["last"] for r in rows])
    codes = np.unique([r.metadata["doc_id"] for r in rows], return_inverse=True)[1]
    estimator = ProbeEstimator(hidden, labels, codes, folds=3)
    assert estimator.fit(np.arange(len(rows))) == saved
