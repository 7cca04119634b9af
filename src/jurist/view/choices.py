"""What a person may answer on a run: each criterion's scale with its descriptors, each
checklist item as yes / no, or the pair as A / B / tie; and the answers read back as the
labels `jurist meta` uses."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from jurist.core.errors import InputError
from jurist.core.judgment import ChecklistJudgment
from jurist.core.rubric import Rubric
from jurist.meta import Labels, read_labels
from jurist.view.annotations import AnnotationStore
from jurist.view.index import RunIndex, scale_points


def annotation_fields(index: RunIndex, rubric: Rubric | None) -> list[dict[str, Any]]:
    """What a person grades on this run: each criterion with its scale and descriptors,
    each checklist item as yes / no, or the pair as A / B / tie."""
    info = index.info
    if info.mode == "pairwise":
        return [
            {
                "name": "preference",
                "title": "Which response is better?",
                "choices": [
                    {"value": v, "key": k, "label": text}
                    for v, k, text in (
                        ("A", "a", "A is better"),
                        ("B", "b", "B is better"),
                        ("tie", "t", "tie"),
                    )
                ],
            }
        ]
    fields = []
    if info.mode == "checklist":
        texts = {c.id: c.text for c in rubric.checklist} if rubric is not None else {}
        for name in info.criteria:
            if name == "checklist":
                continue
            fields.append(
                {
                    "name": name,
                    "title": texts.get(name, name),
                    "choices": [
                        {"value": "yes", "key": "y", "label": "yes"},
                        {"value": "no", "key": "n", "label": "no"},
                    ],
                }
            )
        return fields
    for name in info.criteria:
        criterion = None
        if rubric is not None:
            criterion = next((c for c in rubric.criteria if c.id == name), None)
        points = scale_points(index, name, criterion.points if criterion else None)
        choices = []
        for k, point in enumerate(points[:9], start=1):
            descriptor = criterion.scale.get(int(point), "") if criterion else ""
            choices.append(
                {"value": point, "key": str(k), "label": f"{point:g}", "descriptor": descriptor}
            )
        fields.append(
            {"name": name, "title": criterion.question if criterion else name, "choices": choices}
        )
    return fields


def valid_value(fields: list[dict[str, Any]], name: str, value: Any) -> Any:
    if isinstance(value, bool):  # JSON true / false: not a score, though True == 1
        raise InputError("annotation", None, "value", f"{value!r} is not a choice for {name}")
    for f in fields:
        if f["name"] != name:
            continue
        for choice in f["choices"]:
            if value == choice["value"] or (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and isinstance(choice["value"], float)
                and float(value) == choice["value"]
            ):
                return choice["value"]
        raise InputError("annotation", None, "value", f"{value!r} is not a choice for {name}")
    raise InputError("annotation", None, "field", f"{name!r} is not annotated on this run")


def labels_from_annotations(store: AnnotationStore, run_key: str, index: RunIndex) -> Labels | None:
    """The run's annotations read back as `jurist meta` reads a labels file."""
    lines = store.export_lines(run_key, checklist_weights(index))
    if not lines:
        return None
    with tempfile.TemporaryDirectory(prefix="jurist-labels-") as folder:
        path = Path(folder) / "annotations.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        fields = sorted(
            {k for line in lines for k in json.loads(line)} - {"id", "annotator", "annotated_at"}
        )
        return read_labels(path, fields=fields, annotator_field="annotator")


def checklist_weights(index: RunIndex) -> dict[str, float] | None:
    if index.info.mode != "checklist":
        return None
    first = next(index.judgments(), None)
    if isinstance(first, ChecklistJudgment):
        return {k: d.weight for k, d in first.checklist.items()}
    return None
