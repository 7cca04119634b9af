"""The few text helpers every report's render() uses: estimates with their interval and n,
exclusion counts, scales, and markup lines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from rich.markup import escape as rich_escape
from rich.text import Text


class Figure(Protocol):
    """What `est` reads from an estimate; any report figure has these."""

    @property
    def value(self) -> float | None: ...
    @property
    def low(self) -> float | None: ...
    @property
    def high(self) -> float | None: ...
    @property
    def n(self) -> int: ...


def line(markup: str) -> Text:
    """One line of console markup as a renderable."""
    return Text.from_markup(markup)


def escape(text: str) -> str:
    """Text shown as is, even when it holds [brackets]."""
    return rich_escape(text)


def est(figure: Figure | None, digits: int = 3, n: bool = True) -> str:
    """'0.712 [0.650, 0.770] n=120', or '- (n=0)' when the figure has no value."""
    if figure is None:
        return "-"
    if figure.value is None:
        return f"- (n={figure.n})"
    text = f"{figure.value:.{digits}f}"
    if figure.low is not None and figure.high is not None:
        text += f" [{figure.low:.{digits}f}, {figure.high:.{digits}f}]"
    if n:
        text += f" n={figure.n}"
    return text


def status_text(status: Mapping[str, int], unlabelled: int | None = None) -> str:
    parts = [f"{k} {v}" for k, v in status.items() if k != "ok" and v]
    if unlabelled:
        parts.append(f"unlabelled {unlabelled}")
    return "excluded: " + (", ".join(parts) if parts else "none")


def scale_text(points: list[float] | None) -> str:
    if not points:
        return "no scale"
    if len(points) > 2:
        return f"{points[0]:g}-{points[-1]:g}"
    return ", ".join(f"{p:g}" for p in points)
