"""The loop's report: each round and each baseline against the human labels on the same
held-out items, with 95% intervals, and paired bootstrap differences against the base."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from jurist.core.rubric import Rubric
from jurist.stats import exact_agreement, kendall, mean_absolute_error, spearman
from jurist.stats.agreement import weighted_spearman
from jurist.stats.arrays import FloatArray
from jurist.stats.bootstrap import bootstrap_counts
from jurist.stats.results import Estimate

Scores = dict[str, dict[str, float | None]]  # item id -> criterion (or pair key) -> value
PAIR_SCALE = (0.0, 0.5, 1.0)
# Names a method row read from the score distribution instead of the written score.
EXPECTED = " (expected)"


class Interval(BaseModel):
    """A value with its 95% interval; None where it cannot be computed (too few items)."""

    value: float | None
    low: float | None = None
    high: float | None = None
    n: int = 0

    @classmethod
    def of(cls, estimate: Estimate) -> Interval:
        def clean(x: float) -> float | None:
            return None if x is None or math.isnan(x) else round(float(x), 4)

        return cls(
            value=clean(estimate.value),
            low=clean(estimate.low),
            high=clean(estimate.high),
            n=estimate.n,
        )

    def text(self) -> str:
        if self.value is None:
            return "n/a"
        if self.low is None or self.high is None:
            return f"{self.value:.3f}"
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


class MethodRow(BaseModel):
    method: str
    criterion: str
    spearman: Interval
    kendall: Interval
    mae: Interval
    exact: Interval
    n: int
    parse_errors: int
    calls_per_item: int
    pairs: int | None = None
    train_loss: float | None = None
    wall_s: float | None = None


class DifferenceRow(BaseModel):
    """method - base on the items both scored, resampled together (paired bootstrap)."""

    method: str
    criterion: str
    spearman: Interval
    mae: Interval

    @property
    def excludes_zero(self) -> bool:
        s = self.spearman
        return s.low is not None and s.high is not None and (s.low > 0 or s.high < 0)


class LoopReport(BaseModel):
    rows: list[MethodRow]
    differences: list[DifferenceRow]

    def render(self) -> str:
        head = (
            f"{'method':<21}{'criterion':<13}{'spearman [95% CI]':<27}{'kendall':<27}"
            f"{'MAE':<27}{'exact':<27}{'n':>4}{'parse err':>10}{'calls':>6}{'pairs':>6}"
            f"{'loss':>8}{'wall s':>8}"
        )
        lines = [head]
        for row in self.rows:
            loss = "" if row.train_loss is None else f"{row.train_loss:.3f}"
            pairs = "" if row.pairs is None else str(row.pairs)
            wall = "" if row.wall_s is None else f"{row.wall_s:.0f}"
            lines.append(
                f"{row.method:<21}{row.criterion:<13}{row.spearman.text():<27}"
                f"{row.kendall.text():<27}{row.mae.text():<27}{row.exact.text():<27}"
                f"{row.n:>4}{row.parse_errors:>10}{row.calls_per_item:>6}{pairs:>6}"
                f"{loss:>8}{wall:>8}"
            )
        lines.append("")
        lines.append(
            "paired bootstrap differences against the base model (method - base; "
            "expected-score readings against the base model's expected scores):"
        )
        for diff in self.differences:
            mark = " *" if diff.excludes_zero else ""
            lines.append(
                f"  {diff.method:<21}{diff.criterion:<13}spearman {diff.spearman.text()}"
                f"{mark}   MAE {diff.mae.text()}  (n={diff.spearman.n})"
            )
        lines.append("  (* the 95% interval of the Spearman difference excludes 0)")
        return "\n".join(lines)

    def plot(self, path: str | Path) -> Path:
        """Spearman per round with its interval; baselines as flat lines."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        path = Path(path)
        figure, axes = plt.subplots(figsize=(6, 3.5))
        for criterion in sorted({row.criterion for row in self.rows}):
            for reading, style in (("", "-"), (EXPECTED, ":")):
                series = [
                    (_round_number(r.method, reading), r)
                    for r in self.rows
                    if r.criterion == criterion and _round_number(r.method, reading) is not None
                ]
                if not series or all(r.spearman.value is None for _, r in series):
                    continue
                xs = [x for x, _ in series]
                ys = [np.nan if r.spearman.value is None else r.spearman.value for _, r in series]
                low = [0 if r.spearman.low is None else y - r.spearman.low for y, (_, r) in
                       zip(ys, series, strict=True)]  # fmt: skip
                high = [0 if r.spearman.high is None else r.spearman.high - y for y, (_, r) in
                        zip(ys, series, strict=True)]  # fmt: skip
                axes.errorbar(
                    xs, ys, yerr=[low, high], marker="o", capsize=3, linestyle=style,
                    label=criterion + reading,
                )  # fmt: skip
            for r in self.rows:
                if (
                    r.criterion == criterion
                    and r.method in ("self-consistency", "best-of-n", "sft")
                    and r.spearman.value is not None
                ):
                    axes.axhline(r.spearman.value, linestyle="--", linewidth=0.8)
                    axes.annotate(f"{r.method} ({criterion})", (0, r.spearman.value), fontsize=7)
        last = max((_round_number(r.method, "") or 0 for r in self.rows), default=0)
        axes.set_xticks(range(last + 1))
        axes.set_xlabel("round (0 = base model)")
        axes.set_ylabel("Spearman with humans (held-out)")
        axes.axhline(0, color="grey", linewidth=0.5)
        axes.legend(fontsize=8)
        figure.tight_layout()
        figure.savefig(path, dpi=120)
        plt.close(figure)
        return path


