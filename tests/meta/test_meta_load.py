"""Every analysis command reads a results file, the folder `jurist grade -o` wrote, or a
run id in the SQLite store, and all three give the same report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from jurist import meta
from jurist.cli import app
from jurist.core.judgment import CriterionScore, Judgment, make_judgment
from jurist.store import Store

runner = CliRunner()
HUMAN = [1, 2, 2, 3, 3, 4, 4, 5, 5, 1, 2, 3]
JUDGE = [1, 2, 3, 3, 2, 4, 5, 5, 4, 2, 2, 3]


def _judgments() -> list[Judgment]:
    return [
        make_judgment(
            item_id=f"i{k}",
            index=k,
            status="ok",
            judge="test-judge",
            rubric="test",
            rubric_hash="0" * 16,
            criteria={"quality": CriterionScore(status="ok", score=float(judge))},
            labels={"quality": float(human)},
        )
        for k, (judge, human) in enumerate(zip(JUDGE, HUMAN, strict=True))
    ]


def _write_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.jsonl"
    path.write_text("".join(j.model_dump_json() + "\n" for j in _judgments()))
    return path


def _store(path: Path, run_id: str, output_dir: Path) -> Path:
    with Store(path) as store:
        store.create_run(run_id, {"output_dir": str(output_dir)})
        for judgment in _judgments():
            store.save_result(run_id, judgment)
    return path


def _meta_json(*args: Any) -> dict[str, Any]:
    result = runner.invoke(app, ["meta", *map(str, args), "--format", "json", "--resamples", "100"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_folder_file_and_run_id_give_the_same_figures(tmp_path):
    path = _write_folder(tmp_path / "out")
    store = _store(tmp_path / "store.sqlite", "run-1", tmp_path / "deleted-folder")
    from_file = _meta_json(path)
    from_folder = _meta_json(tmp_path / "out")
    from_run = _meta_json("run-1", "--store", store)
    assert from_folder["results"] == str(path)
    assert from_run["results"] == f"run run-1 in {store}"
    for report in (from_folder, from_run):
        assert report["criteria"] == from_file["criteria"]
        assert report["n_items"] == len(JUDGE)


def test_run_id_reads_the_runs_results_file_while_its_folder_exists(tmp_path):
    path = _write_folder(tmp_path / "out")
    store = _store(tmp_path / "store.sqlite", "run-2", tmp_path / "out")
    results = meta.Results.load("run-2", store=store)
    assert results.path == str(path)
    assert results.lines[0] == 1  # line numbers exist, so errors can name them


def test_run_id_without_a_folder_reads_the_store(tmp_path):
    store = _store(tmp_path / "store.sqlite", "run-3", tmp_path / "gone")
    results = meta.Results.load("run-3", store=store)
    assert [j.item_id for j in results.judgments] == [f"i{k}" for k in range(len(JUDGE))]
    assert results.lines == [None] * len(JUDGE)


def test_unknown_names_are_one_clear_error_and_create_no_store(tmp_path):
    missing_store = tmp_path / "none" / "store.sqlite"
    result = runner.invoke(app, ["meta", "run-9", "--store", str(missing_store)])
    assert result.exit_code == 2
    assert "file not found, nor a folder or a run id" in result.output
    assert not missing_store.exists()
    store = _store(tmp_path / "store.sqlite", "run-1", tmp_path / "x")
    with pytest.raises(meta.MetaInputError, match="run-2: file not found"):
        meta.load_results("run-2", store)


def test_a_folder_without_results_says_so(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(meta.MetaInputError, match=r"results.jsonl: file not found \(no results"):
        meta.load_results(tmp_path / "empty")


def test_an_unreadable_store_is_a_storage_error(tmp_path):
    bad = tmp_path / "store.sqlite"
    bad.write_text("not a database")
    result = runner.invoke(app, ["meta", "run-1", "--store", str(bad)])
    assert result.exit_code == 4
    assert str(bad) in result.output
