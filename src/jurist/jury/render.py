"""The jury part of a run summary in a few lines, for the command line."""

from __future__ import annotations

from typing import Any


def jury_lines(summary: dict[str, Any]) -> list[str]:
    """Inter-juror alpha per criterion, items asked per juror and items flagged for review."""
    asked = ", ".join(f"{juror} {count}" for juror, count in summary.get("asked", {}).items())
    lines = [f"jury: {', '.join(summary.get('jurors', []))} (items asked: {asked})"]
    for key, part in summary.get("criteria", {}).items():
        alpha = part["alpha_ordinal"]
        value = alpha.get("value")
        if value is None:
            shown = "n/a"
        elif alpha.get("low") is None:
            shown = f"{value:.3f}"
        else:
            shown = f"{value:.3f} [{alpha['low']:.3f}, {alpha['high']:.3f}]"
        lines.append(
            f"  {key}: inter-juror α (ordinal) {shown}, n={alpha.get('n', 0)}; "
            f"{part['review']} of {part['items']} items split beyond the threshold"
        )
    total = summary.get("review_items", 0)
    if total:
        shown_ids = ", ".join(summary.get("review_ids", [])[:10])
        more = " ..." if total > 10 else ""
        lines.append(f"  for human review: {total} items ({shown_ids}{more})")
    return lines
