"""The run index: filters and sorting in SQL agree with the judgments themselves."""

from __future__ import annotations

import json

from view_runs import make_run

from jurist.view import Filters, open_index, resolve_source


def _judgments(run):
    return [
        json.loads(line) for line in run.folder.joinpath("results.jsonl").read_text().splitlines()
    ]


def test_filters_and_sorting_match_the_results(view_run, tmp_path):
    index = open_index(resolve_source(str(view_run.folder), view_run.store), tmp_path / "cache")
    records = _judgments(view_run)
    assert index.info.n == len(records)
    assert index.info.status == {"ok": 10, "parse_error": 2, "failed": 0}

    parse_errors = [r["item_id"] for r in records if r["status"] == "parse_error"]
    found = [row.item_id for row in index.page(Filters(parse_errors=True), 0)]
    assert found == parse_errors

    scores = {
        r["item_id"]: r["criteria"]["helpfulness"]["score"] for r in records if r["status"] == "ok"
    }
    low = Filters(criterion="helpfulness", score_max=2, sort="-score")
    rows = index.page(low, 0)
    assert {row.item_id for row in rows} == {k for k, v in scores.items() if v <= 2}
    assert [row.score for row in rows] == sorted((row.score for row in rows), reverse=True)

    gaps = {
        r["item_id"]: abs(r["criteria"]["helpfulness"]["score"] - r["labels"]["human"])
        for r in records
        if r["status"] == "ok"
    }
    wide = index.page(Filters(disagreement=2), 0)
    assert {row.item_id for row in wide} == {k for k, v in gaps.items() if v >= 2}
    assert index.count(Filters(disagreement=2)) == len(wide)

    # Paging walks the whole list once, in order.
    walked = [row.item_id for o in range(0, 12, 5) for row in index.page(Filters(), o, 5)]
    assert walked == [r["item_id"] for r in records]
    assert index.position_at(Filters(parse_errors=True), 1) == 7

    counts = dict(index.histogram("helpfulness"))
    for value, n in counts.items():
        assert n == sum(1 for v in scores.values() if v == value)


def test_item_texts_come_from_the_runs_data(view_run, tmp_path):
    index = open_index(resolve_source(view_run.run_id, view_run.store), tmp_path / "cache")
    judgment, item, human = index.item(2)
    assert judgment.item_id == "q2"
    assert [turn["role"] for turn in item["input"]] == ["user", "assistant", "user"]
    assert human == {"helpfulness": 3.0}
    assert index.info.notes == []


def test_a_changed_results_file_is_indexed_again(view_run, tmp_path):
    source = resolve_source(str(view_run.folder), view_run.store)
    first = open_index(source, tmp_path / "cache")
    make_run(tmp_path / "again", tmp_path / "other.sqlite", "x", n=5)
    view_run.folder.joinpath("results.jsonl").write_text(
        (tmp_path / "again" / "out-x" / "results.jsonl").read_text()
    )
    second = open_index(resolve_source(str(view_run.folder), view_run.store), tmp_path / "cache")
    assert first.info.n == 12 and second.info.n == 5
    assert not first.path.exists()
