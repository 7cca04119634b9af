"""Reading listwise candidates: a list column, a JSON list in a CSV cell, or several
columns; bad rows name the file, row and field."""

import json

import pytest

from jurist.core.data import DataError, FieldMap, read_items


def test_list_column_and_several_columns(tmp_path):
    path = tmp_path / "sets.jsonl"
    rows = [
        {"input": "q1", "responses": ["a", "b", "c"], "r1": "x", "r2": "y"},
        {"input": "q2", "responses": ["d", "e"], "r1": "z", "r2": "w"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    listed = list(read_items(path, FieldMap(response=None, responses=("responses",))))
    assert [i.responses for i in listed] == [("a", "b", "c"), ("d", "e")]
    assert listed[0].candidates == ("a", "b", "c")
    spread = list(read_items(path, FieldMap(response=None, responses=("r1", "r2"))))
    assert spread[1].responses == ("z", "w")
    # Readers that know nothing of lists still read the same file as before.
    plain = list(read_items(path, FieldMap(response="r1")))
    assert plain[0].responses == () and plain[0].response == "x"


def test_json_list_in_a_csv_cell(tmp_path):
    path = tmp_path / "sets.csv"
    path.write_text('input,responses\nq,"[""a"", ""b""]"\n')
    (item,) = read_items(path, FieldMap(response=None, responses=("responses",)))
    assert item.responses == ("a", "b")


@pytest.mark.parametrize(
    ("row", "field", "problem"),
    [
        ({"input": "q", "responses": ["only"]}, "responses", "at least 2"),
        ({"input": "q", "responses": "text"}, "responses", "expected a list"),
        ({"input": "q", "responses": ["a", {"x": 1}]}, "responses[1]", "expected text"),
        ({"input": "q"}, "responses", "missing"),
    ],
)
def test_bad_rows_name_row_and_field(tmp_path, row, field, problem):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"input": "ok", "responses": ["a", "b"]}) + "\n" + json.dumps(row))
    with pytest.raises(DataError) as error:
        list(read_items(path, FieldMap(response=None, responses=("responses",))))
    assert error.value.row == 2 and error.value.field == field
    assert problem in str(error.value) and str(path) in str(error.value)
