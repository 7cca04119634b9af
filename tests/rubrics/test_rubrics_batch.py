"""Writing rubrics for a data set through the library, without the CLI: typed outcomes,
the report document, and where bad input and failed writes surface."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fakes import ScriptedBackend
from jurist.backends import CallPolicy
from jurist.core.completion import Request
from jurist.core.data import FieldMap, Item
from jurist.core.errors import ConfigError, InputError, StorageError
from jurist.core.rubric import load_rubric
from jurist.datasets import ItemSource
from jurist.rubrics.batch import (
    GenerateSettings,
    ItemOutcome,
    file_stem,
    generate_for_items,
    generate_rubrics,
)
from jurist.rubrics.pipeline import RubricPipeline
from jurist.rubrics.session import JudgeSettings, writing
from jurist.session import JudgeSession, JudgeSetup
from jurist.store import Store

SCALE = {str(p): f"Level {p} of unit use, described in full words" for p in range(1, 6)}
RUBRIC = {
    "criteria": [
        {"id": "units", "question": "Does it give the unit?", "weight": 2, "scale": SCALE},
    ]
}
CONTRAST = {"hard_rules": [{"id": "exact", "text": "The response gives the exact value"}]}


def scripted_pipeline(
    answer: Any, store: Store, *, expected: bool = True, mode: str = "pointwise"
) -> RubricPipeline:
    """A pipeline whose session borrows a scripted backend and the test's store."""
    setup = JudgeSetup(mode=mode, calls=CallPolicy(concurrency=1))
    session = JudgeSession(setup=setup, store=store, backend=ScriptedBackend(answer))
    return RubricPipeline(session, expected=expected)


def answer(request: Request, _: int) -> str:
    prompt = request.messages[0]["content"]
    if request.tag.startswith("rubric-generate"):
        return "not JSON at all" if "BROKEN" in prompt else json.dumps(RUBRIC)
    if request.tag.startswith("rubric-contrastive"):
        return json.dumps(CONTRAST)
    if request.tag.startswith("checklist:"):
        response = prompt.split("<response>\n", 1)[1].split("\n</response>", 1)[0]
        verdict = "yes" if "exact" in response else "no"
        return json.dumps({"justification": "Checked.", "answer": verdict})
    raise AssertionError(f"unexpected request {request.tag}")


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_file_stems_are_safe_and_unique():
    taken: set[str] = set()
    assert [file_stem(name, taken) for name in ("q/1", "q 1", "..", "q_1")] == [
        "q_1",
        "q_1-2",
        "item",
        "q_1-3",
    ]


async def test_outcomes_are_typed_and_reported_as_they_happen(tmp_path: Path):
    items = [Item(id="a/1", input="Boiling point?"), Item(id="b", input="BROKEN prompt")]
    heard: list[ItemOutcome] = []
    with Store(tmp_path / "s.sqlite") as store:
        pipeline = scripted_pipeline(answer, store)
        outcomes = await generate_for_items(
            items, pipeline, tmp_path, GenerateSettings(tries=1), on_outcome=heard.append
        )
    assert heard == outcomes
    first, second = outcomes
    assert (first.status, first.usable, first.files) == ("ok", True, [str(tmp_path / "a_1.yaml")])
    assert [c.id for c in load_rubric(tmp_path / "a_1.yaml").criteria] == ["units"]
    assert (tmp_path / "a_1.prompts.txt").read_text() == "Boiling point?\n"
    assert [r.name for r in first.rubrics] == ["instance-a/1"]
    assert (second.status, second.usable, second.files) == ("rejected", False, None)
    assert second.raw == "not JSON at all" and "no JSON object" in (second.reason or "")


async def test_contrastive_skips_unlabelled_pairs_and_keeps_accepted(tmp_path: Path):
    items = [
        Item(id="p", input="Q", response="exact 12", response_b="about 10", labels={"w": "A"}),
        Item(id="t", input="Q", response="x", response_b="y", labels={"w": "tie"}),
    ]
    settings = GenerateSettings(style="checklist", contrastive=True, tries=1)
    with Store(tmp_path / "s.sqlite") as store:
        pipeline = scripted_pipeline(answer, store)
        accepted, skipped = await generate_for_items(items, pipeline, tmp_path, settings, label="w")
    assert accepted.status == "ok" and accepted.files == [str(tmp_path / "p.yaml")]
    assert accepted.attempts is not None and len(accepted.attempts) == 1
    assert skipped.status == "skipped" and "label is tie" in (skipped.reason or "")


def test_generate_rubrics_writes_a_report_without_rubrics_or_raw_attempts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(JudgeSetup, "build_backend", lambda _: ScriptedBackend(answer))
    data = write_jsonl(
        tmp_path / "pairs.jsonl",
        [{"id": "p", "input": "Q", "response": "exact 12", "response_b": "10", "w": "A"}],
    )
    fields = FieldMap(response="response", response_b="response_b", id="id", labels=("w",))
    report = generate_rubrics(
        ItemSource(data=data, fields=fields),
        JudgeSettings(store=tmp_path / "s.sqlite"),
        tmp_path / "out",
        GenerateSettings(style="checklist", contrastive=True, tries=1),
    )
    assert (report.usable, report.counts, report.summary) == (1, {"ok": 1}, None)
    written = json.loads(Path(report.report_file).read_text())
    assert written["data"] == str(data) and written["judge"] == "local"
    [entry] = written["results"]
    assert "rubrics" not in entry and "reason" not in entry
    assert set(entry["attempts"][0]).isdisjoint({"rubric", "raw"})
    assert entry["attempts"][0]["status"] == "ok"


def test_contrastive_without_a_label_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="--label-field"):
        generate_rubrics(
            ItemSource(data=tmp_path / "d.jsonl"),
            JudgeSettings(),
            tmp_path,
            GenerateSettings(contrastive=True),
        )


def test_item_source_errors_name_what_is_missing(tmp_path: Path):
    with pytest.raises(ConfigError, match="--preset"):
        ItemSource().load()
    with pytest.raises(InputError, match="file not found") as missing:
        ItemSource(data=tmp_path / "none.jsonl").load()
    assert missing.value.path == str(tmp_path / "none.jsonl")
    rows = write_jsonl(tmp_path / "d.jsonl", [{"input": "a"}, {"input": "b"}, {"input": "c"}])
    assert [
        i.input for i in ItemSource(data=rows, fields=FieldMap(response=None), limit=2).load()
    ] == [
        "a",
        "b",
    ]


def test_a_failed_write_is_a_storage_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    target = blocker / "out.yaml"
    with pytest.raises(StorageError, match="cannot write") as failed, writing(target):
        target.write_text("y", encoding="utf-8")
    assert failed.value.exit_code == 4
