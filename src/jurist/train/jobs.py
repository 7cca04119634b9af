"""What each `jurist train` command does, as one library call: read the inputs, run the
step, return a result that renders itself."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from jurist.core.errors import ConfigError, InputError
from jurist.core.rubric import Rubric, load_rubric
from jurist.datasets import ItemSource
from jurist.train.pairs import PairSet, SamplingSettings, _keys, build_pairs, write_pairs


def parse_label_fields(values: Sequence[str]) -> dict[str, str]:
    """`--label-field NAME` (every criterion reads NAME) or `CRITERION=NAME`."""
    mapping: dict[str, str] = {}
    for value in values:
        key, sep, name = value.partition("=")
        if sep and (not key or not name):
            raise ConfigError(f"--label-field {value!r}: use NAME or CRITERION=NAME")
        mapping[key if sep else "*"] = name if sep else key
    return mapping


def training_items(
    data: Path | None,
    preset: str | None,
    limit: int | None,
    label_fields: Sequence[str] = (),
    keep: Sequence[str] = (),
    mode: str = "pointwise",
) -> ItemSource:
    """The items a training step reads: with the label columns `label_fields` name (see
    `parse_label_fields`), the `keep` columns as metadata, and a second response if pairwise."""
    labels = sorted(set(parse_label_fields(label_fields).values()))
    return ItemSource.for_mode(
        mode, data=data, preset=preset, limit=limit, labels=labels, keep=keep
    )


@dataclass
class PairsResult:
    path: Path
    pair_set: PairSet

    def render(self) -> str:
        return f"{self.pair_set.report.render()}\nwrote {self.path}"


@dataclass(frozen=True)
class PairsSettings:
    """The choices of `make_pairs` beside its inputs, as one documented value
    (`**asdict(settings)`)."""

    judge: str = field(default="hf:embedded", metadata={"help": "Judge that writes the samples."})
    meta_judge: bool = field(
        default=False,
        metadata={"help": "Without a label, let the judge pick between its own answers."},
    )
    min_margin: float = field(default=0.0, metadata={"help": "Drop pairs closer than this."})
    group_by: str | None = field(default=None, metadata={"help": "Metadata field kept as `group`."})


def make_pairs(
    rubric: Rubric | Path,
    source: ItemSource,
    out: Path,
    *,
    judge: str = "hf:embedded",
    mode: str = "pointwise",
    settings: SamplingSettings | None = None,
    store: Path | None = None,
    label_fields: dict[str, str] | None = None,
    meta_judge: bool = False,
    group_by: str | None = None,
    min_margin: float = 0.0,
) -> PairsResult:
    loaded = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    keys = _keys(loaded, mode)
    unknown = sorted(set(label_fields or {}) - {"*", *keys})
    if unknown:
        raise ConfigError(
            f"--label-field {unknown[0]}=...: {unknown[0]!r} is not a criterion of "
            f"rubric {loaded.name!r} judged {mode} (give one of: {', '.join(keys)})"
        )
    items = source.load()
    if not items:
        raise InputError(str(source.data or source.preset), problem="no items to sample")
    pair_set = build_pairs(
        loaded,
        items,
        judge=judge,
        mode=mode,
        settings=settings,
        store=store,
        label_fields=label_fields,
        meta_judge=meta_judge,
        group_by=group_by,
        min_margin=min_margin,
    )
    return PairsResult(write_pairs(pair_set.pairs, out), pair_set)
