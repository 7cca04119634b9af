"""The bootstrap keywords every statistic with an interval takes, and their defaults."""

from __future__ import annotations

from typing import TypedDict


class Resampling(TypedDict, total=False):
    """The bootstrap keywords every statistic with an interval takes."""

    n_resamples: int
    seed: int
    confidence: float


_RESAMPLING_DEFAULTS: Resampling = {"n_resamples": 1000, "seed": 0, "confidence": 0.95}


def resampling(options: Resampling) -> Resampling:
    """The options with their defaults filled in; an unknown keyword is a TypeError, as
    it would be for a function that spelt its keywords out."""
    unknown = sorted(set(options) - set(_RESAMPLING_DEFAULTS))
    if unknown:
        raise TypeError(f"unexpected keyword argument(s): {', '.join(unknown)}")
    return {**_RESAMPLING_DEFAULTS, **options}
