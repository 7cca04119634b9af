"""Figures for reports: judge vs human scatter, confusion heat map, score histograms and a
forest plot of model differences.

matplotlib is imported inside each function and drawn on an Agg canvas without pyplot,
so importing jurist stays cheap and no global figure state or display is involved. Each
function writes the file its path names (.png or .svg) and returns the path.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from jurist.stats import ConfusionMatrix, Difference


def _figure(width: float, height: float) -> tuple[Figure, Axes]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=120, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _save(fig: Figure, path: str | Path) -> Path:
    out = Path(path)
    if out.suffix.lower() not in (".png", ".svg"):
        raise ValueError(f"plots are written as .png or .svg, not {out.suffix!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    return out


def _is_discrete(values: np.ndarray) -> bool:
    # Few distinct values: points would stack on top of each other without jitter.
    return values.size > 0 and np.unique(values).size <= 12


def scatter_judge_vs_human(
    judge: ArrayLike,
    human: ArrayLike,
    path: str | Path,
    *,
    jitter: float | None = None,
    seed: int = 0,
    title: str = "Judge vs human",
    xlabel: str = "human score",
    ylabel: str = "judge score",
) -> Path:
    """Scatter with a least-squares line, Pearson r and n in the legend.

    Discrete scores get uniform jitter (by default 15% of the smallest gap between scale
    points) so stacked points show as clouds; the line is fitted on the unjittered data.
    """
    x = np.asarray(human, dtype=np.float64)
    y = np.asarray(judge, dtype=np.float64)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    rng = np.random.default_rng(seed)

    def jittered(v: np.ndarray) -> np.ndarray:
        if jitter == 0 or not _is_discrete(v):
            return v
        if jitter is None:
            gaps = np.diff(np.unique(v))
            amount = 0.15 * float(gaps.min()) if gaps.size else 0.0
        else:
            amount = jitter
        return v + rng.uniform(-amount, amount, v.size)

    fig, ax = _figure(5.5, 5.0)
    ax.scatter(jittered(x), jittered(y), s=14, alpha=0.45, color="#1f77b4", edgecolors="none")
    label = f"n={x.size}"
    if x.size >= 2 and np.ptp(x) > 0:
        slope, intercept = np.polyfit(x, y, 1)
        grid = np.linspace(x.min(), x.max(), 50)
        r = float(np.corrcoef(x, y)[0, 1]) if np.ptp(y) > 0 else math.nan
        label = f"least squares (r={r:.2f}, n={x.size})"
        ax.plot(grid, slope * grid + intercept, color="#d62728", lw=2, label=label)
        lo, hi = min(x.min(), y.min()), max(x.max(), y.max())
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1, ls="--", label="judge = human")
        ax.legend(loc="upper left", fontsize=9, frameon=False)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return _save(fig, path)


def confusion_heatmap(
    matrix: ConfusionMatrix | ArrayLike,
    path: str | Path,
    *,
    row_labels: Sequence[str] | None = None,
    col_labels: Sequence[str] | None = None,
    title: str = "Human label vs judge verdict",
    xlabel: str = "judge",
    ylabel: str = "human",
) -> Path:
    """Heat map of counts with each cell's count (and row share) written on it."""
    if hasattr(matrix, "as_array"):
        counts = matrix.as_array()
        labels = list(matrix.labels)
        row_labels = row_labels or labels
        col_labels = col_labels or labels
    else:
        counts = np.asarray(matrix)
    rows = list(row_labels) if row_labels is not None else [str(i) for i in range(counts.shape[0])]
    cols = list(col_labels) if col_labels is not None else [str(i) for i in range(counts.shape[1])]
    side = 1.0 + 0.9 * max(len(rows), len(cols))
    fig, ax = _figure(side + 1.5, side)
    image = ax.imshow(counts, cmap="Blues")
    fig.colorbar(image, ax=ax, shrink=0.8, label="count")
    row_totals = counts.sum(axis=1)
    vmax = counts.max() if counts.size else 0
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            share = counts[i, j] / row_totals[i] if row_totals[i] else 0.0
            colour = "white" if counts[i, j] > 0.6 * vmax else "black"
            text = f"{counts[i, j]:g}\n{share:.0%}"
            ax.text(j, i, text, ha="center", va="center", color=colour, fontsize=10)
    ax.set_xticks(range(len(cols)), cols)
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"{title} (n={int(counts.sum())})")
    return _save(fig, path)


def score_histograms(
    scores: Mapping[str, ArrayLike],
    path: str | Path,
    *,
    scale: Sequence[float] | None = None,
    title: str = "Score distribution",
    xlabel: str = "score",
) -> Path:
    """Side-by-side share of items per scale point for each named score set (e.g. judge
    and human), or overlaid histograms when there is no scale."""
    fig, ax = _figure(6.5, 4.2)
    names = list(scores)
    if scale is not None:
        from jurist.stats.arrays import snap

        points = sorted(scale)
        width = 0.8 / max(len(names), 1)
        for k, name in enumerate(names):
            v = np.asarray(scores[name], dtype=np.float64)
            v = v[~np.isnan(v)]
            counts = np.bincount(snap(v, points), minlength=len(points))
            share = counts / max(v.size, 1)
            offset = (k - (len(names) - 1) / 2) * width
            ax.bar(
                np.arange(len(points)) + offset, share, width=width, label=f"{name} (n={v.size})"
            )
        ax.set_xticks(range(len(points)), [f"{p:g}" for p in points])
        ax.set_ylabel("share of items")
    else:
        for name in names:
            v = np.asarray(scores[name], dtype=np.float64)
            v = v[~np.isnan(v)]
            ax.hist(v, bins="auto", alpha=0.5, label=f"{name} (n={v.size})")
        ax.set_ylabel("items")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(frameon=False)
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def _rows(items: Sequence[Difference | tuple[str, float, float, float]]) -> list[tuple[Any, ...]]:
    rows = []
    for item in items:
        if hasattr(item, "name_x"):
            label = f"{item.name_x} - {item.name_y}  (n={item.n})"
            rows.append((label, item.value, item.low, item.high, item.significant))
        else:
            label, value, low, high = item
            rows.append((label, value, low, high, not (low <= 0 <= high)))
    return rows


def forest_plot(
    items: Sequence[Difference | tuple[str, float, float, float]],
    path: str | Path,
    *,
    title: str = "Model differences",
    xlabel: str = "difference (95% CI)",
) -> Path:
    """One row per difference: point, interval, and a line at zero; significant rows
    are drawn in a darker colour."""
    rows = _rows(items)
    fig, ax = _figure(7.0, 1.2 + 0.45 * max(len(rows), 1))
    for i, (_, value, low, high, sig) in enumerate(rows):
        colour = "#d62728" if sig else "#7f7f7f"
        ax.plot([low, high], [i, i], color=colour, lw=2)
        ax.plot([value], [i], "o", color=colour, ms=6)
    ax.axvline(0.0, color="black", lw=1, ls="--")
    ax.set_yticks(range(len(rows)), [r[0] for r in rows])
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    return _save(fig, path)
