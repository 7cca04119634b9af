"""The audit with the real embedded judge: two items, two attacks, with the defence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import islice
from typing import Any

import pytest

from jurist.datasets import get_preset, load_summeval
from jurist.injection import injection_audit

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def figures(node: Any) -> Iterator[dict[str, Any]]:
    """Every {value, ci95, n} figure anywhere in the exported report."""
    if isinstance(node, dict):
        if "value" in node and "ci95" in node:
            yield node
        for child in node.values():
            yield from figures(child)
    elif isinstance(node, list):
        for child in node:
            yield from figures(child)


def test_local_judge_audit_has_every_figure_with_its_n(gemma_path, store, shared_data) -> None:
    items = list(islice(load_summeval(shared_data), 0, 200, 100))
    report = injection_audit(
        get_preset("summeval").rubric_path,
        items,
        "local",
        store,
        attacks=["ignore_previous", "fake_json"],
        criterion="consistency",
        concurrency=1,
    )
    assert [row.attack for row in report.attacks] == ["ignore_previous", "fake_json"]
    for row in report.attacks:
        for shift in (row.undefended, row.defended):
            assert shift is not None
            assert shift.score.n + shift.unscored == 2
        assert row.flagged is not None and row.flagged.value == 1.0
    exported = json.loads(report.to_json())
    found = list(figures(exported))
    assert len(found) >= 2 * 5 + 2
    for figure in found:
        assert isinstance(figure["n"], int) and 0 <= figure["n"] <= 2
    assert report.clean_flagged is not None and report.clean_flagged.value == 0.0
