"""Juror weights from a `jurist meta --format json` report: each juror counts as much as it
was measured to agree with humans on labelled data.

The figure is Spearman's rho of the parsed score per criterion (pointwise) or Cohen's kappa
on A / B / tie (pairwise): both are 0 at chance, so a juror no better than chance (or
worse) weighs nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jurist.core.errors import InputError

PAIR = "pair"  # the weight key of a pairwise verdict


def weights_from_report(report: dict[str, Any], source: str = "report") -> dict[str, float]:
    """Criterion id (or `pair`) -> weight, from a parsed agreement report."""
    if report.get("command") not in (None, "meta"):
        raise InputError(
            source, None, "command", f"not a `jurist meta` report ({report['command']!r})"
        )
    weights: dict[str, float] = {}
    pairwise = report.get("pairwise")
    if isinstance(pairwise, dict):
        weights[PAIR] = _figure(pairwise.get("kappa"), source, "pairwise.kappa")
    for cid, part in (report.get("criteria") or {}).items():
        parsed = part.get("parsed") if isinstance(part, dict) else None
        if parsed is None:
            continue  # a criterion without labels says nothing about the juror
        weights[cid] = _figure(parsed.get("spearman"), source, f"criteria.{cid}.parsed.spearman")
    if not weights:
        raise InputError(source, None, None, "the report has no agreement figure to weigh by")
    return weights


def _figure(figure: Any, source: str, field: str) -> float:
    if not isinstance(figure, dict) or "value" not in figure:
        raise InputError(source, None, field, "missing")
    value = figure["value"]
    if value is None:
        return 0.0  # not computable on these labels: no evidence for this juror
    if not isinstance(value, int | float):
        raise InputError(source, None, field, f"expected a number, got {value!r}")
    return max(0.0, float(value))


def load_weights(path: str | Path) -> dict[str, float]:
    """The weights a `jurist meta --format json` report file gives its judge."""
    path = Path(path)
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(str(path), problem=f"cannot read report ({error.strerror})") from None
    except json.JSONDecodeError as error:
        raise InputError(str(path), error.lineno, None, f"invalid JSON ({error.msg})") from None
    if not isinstance(report, dict):
        raise InputError(str(path), problem="expected a `jurist meta --format json` report")
    return weights_from_report(report, str(path))
