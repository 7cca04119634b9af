"""Small pieces the three reports share: status and verdict counts, groups, the header."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jurist.core.judgment import VERDICTS
from jurist.meta.join import Results
from jurist.meta.options import Settings
from jurist.stats.arrays import FloatArray

MISSING_GROUP = "(missing)"


def status_counts(status: NDArray[np.object_]) -> dict[str, int]:
    counts = Counter(status.tolist())
    return {s: int(counts.get(s, 0)) for s in ("ok", "parse_error", "failed", "missing")}


def verdict_counts(values: NDArray[np.object_]) -> dict[str, int]:
    counts = Counter(v for v in values.tolist() if v is not None)
    return {v: int(counts.get(v, 0)) for v in VERDICTS}


def group_keys(values: NDArray[np.object_]) -> list[Any]:
    return sorted(set(values.tolist()), key=lambda k: (k is None, str(k)))


def group_name(key: Any) -> str:
    return MISSING_GROUP if key is None else str(key)


def single_value_note(values: FloatArray) -> str | None:
    finite = values[~np.isnan(values)]
    if finite.size >= 2 and np.unique(finite).size == 1:
        return (
            f"the judge gave every one of the {finite.size} items the same score "
            f"({finite[0]:g}): correlations are undefined and kappa is 0 by construction"
        )
    return None


def header(results: Results, command: str, settings: Settings) -> dict[str, Any]:
    return {
        "command": command,
        "results": results.path,
        "mode": results.mode,
        "judges": sorted({j.judge for j in results.judgments}),
        "rubric": sorted({j.rubric for j in results.judgments}),
        "n_items": len(results),
        "status": results.status_counts(),
        "labels": jsonable(results.join),
        "settings": settings.to_dict(),
    }


def jsonable(value: Any) -> Any:
    """NaN and infinities as None, numpy scalars as Python ones, so the data is strict JSON."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value
