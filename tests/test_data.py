import json

import pandas as pd
import pytest

from jurist.core.data import DataError, FieldMap, ReadReport, read_items


def jsonl(tmp_path, rows, name="data.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_jsonl_field_mapping_and_multi_turn(tmp_path):
    chat = [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "and?"},
    ]
    path = jsonl(
        tmp_path, [{"q": chat, "a": "fine", "ref": "ok", "key": "x1", "human": 4, "model": "m"}]
    )
    fields = FieldMap(
        input="q", response="a", reference="ref", id="key", labels=("human",), keep=("model",)
    )
    (item,) = read_items(path, fields)
    assert item.id == "x1" and item.is_multi_turn and item.input[2].content == "and?"
    assert (
        item.reference == "ok" and item.labels == {"human": 4} and item.metadata == {"model": "m"}
    )


def test_invalid_json_names_file_and_line(tmp_path):
    path = jsonl(
        tmp_path,
        [{"input": "a", "response": "b"}, '{"input": "broken', {"input": "c", "response": "d"}],
    )
    with pytest.raises(DataError) as error:
        list(read_items(path))
    assert (
        error.value.row == 2
        and str(path) in str(error.value)
        and "invalid JSON" in str(error.value)
    )


def test_missing_field_names_row_and_field(tmp_path):
    path = jsonl(tmp_path, [{"input": "a", "response": "b"}, {"input": "c"}])
    with pytest.raises(DataError, match=r"row 2, field 'response': missing"):
        list(read_items(path))


def test_skip_bad_rows_records_every_skipped_row(tmp_path):
    path = jsonl(
        tmp_path,
        [
            {"input": "a", "response": "b"},
            "not json",
            {"input": "c"},
            {"input": "d", "response": "e"},
            "[1, 2]",
        ],
    )
    report = ReadReport()
    items = list(read_items(path, skip_bad_rows=True, report=report))
    assert [i.input for i in items] == ["a", "d"]
    assert [e.row for e in report.skipped] == [2, 3, 5]
    assert report.skipped[1].field == "response"


def test_csv_rows_are_numbered_like_a_spreadsheet(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('input,response\n"q1","r1"\n"q2",\n')
    with pytest.raises(DataError, match=r"row 3, field 'response'"):
        list(read_items(path))


def test_csv_chat_json_cell_becomes_messages(tmp_path):
    path = tmp_path / "d.csv"
    pd.DataFrame(
        {"input": [json.dumps([{"role": "user", "content": "hi"}])], "response": ["yo"]}
    ).to_csv(path, index=False)
    (item,) = read_items(path)
    assert item.is_multi_turn and item.input[0].content == "hi"


def test_parquet_and_duplicate_ids(tmp_path):
    path = tmp_path / "d.parquet"
    pd.DataFrame(
        {"id": ["a", "b", "a"], "input": ["x", "y", "z"], "response": ["1", "2", "3"]}
    ).to_parquet(path)
    with pytest.raises(DataError, match=r"row 3, field 'id': duplicate id 'a'"):
        list(read_items(path, FieldMap(id="id")))
    items = list(read_items(path, FieldMap(id="id"), skip_bad_rows=True))
    assert [i.id for i in items] == ["a", "b"]


def test_bad_chat_turn_and_unknown_type(tmp_path):
    path = jsonl(tmp_path, [{"input": [{"role": "user"}], "response": "r"}])
    with pytest.raises(DataError, match=r"field 'input\[0\]': a chat turn needs role and content"):
        list(read_items(path))
    with pytest.raises(DataError, match="unknown file type"):
        list(read_items(jsonl(tmp_path, [{}], name="d.txt")))
