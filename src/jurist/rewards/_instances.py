"""Instance rubrics: each prompt carries its own checklist in a data-set column (RaR, RLCF).

A cell may hold a whole rubric (a mapping with `checklist` and/or `criteria`), a bare list
of checklist items, or either as JSON / YAML text. An item is a mapping with its text under
`text`, `description` or `criterion`, and a numeric weight or one of RaR's labels.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from jurist.core.errors import InputError, RubricError
from jurist.core.rubric import Rubric, rubric_from_dict
from jurist.rewards._samples import WHERE

# The middle of each range Rubrics as Rewards gives its labels.
RAR_WEIGHTS: dict[str, float] = {
    "essential": 5.0,
    "important": 3.5,
    "optional": 1.5,
    "pitfall": -1.5,
}
_TEXT_KEYS = ("text", "description", "criterion")


def _weight(value: Any, column: str, row: int, number: int) -> float:
    if isinstance(value, bool):
        raise InputError(WHERE, row, f"{column}[{number}].weight", "must be a number or a label")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        label = value.strip().lower()
        if label in RAR_WEIGHTS:
            return RAR_WEIGHTS[label]
        try:
            return float(label)
        except ValueError:
            labels = ", ".join(RAR_WEIGHTS)
            problem = f"weight {value!r} is neither a number nor one of: {labels}"
            raise InputError(WHERE, row, f"{column}[{number}].weight", problem) from None
    problem = f"weight must be a number or a label, got {type(value).__name__}"
    raise InputError(WHERE, row, f"{column}[{number}].weight", problem)


def _check(entry: Any, column: str, row: int, number: int) -> dict[str, Any]:
    if isinstance(entry, str):
        return {"id": f"c{number + 1}", "text": entry, "weight": 1.0}
    if not isinstance(entry, Mapping):
        problem = f"a checklist item must be text or a mapping, got {type(entry).__name__}"
        raise InputError(WHERE, row, f"{column}[{number}]", problem)
    text = next((entry[key] for key in _TEXT_KEYS if entry.get(key)), None)
    if not isinstance(text, str):
        problem = f"no text under any of: {', '.join(_TEXT_KEYS)}"
        raise InputError(WHERE, row, f"{column}[{number}]", problem)
    check: dict[str, Any] = {
        "id": str(entry.get("id") or f"c{number + 1}"),
        "text": text,
        "weight": _weight(entry.get("weight", 1.0), column, row, number),
    }
    if "kind" in entry:
        check["kind"] = entry["kind"]
    return check


def _parsed(value: str, column: str, row: int) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        pass
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError as error:
        raise InputError(WHERE, row, column, f"not JSON or YAML ({error})") from None


def row_rubric(value: Any, column: str, row: int) -> Rubric:
    """The rubric in one cell; errors name the column, the row and the part at fault."""
    if isinstance(value, Rubric):
        return value
    if isinstance(value, str):
        value = _parsed(value, column, row)
    name = f"{column}[{row}]"
    if isinstance(value, Mapping):
        data = {"name": name, **value}
    elif isinstance(value, Sequence) and not isinstance(value, str):
        data = {"name": name, "checklist": [_check(e, column, row, n) for n, e in enumerate(value)]}
    else:
        problem = f"expected a rubric or a list of checklist items, got {type(value).__name__}"
        raise InputError(WHERE, row, column, problem)
    try:
        return rubric_from_dict(data, source=name)
    except RubricError as error:
        raise InputError(WHERE, row, column, str(error).replace(f"{name}: ", "")) from None
