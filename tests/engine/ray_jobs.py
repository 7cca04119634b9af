"""Jobs for the engine tests: a rubric with two criteria and items whose prompts name them."""

from __future__ import annotations

import json
from pathlib import Path

RUBRIC = """
name: r
criteria:
  - {id: a, question: "Good?", scale: {1: bad, 2: ok, 3: good}}
  - {id: b, question: "Clear?", scale: {1: bad, 2: ok, 3: good}}
"""


def write_job(folder: Path, count: int, rubric: str = RUBRIC) -> tuple[Path, Path]:
    """A rubric and `count` items whose prompts name their item ("question K")."""
    rubric_path = folder / "rubric.yaml"
    rubric_path.write_text(rubric)
    data = folder / "items.jsonl"
    rows = [
        {"id": f"x{k}", "input": f"question {k}", "response": f"answer {k}"} for k in range(count)
    ]
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return rubric_path, data


def read_results(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def item_of(prompt: str) -> str:
    return "x" + prompt.split("question ", 1)[1].split("\n", 1)[0].strip()
