"""What a meta-evaluation reads and how it resamples: the options every report shares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from jurist.core.errors import ConfigError

PlotFormat = Literal["png", "svg"]


@dataclass(frozen=True)
class Settings:
    """Bootstrap settings shared by every figure of one report."""

    n_resamples: int = field(default=1000, metadata={"help": "Bootstrap resamples.", "min": 100})
    seed: int = field(default=0, metadata={"help": "Bootstrap seed."})
    confidence: float = 0.95

    def kw(self) -> dict[str, Any]:
        return {"n_resamples": self.n_resamples, "seed": self.seed, "confidence": self.confidence}

    def to_dict(self) -> dict[str, Any]:
        return {"resamples": self.n_resamples, "seed": self.seed, "confidence": self.confidence}


@dataclass(frozen=True)
class Inputs:
    """Where the judgments are and which human labels they are measured against.

    `results` is a results.jsonl, the folder `jurist grade -o` wrote, or a run id in
    `store`. Without `labels` the labels carried in the results are used. `label_fields`
    picks label columns; for pairs its first entry is the preference field. `mapping`
    pairs criteria with label fields whose names differ.
    """

    results: str | Path
    store: str | Path | None = None
    labels: str | Path | None = field(
        default=None,
        metadata={
            "help": "JSONL / JSON / CSV / TSV of human labels joined by id (default: the labels "
            "carried in the results)."
        },
    )
    label_id_field: str = field(default="id", metadata={"help": "Id column of the labels file."})
    label_fields: tuple[str, ...] = field(
        default=(),
        metadata={"help": "Label field(s) to use; for pairs, the preference field (A / B / tie)."},
    )
    annotator_field: str | None = field(
        default=None, metadata={"help": "Labels-file column naming the annotator of each row."}
    )
    mapping: Mapping[str, str] = field(
        default_factory=dict,
        metadata={"help": "criterion=labelfield, when the names differ (repeatable)."},
    )
    scale: tuple[float, ...] | None = field(
        default=None, metadata={"help": "Scale points for every criterion: '1-5' or '0,1,2,3'."}
    )
    rubric: str | Path | None = field(
        default=None, metadata={"help": "Rubric YAML to take each criterion's scale from."}
    )


@dataclass(frozen=True)
class PlotOptions:
    """Write a report's figures into `folder` as png or svg files."""

    folder: Path
    format: PlotFormat = "png"


def parse_scale(scale: str | Sequence[float] | None) -> tuple[float, ...] | None:
    """Scale points from 'LOW-HIGH' (integers), '0,1,2,3', or a sequence of numbers."""
    if scale is None:
        return None
    if isinstance(scale, str):
        text = scale.strip()
        try:
            if "-" in text[1:] and "," not in text:
                low, high = (float(p) for p in text.split("-", 1))
                if not (low.is_integer() and high.is_integer()) or high <= low:
                    raise ValueError
                points = [float(p) for p in range(int(low), int(high) + 1)]
            else:
                points = [float(p) for p in text.split(",") if p.strip()]
        except ValueError:
            raise ConfigError(f"--scale {scale!r}: use LOW-HIGH or a comma list") from None
    else:
        points = [float(p) for p in scale]
    distinct = tuple(sorted(set(points)))
    if len(distinct) < 2:
        raise ConfigError(f"a scale needs at least two points, got {scale!r}")
    return distinct


def parse_mapping(pairs: Sequence[str] | None) -> dict[str, str]:
    """criterion -> label field from 'criterion=labelfield' strings."""
    out: dict[str, str] = {}
    for pair in pairs or ():
        criterion, sep, name = pair.partition("=")
        if not sep or not criterion.strip() or not name.strip():
            raise ConfigError(f"--map {pair!r}: expected criterion=labelfield")
        out[criterion.strip()] = name.strip()
    return out


def rubric_scales(path: str | Path) -> dict[str, list[float]]:
    """criterion -> scale points from a rubric file."""
    from jurist.core.rubric import load_rubric

    rubric = load_rubric(path)
    return {c.id: [float(p) for p in c.points] for c in rubric.criteria}