def _round_number(method: str, reading: str) -> int | None:
    """0 for the base model, r for round r, None for anything else (in this reading)."""
    if reading and not method.endswith(reading):
        return None
    name = method.removesuffix(reading) if reading else method
    if name == "base":
        return 0
    number = name.removeprefix("round ")
    return int(number) if number != name and number.isdigit() else None


def _vectors(labels: Scores, scores: Scores, key: str) -> tuple[FloatArray, FloatArray]:
    ids = sorted(labels)
    judge = np.array([_num((scores.get(i) or {}).get(key)) for i in ids], dtype=float)
    human = np.array([_num(labels[i].get(key)) for i in ids], dtype=float)
    return judge, human


def _num(value: Any) -> float:
    return math.nan if value is None else float(value)


def _scale(rubric: Rubric, mode: str, key: str) -> Sequence[float]:
    if mode == "pairwise":
        return PAIR_SCALE
    criterion = next(c for c in rubric.criteria if c.id == key)
    return [float(p) for p in criterion.points]


def _difference(
    method: FloatArray, base: FloatArray, human: FloatArray, n_resamples: int
) -> tuple[Estimate, Estimate]:
    keep = ~(np.isnan(method) | np.isnan(base) | np.isnan(human))
    m, b, h = method[keep], base[keep], human[keep]

    def rho(counts: FloatArray) -> FloatArray:
        return weighted_spearman(counts, m, h) - weighted_spearman(counts, b, h)

    def mae(counts: FloatArray) -> FloatArray:
        return (counts @ (np.abs(m - h) - np.abs(b - h))) / counts.sum(axis=1)

    n = int(keep.sum())
    excluded = int((~keep).sum())
    options = {"n_resamples": n_resamples, "n_excluded": excluded}
    if n == 0:
        nan = Estimate(math.nan, math.nan, math.nan, 0, excluded)
        return nan, nan
    return bootstrap_counts(rho, n, **options), bootstrap_counts(mae, n, **options)  # type: ignore[arg-type]


def build_report(
    rubric: Rubric,
    mode: str,
    labels: Scores,
    methods: Mapping[str, Mapping[str, Any]],
    rounds: Sequence[Mapping[str, Any]],
    *,
    n_resamples: int = 1000,
) -> LoopReport:
    """Rows per method and criterion; `methods` maps a name to its stage result
    (`scores`, `parse_errors`, `calls_per_item`, `wall_s`)."""
    keys = sorted({k for per in labels.values() for k in per})
    by_round = {r["method"]: r for r in rounds}
    rows: list[MethodRow] = []
    differences: list[DifferenceRow] = []
    for key in keys:
        scale = _scale(rubric, mode, key)
        for name, result in methods.items():
            judge, human = _vectors(labels, result["scores"], key)
            extra = by_round.get(name, {})
            options = {"n_resamples": n_resamples}
            rows.append(
                MethodRow(
                    method=name,
                    criterion=key,
                    spearman=Interval.of(spearman(judge, human, **options)),
                    kendall=Interval.of(kendall(judge, human, **options)),
                    mae=Interval.of(mean_absolute_error(judge, human, **options)),
                    exact=Interval.of(exact_agreement(judge, human, scale=scale)),
                    n=int((~np.isnan(judge) & ~np.isnan(human)).sum()),
                    parse_errors=int(np.isnan(judge).sum()),
                    calls_per_item=int(result.get("calls_per_item", 1)),
                    pairs=extra.get("pairs"),
                    train_loss=extra.get("train_loss"),
                    wall_s=extra.get("wall_s", result.get("wall_s")),
                )
            )
            # Expected-score readings are compared with the base model's expected scores.
            base = "base" + EXPECTED if name.endswith(EXPECTED) else "base"
            if name != base and base in methods:
                base_vector = _vectors(labels, methods[base]["scores"], key)[0]
                rho, mae = _difference(judge, base_vector, human, n_resamples)
                differences.append(
                    DifferenceRow(
                        method=name, criterion=key, spearman=Interval.of(rho), mae=Interval.of(mae)
                    )
                )
    return LoopReport(rows=rows, differences=differences)
