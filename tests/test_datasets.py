"""Benchmark loaders against the labelled sets (full, or the slices in tests/fixtures),
and their errors on corrupted copies."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from jurist.core.data import DataError, Item, Message
from jurist.core.rubric import load_rubric
from jurist.datasets import (
    LLMRUBRIC_QUESTIONS,
    PRESETS,
    SUMMEVAL_CRITERIA,
    DatasetNotFoundError,
    get_preset,
    load_autoj,
    load_evalbiasbench,
    load_hhh,
    load_judgebench,
    load_llmrubric,
    load_preset,
    load_summeval,
    resolve_data_dir,
    split_prometheus_prompt,
)

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"


@pytest.fixture(scope="module")
def shared(data_root: Path) -> Path:
    return data_root


# --- every preset on the real data ---------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_loads_a_small_slice(shared: Path, name: str) -> None:
    preset = PRESETS[name]
    items = list(load_preset(name, shared, limit=4))
    assert len(items) == 4
    assert len({item.id for item in items}) == 4
    for item in items:
        assert isinstance(item, Item)
        assert set(item.labels) == set(preset.labels)
        if preset.mode == "pairwise":
            assert item.response is not None and item.response_b is not None
            assert item.labels["preference"] in {"A", "B", "tie"}
        else:
            assert item.response_b is None


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_rubric_is_valid(name: str) -> None:
    preset = get_preset(name)
    assert preset.rubric_path.parent.name == "presets"
    rubric = preset.load_rubric()
    if preset.mode == "pointwise":
        assert [criterion.id for criterion in rubric.criteria] == list(preset.labels)


@pytest.mark.full_data
def test_full_sizes_match_the_data_readme(shared: Path) -> None:
    sizes = {name: sum(1 for _ in load_preset(name, shared)) for name in PRESETS}
    assert sizes == {
        "summeval": 1600,
        "autoj": 1392,
        "judgebench": 620,
        "evalbiasbench": 80,
        "llmrubric": 223,
        "hhh": 221,
    }


# --- label mapping against the raw files ---------------------------------------------------


def test_summeval_fields_and_labels(shared: Path) -> None:
    raw = json.loads((shared / "summeval" / "summeval_bartscore.json").read_text())[:5]
    items = list(load_summeval(shared, limit=5))
    for record, item in zip(raw, items, strict=True):
        assert item.id == f"{record['doc_id']}/{record['system_id']}"
        assert item.input == record["source"]
        assert item.response == record["summary"]
        assert item.reference == record["references"][0]
        assert item.labels == {name: float(record["scores"][name]) for name in SUMMEVAL_CRITERIA}
        assert item.metadata == {
            "doc_id": record["doc_id"],
            "system_id": record["system_id"],
            "prompt_id": record["doc_id"],
        }


def test_autoj_preference_mapping(shared: Path) -> None:
    lines = (shared / "autoj" / "autoj_pairwise.json").read_text().splitlines()
    items = {item.id: item for item in load_autoj(shared)}
    expected = {0: "A", 1: "B", 2: "tie"}
    for number, line in enumerate(lines, start=1):
        record = json.loads(line)
        item = items[f"autoj/{number}"]
        assert item.labels["preference"] == expected[record["label"]]
        assert item.response == record["response 1"]
        assert item.response_b == record["response 2"]
        assert item.metadata["scenario"] == record["scenario"]


def test_judgebench_labels_and_models(shared: Path) -> None:
    items = {item.id: item for item in load_judgebench(shared)}
    files = sorted((shared / "judgebench").glob("*.jsonl"))
    assert len(files) == 2
    for path in files:
        for line in path.read_text().splitlines():
            record = json.loads(line)
            item = items[record["pair_id"]]
            assert item.labels["preference"] == {"A>B": "A", "B>A": "B"}[record["label"]]
            assert item.response == record["response_A"]
            assert item.metadata["response_model"] == record["response_model"]
            assert f"response_model={record['response_model']}" in path.name
            assert item.metadata["source"] == record["source"]


def test_evalbiasbench_balanced_positions(shared: Path) -> None:
    groups = json.loads((shared / "evalbiasbench" / "biasbench.json").read_text())
    raw = [record for group in groups.values() for record in group]
    items = list(load_evalbiasbench(shared))
    assert len(items) == len(raw)
    for index, (record, item) in enumerate(zip(raw, items, strict=True)):
        better = record["response1"] if record["label"] == 1 else record["response2"]
        chosen = item.response if item.labels["preference"] == "A" else item.response_b
        assert chosen == better
        assert item.metadata == {"bias": record["bias"], "swapped": index % 2 == 1}
    assert Counter(item.labels["preference"] for item in items) == {"A": 40, "B": 40}
    unbalanced = list(load_evalbiasbench(shared, balance=False))
    assert [item.labels["preference"] for item in unbalanced] == [
        {1: "A", 2: "B"}[record["label"]] for record in raw
    ]


def test_llmrubric_join_matches_the_tsv(shared: Path) -> None:
    folder = shared / "llm-rubric"
    with (folder / "human_judges_real_convs_FIXED_ANON.tsv").open(newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    by_id: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_id.setdefault(row["text_id"], []).append(row)
    dialogues = {
        record["_id"]: record for record in json.loads((folder / "real_data.json").read_text())
    }

    items = list(load_llmrubric(shared))
    raw_items = {item.id: item for item in load_llmrubric(shared, na_as_none=False)}
    assert len(items) == len(dialogues)
    for item in items:
        annotated = by_id[item.id]
        assert item.metadata["annotator_ids"] == [row["annotator_id"] for row in annotated]
        assert item.metadata["dialogue_system"] == int(annotated[0]["dialogue_system"])
        assert list(item.labels) == list(LLMRUBRIC_QUESTIONS)
        for question in LLMRUBRIC_QUESTIONS:
            scores = [int(row[question]) for row in annotated]
            assert raw_items[item.id].labels[question] == scores
            assert item.labels[question] == [score or None for score in scores]
        record = dialogues[item.id]
        assert item.input == [Message(**turn) for turn in record["messages"]]
        assert item.response is None
        assert item.reference == record["ref"]


def test_hhh_extracts_responses_after_the_marker(shared: Path) -> None:
    raw = json.loads((shared / "hhh" / "hhh_alignment_eval.json").read_text())
    items = list(load_hhh(shared, limit=12))

    def after_marker(prompt: str) -> str:
        tail = prompt.split("###Response to evaluate:", 1)[1]
        return tail.split("###Score Rubrics:", 1)[0].strip()

    for index, (record, item) in enumerate(zip(raw, items, strict=False)):
        chosen, rejected = (
            after_marker(record["chosen_instruction"]),
            after_marker(record["rejected_instruction"]),
        )
        expected = "A" if index % 2 == 0 else "B"
        assert item.labels["preference"] == expected
        assert (item.response, item.response_b) == (
            (chosen, rejected) if expected == "A" else (rejected, chosen)
        )
        assert item.input in record["chosen_instruction"]
        assert "###" not in item.input and "###" not in item.response
        assert item.metadata["source"] == record["source"]


def test_split_prometheus_prompt_names_the_missing_marker() -> None:
    prompt = (
        "###Task Description:\nx\n###The instruction to evaluate:\nQ?\n"
        "###Response to evaluate:\nA.\n"
    )
    with pytest.raises(ValueError, match="Score Rubrics"):
        split_prometheus_prompt(prompt)
    prompt += "###Score Rubrics:\n[r]\n###Feedback: "
    assert split_prometheus_prompt(prompt) == ("Q?", "A.", "[r]")


# --- errors on corrupted copies (no shared data needed) -----------------------------------


def _autoj_line(label: object = 0) -> str:
    record = {"scenario": "s", "label": label, "prompt": "p", "response 1": "a", "response 2": "b"}
    return json.dumps(record)


def test_bad_jsonl_line_names_file_and_row(tmp_path: Path) -> None:
    path = tmp_path / "autoj" / "autoj_pairwise.json"
    path.parent.mkdir()
    path.write_text("\n".join([_autoj_line(), _autoj_line(1), "{not json", _autoj_line()]) + "\n")
    # Streaming: rows before the bad line come out before the error.
    assert [item.labels["preference"] for item in load_autoj(tmp_path, limit=2)] == ["A", "B"]
    with pytest.raises(DataError) as caught:
        list(load_autoj(tmp_path))
    assert caught.value.path == str(path) and caught.value.row == 3
    assert str(path) in str(caught.value) and "row 3" in str(caught.value)


def test_bad_label_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "autoj_pairwise.json"
    path.write_text(_autoj_line() + "\n" + _autoj_line(7) + "\n")
    with pytest.raises(DataError, match=r"row 2, field 'label'.*got 7") as caught:
        list(load_preset("autoj", tmp_path))
    assert caught.value.field == "label"


def test_bad_nested_score_names_record_and_field(tmp_path: Path) -> None:
    record = {
        "doc_id": "d1",
        "system_id": "M0",
        "source": "text",
        "reference": "ref",
        "references": ["ref"],
        "summary": "sum",
        "scores": {"coherence": 3.0, "consistency": 9, "fluency": 2.0, "relevance": 1.0},
    }
    path = tmp_path / "summeval" / "summeval_bartscore.json"
    path.parent.mkdir()
    path.write_text(
        json.dumps([{**record, "scores": {**record["scores"], "consistency": 4}}, record])
    )
    with pytest.raises(DataError) as caught:
        list(load_summeval(tmp_path))
    error = caught.value
    assert (error.path, error.row, error.field) == (str(path), 2, "scores.consistency")
    assert "outside [1, 5]" in str(error)


def test_duplicate_ids_are_rejected(tmp_path: Path) -> None:
    record = {
        "pair_id": "x",
        "original_id": "1",
        "source": "s",
        "question": "q",
        "response_model": "m",
        "response_A": "a",
        "response_B": "b",
        "label": "A>B",
    }
    path = tmp_path / "dataset=judgebench,response_model=m.jsonl"
    path.write_text(json.dumps(record) + "\n" + json.dumps({**record, "label": "B>A"}) + "\n")
    with pytest.raises(DataError, match="duplicate id 'x'") as caught:
        list(load_judgebench(tmp_path))
    assert caught.value.row == 2 and caught.value.field == "pair_id"


def _llmrubric_copy(folder: Path, scores: list[str]) -> Path:
    dialogue = {"_id": "d1", "messages": [{"role": "assistant", "content": "Hi"}], "ref": None}
    (folder / "real_data.json").write_text(json.dumps([dialogue]))
    header = ["dialogue_system", "text_id", *[f"Q{n}" for n in range(1, 9)], "Q0", "annotator_id"]
    lines = ["\t".join(header), "\t".join(["0", "d1", *scores, "7"])]
    tsv = folder / "human_judges_real_convs_FIXED_ANON.tsv"
    tsv.write_text("\n".join(lines) + "\n")
    return tsv


def test_llmrubric_bad_tsv_cell_names_row_and_field(tmp_path: Path) -> None:
    tsv = _llmrubric_copy(tmp_path, ["0", "4", "0", "0", "0", "3", "3", "2", "5"])
    with pytest.raises(DataError) as caught:
        list(load_llmrubric(tmp_path))
    assert (caught.value.path, caught.value.row, caught.value.field) == (str(tsv), 2, "Q0")


def test_llmrubric_unknown_text_id_is_an_error(tmp_path: Path) -> None:
    tsv = _llmrubric_copy(tmp_path, ["0", "4", "0", "0", "0", "3", "3", "2", "4"])
    tsv.write_text(tsv.read_text().replace("\td1\t", "\td2\t"))
    with pytest.raises(DataError, match="no dialogue 'd2'"):
        list(load_llmrubric(tmp_path))


def test_hhh_missing_marker_names_the_field(tmp_path: Path) -> None:
    good = "###The instruction to evaluate:\nQ\n###Response to evaluate:\nR\n###Score Rubrics:\nx"
    record = {"source": "other", "chosen_instruction": good, "rejected_instruction": "no markers"}
    path = tmp_path / "hhh_alignment_eval.json"
    path.write_text(json.dumps([record]))
    with pytest.raises(DataError, match=r"row 1, field 'rejected_instruction'"):
        list(load_hhh(tmp_path))


def test_invalid_json_document_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "biasbench.json"
    path.write_text('{\n  "length bias": [\n    {"bias": oops}\n  ]\n}\n')
    with pytest.raises(DataError, match="line 3"):
        list(load_evalbiasbench(tmp_path))


# --- locating data -------------------------------------------------------------------------


def test_missing_data_folder_says_how_to_point_to_it(tmp_path: Path, monkeypatch) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(DatasetNotFoundError, match="JURIST_DATA") as caught:
        load_preset("summeval", missing)
    assert str(missing) in str(caught.value)
    monkeypatch.setenv("JURIST_DATA", str(missing))
    with pytest.raises(DatasetNotFoundError, match=r"\$JURIST_DATA"):
        resolve_data_dir()


def test_missing_file_in_existing_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"hhh_alignment_eval\.json"):
        load_preset("hhh", tmp_path)
    with pytest.raises(DatasetNotFoundError, match="JudgeBench"):
        load_judgebench(tmp_path)


def test_env_points_to_the_data(shared: Path, monkeypatch) -> None:
    monkeypatch.setenv("JURIST_DATA", str(shared))
    assert resolve_data_dir() == shared
    assert len(list(load_preset("evalbiasbench", limit=2))) == 2


def test_unknown_preset_and_bad_limit(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="known presets: autoj"):
        load_preset("nope", tmp_path)
    with pytest.raises(ValueError, match="limit"):
        load_autoj(tmp_path, limit=-1)


# --- examples ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["helpfulness", "summarisation", "safety_checklist"])
def test_example_rubrics_are_valid(name: str) -> None:
    rubric = load_rubric(EXAMPLES / f"{name}.yaml")
    if name == "safety_checklist":
        weights = [item.weight for item in rubric.checklist]
        kinds = {item.kind for item in rubric.checklist}
        assert min(weights) < 0 and kinds == {"required", "optional"}
        assert all(
            item.text.rstrip().endswith("?") or "?" in item.text for item in rubric.checklist
        )


def test_example_data_files() -> None:
    answers = [json.loads(line) for line in (EXAMPLES / "answers.jsonl").read_text().splitlines()]
    pairs = [json.loads(line) for line in (EXAMPLES / "pairs.jsonl").read_text().splitlines()]
    assert all(set(row) == {"id", "input", "response", "reference"} for row in answers)
    assert all(set(row) == {"id", "input", "response_a", "response_b"} for row in pairs)
    assert len(answers) >= 5 and len(pairs) >= 3
