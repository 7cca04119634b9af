"""LAGER fitting recovers known layer weights on synthetic per-layer logits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from jurist.core.errors import ConfigError
from jurist.whitebox.lager import LagerFile, LagerWeights, fit_lager, uniform

POINTS = (1, 2, 3, 4, 5)


def _synthetic(true: np.ndarray, n: int = 400, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 2.0, size=(n, len(true), len(POINTS)))
    labels = LagerWeights(tuple(true)).expected(logits, POINTS)
    return logits, labels


def test_fitting_recovers_known_layer_weights() -> None:
    true = np.array([0.0, 0.05, 0.1, 0.6, 0.25, 0.0])
    logits, labels = _synthetic(true)
    fitted = fit_lager(logits, labels, POINTS, mse_weight=10.0, steps=600, lr=0.05)
    got = np.asarray(fitted.weights)
    assert got.sum() == pytest.approx(1.0)
    assert np.abs(got - true).max() < 0.06, got
    assert int(np.argmax(got)) == 3
    held_logits, held_labels = _synthetic(true, n=200, seed=2)
    error = np.abs(fitted.expected(held_logits, POINTS) - held_labels).mean()
    uniform_error = np.abs(uniform(6).expected(held_logits, POINTS) - held_labels).mean()
    assert error < 0.1 * uniform_error


def test_uniform_weights_cover_the_upper_layers() -> None:
    weights = uniform(8, start=4).weights
    assert weights == (0.0,) * 4 + (0.25,) * 4
    with pytest.raises(ValueError):
        uniform(8, start=8)


def test_aggregate_checks_the_layer_count() -> None:
    with pytest.raises(ValueError, match="3 layer weights for 4 layers"):
        uniform(3).aggregate(np.zeros((4, 5)))


def test_weights_round_trip_through_json(tmp_path: Path) -> None:
    file = LagerFile("m.gguf", {"coherence": LagerWeights((0.25, 0.75), "raw", 10, 0.5)})
    loaded = LagerFile.load(file.save(tmp_path / "lager.json"))
    assert loaded == file
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ConfigError, match=r"bad\.json"):
        LagerFile.load(tmp_path / "bad.json")
