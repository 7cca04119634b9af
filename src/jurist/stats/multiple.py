"""Corrections for testing several hypotheses at once."""

from __future__ import annotations

from collections.abc import Sequence


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given.

    With many comparisons a few raw p < alpha are expected by chance alone; comparing
    the adjusted values with alpha keeps the chance of any false positive below alpha.
    The k-th smallest p is multiplied by (m - k + 1), capped at 1, and never falls below
    an earlier (smaller) one's adjusted value.
    """
    m = len(p_values)
    order = sorted(range(m), key=lambda k: p_values[k])
    adjusted = [0.0] * m
    running = 0.0
    for rank, k in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[k]))
        adjusted[k] = running
    return adjusted
