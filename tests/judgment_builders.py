"""Judgments and results files for tests of what reads them (meta reports, the CLI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jurist.core.judgment import Judgment, make_judgment


def judgment(item_id: str, index: int, rubric: str = "test", **fields: Any) -> Judgment:
    """An ok pointwise judgment unless `fields` say otherwise."""
    base: dict[str, Any] = {
        "item_id": item_id,
        "index": index,
        "mode": "pointwise",
        "status": "ok",
        "judge": "test-judge",
        "rubric": rubric,
        "rubric_hash": "0" * 16,
    }
    return make_judgment(**{**base, **fields})


def write_results(path: Path, judgments: list[Judgment]) -> Path:
    path.write_text("".join(j.model_dump_json() + "\n" for j in judgments), encoding="utf-8")
    return path
