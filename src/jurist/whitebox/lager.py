"""LAGER: a score distribution from every layer's logit lens, aggregated with layer weights.

The aggregated logits are a convex combination of the per-layer choice logits; the weights
are uniform (training-free) or fitted on labelled items with softmax-parameterised weights,
Adam, and a cross-entropy + squared-error loss on the expected score, as the LAGER reference
code does. Weights are saved as a small JSON file beside the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jurist.whitebox.layers import FloatArray, Lens, log_softmax
from jurist.whitebox.records import load_records, save_records


@dataclass(frozen=True)
class LagerWeights:
    """Layer weights (summing to 1) for one criterion, and the lens they were fitted with."""

    weights: tuple[float, ...]
    lens: Lens = "norm"
    fitted_on: int = 0
    loss: float | None = None

    def aggregate(self, layer_logits: FloatArray) -> FloatArray:
        """(..., layers, choices) logits -> (..., choices) log-probabilities."""
        w = np.asarray(self.weights, dtype=np.float64)
        if layer_logits.shape[-2] != len(w):
            raise ValueError(f"{len(w)} layer weights for {layer_logits.shape[-2]} layers")
        mixed = np.einsum("...lk,l->...k", layer_logits, w)
        return log_softmax(mixed)

    def expected(self, layer_logits: FloatArray, points: Sequence[float]) -> FloatArray:
        return np.exp(self.aggregate(layer_logits)) @ np.asarray(points, dtype=np.float64)


def uniform(n_layers: int, start: int = 0, lens: Lens = "norm") -> LagerWeights:
    """Equal weights on layers `start`..n_layers-1 (e.g. start = n_layers // 2: upper half)."""
    if not 0 <= start < n_layers:
        raise ValueError(f"start must be in [0, {n_layers}), not {start}")
    weights = [0.0] * start + [1.0 / (n_layers - start)] * (n_layers - start)
    return LagerWeights(tuple(weights), lens)


def fit_lager(
    layer_logits: FloatArray,
    labels: Sequence[float],
    points: Sequence[float],
    *,
    lens: Lens = "norm",
    mse_weight: float = 1.0,
    steps: int = 300,
    lr: float = 0.05,
    seed: int = 0,
) -> LagerWeights:
    """Fit softmax-parameterised layer weights on (items, layers, choices) logits and human
    scores; the cross-entropy target is the score point nearest each label."""
    import torch

    logits = torch.as_tensor(np.asarray(layer_logits), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(labels, dtype=np.float64))
    pts = torch.as_tensor(np.asarray(points, dtype=np.float64))
    if logits.ndim != 3 or logits.shape[0] != len(y) or logits.shape[2] != len(pts):
        raise ValueError("layer_logits must be (items, layers, choices) matching labels, points")
    target = torch.argmin((y[:, None] - pts[None, :]).abs(), dim=1)
    torch.manual_seed(seed)
    # A few hundred tiny steps: thread hand-offs would cost more than the arithmetic.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _adam(logits, y, pts, target, lens, mse_weight, steps, lr)
    finally:
        torch.set_num_threads(threads)


def _adam(
    logits: Any,
    y: Any,
    pts: Any,
    target: Any,
    lens: Lens,
    mse_weight: float,
    steps: int,
    lr: float,
) -> LagerWeights:
    import torch

    theta = torch.zeros(logits.shape[1], dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.Adam([theta], lr=lr)
    loss = torch.tensor(0.0)
    for _ in range(steps):
        optimiser.zero_grad()
        mixed = torch.einsum("nlk,l->nk", logits, torch.softmax(theta, dim=0))
        logp = torch.log_softmax(mixed, dim=1)
        expected = logp.exp() @ pts
        loss = (
            torch.nn.functional.nll_loss(logp, target) + mse_weight * ((expected - y) ** 2).mean()
        )
        loss.backward()
        optimiser.step()
    weights = torch.softmax(theta.detach(), dim=0).numpy()
    return LagerWeights(tuple(float(w) for w in weights), lens, len(y), float(loss.item()))


@dataclass
class LagerFile:
    """Weights per criterion id, the JSON saved beside the model."""

    model: str
    criteria: dict[str, LagerWeights] = field(default_factory=dict)

    def save(self, path: str | Path) -> Path:
        return save_records(path, self.model, self.criteria, indent=2)

    @classmethod
    def load(cls, path: str | Path) -> LagerFile:
        model, criteria, _ = load_records(path, "LAGER weights", _weights)
        return cls(model, criteria)


def _weights(value: dict[str, Any]) -> LagerWeights:
    return LagerWeights(
        tuple(float(w) for w in value["weights"]),
        value.get("lens", "norm"),
        int(value.get("fitted_on", 0)),
        value.get("loss"),
    )
