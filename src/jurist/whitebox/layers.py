"""Per-layer score distributions: every layer's hidden state at the score position,
projected through the LM head onto the score tokens (the logit lens).

Two lenses, both measured: `raw` projects each layer's residual stream as it is (the LAGER
reference code), `norm` applies the model's final norm first, which is what the last layer
sees. transformers returns the last hidden state already normed, so it is never normed
twice. Index 0 is the embedding output, index L the last layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

Lens = Literal["raw", "norm"]
LENSES: tuple[Lens, ...] = ("raw", "norm")
FloatArray = NDArray[np.float64]


def choice_token_ids(tokenizer: Any, choices: Sequence[str]) -> list[int] | None:
    """First token of each choice; None when two choices share it (not readable in one step)."""
    ids: list[int] = []
    for choice in choices:
        tokens = tokenizer.encode(choice, add_special_tokens=False)
        if not tokens:
            return None
        ids.append(int(tokens[0]))
    return ids if len(set(ids)) == len(ids) else None


def layer_logits(model: Any, hidden: Any, token_ids: Sequence[int], lens: Lens) -> FloatArray:
    """Logits of `token_ids` read from each layer: `hidden` is (layers + 1, hidden_size)
    for one position; returns (layers + 1, len(token_ids))."""
    import torch

    if lens not in LENSES:
        raise ValueError(f"lens must be one of {LENSES}, not {lens!r}")
    with torch.no_grad():
        states = torch.as_tensor(hidden, dtype=model.lm_head.weight.dtype)
        if lens == "norm":
            normed = model.model.norm(states[:-1])
            states = torch.cat([normed, states[-1:]], dim=0)
        weight = model.lm_head.weight[list(token_ids)]
        logits = softcap(model, states @ weight.T)
    return logits.double().numpy()


def softcap(model: Any, logits: Any) -> Any:
    """The model's final logit soft-capping (Gemma's tanh squash), where it has one: every
    reading of the LM head must apply it to match the model's own distribution."""
    import torch

    cap = getattr(model.config, "final_logit_softcapping", None)
    return torch.tanh(logits / cap) * cap if cap else logits


def log_softmax(logits: FloatArray) -> FloatArray:
    """Log-probabilities renormalised among the choices along the last axis."""
    top = logits.max(axis=-1, keepdims=True)
    shifted = logits - top
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def expected_scores(logits: FloatArray, points: Sequence[float]) -> FloatArray:
    """Expected score per layer (and per item, for a leading item axis)."""
    probs = np.exp(log_softmax(logits))
    return probs @ np.asarray(points, dtype=np.float64)


def as_logprob_dicts(logits: FloatArray, choices: Sequence[str]) -> list[dict[str, float]]:
    """One {choice: log-probability among choices} per layer, the Completion's shape."""
    return [
        {c: round(float(v), 6) for c, v in zip(choices, row, strict=True)}
        for row in log_softmax(logits)
    ]
