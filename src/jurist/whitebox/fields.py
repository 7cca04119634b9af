"""What a white-box completion adds to a criterion's result: per-layer expected scores and
log-probabilities of the score points (what a profile's LAGER weights are applied to), the
LAGER expected score, a probe's estimate and the hidden state's cache key."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from jurist.core.completion import Completion
from jurist.core.estimate import expected_value, slot_distribution


def _point_logprobs(logprobs: dict[str, float], points: Sequence[int]) -> list[float] | None:
    """Log-probabilities renormalised among the score points, in the points' order."""
    if any(str(p) not in logprobs for p in points):
        return None
    values = [float(logprobs[str(p)]) for p in points]
    top = max(values)
    total = top + math.log(sum(math.exp(v - top) for v in values))
    return [round(v - total, 4) for v in values]


def criterion_fields(
    completion: Completion | None, slot: int, points: Sequence[int]
) -> dict[str, Any]:
    """The CriterionScore extras one answer's slot supports (read from the completion's
    extras); {} for black boxes."""
    if completion is None:
        return {}
    read = completion.extras
    layer_logprobs = read.get("layer_logprobs") or []
    lager_logprobs = read.get("lager_logprobs") or []
    probe_values = read.get("probe_values") or []
    hidden_keys = read.get("hidden_keys") or []
    fields: dict[str, Any] = {}
    if len(layer_logprobs) > slot:
        layers = [slot_distribution(lp, points) for lp in layer_logprobs[slot]]
        if all(d is not None for d in layers):
            fields["layer_expected"] = [round(expected_value(d), 6) for d in layers if d]
        per_layer = [_point_logprobs(lp, points) for lp in layer_logprobs[slot]]
        if per_layer and all(row is not None for row in per_layer):
            fields["layer_logprobs"] = per_layer
    if len(lager_logprobs) > slot:
        mixed = slot_distribution(lager_logprobs[slot], points)
        if mixed is not None:
            fields["expected_lager"] = round(expected_value(mixed), 6)
    if len(probe_values) > slot:
        fields["probe"] = probe_values[slot]
    if len(hidden_keys) > slot:
        fields["hidden_key"] = hidden_keys[slot]
    return fields
