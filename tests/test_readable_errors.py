"""Errors a user can read: bad files end in one `error:` line that names the file, the line
or row and the field, with exit code 2 -- never a traceback, never an HTTP 500."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from judgment_builders import judgment, write_results
from jurist.cli import app
from jurist.core.data import DataError, FieldMap, ReadReport, read_items
from jurist.core.errors import EXIT_INPUT
from jurist.meta import MetaInputError, read_labels, read_results
from jurist.train.pairs import load_pairs
from jurist.view.app import create_app, make_viewer
from scripted_server import ScriptedServer

RUBRIC_YAML = """
name: r
criteria:
  - id: q
    question: Is it good?
    scale: {1: bad, 2: poor, 3: fair, 4: good, 5: great}
"""
TOKEN = "t0ken-for-tests"


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args])
    return result.exit_code, result.output


def one_error_line(output: str) -> str:
    """The single `error:` line of a failed command; no traceback around it."""
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, output
    return lines[0]


@pytest.fixture
def rubric(tmp_path: Path) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(RUBRIC_YAML, encoding="utf-8")
    return path


# ---------------------------------------------------------------- corrupt Parquet


def _parquet(path: Path, n: int = 200) -> Path:
    rows = [{"id": f"i{k}", "input": "q" * 50 + str(k), "response": "a" * 50} for k in range(n)]
    pq.write_table(pa.Table.from_pylist(rows), path, compression="snappy")
    return path


def _corrupt_pages(path: Path) -> Path:
    """A Parquet file whose footer is intact but whose data pages are garbage."""
    data = bytearray(path.read_bytes())
    data[100:400] = b"\xab" * 300
    path.write_bytes(bytes(data))
    return path


def _not_parquet(path: Path) -> Path:
    path.write_bytes(b"PAR1 this is not a parquet file at all PAR1")
    return path


@pytest.mark.parametrize("corrupt", [_corrupt_pages, _not_parquet])
def test_corrupt_parquet_is_a_data_error_naming_the_file(tmp_path: Path, corrupt) -> None:
    path = corrupt(_parquet(tmp_path / "items.parquet"))
    with pytest.raises(DataError, match=r"items\.parquet.*(Parquet|parquet)") as caught:
        list(read_items(path))
    assert caught.value.path == str(path)


@pytest.mark.parametrize("corrupt", [_corrupt_pages, _not_parquet])
def test_grade_on_corrupt_parquet_is_one_line_exit_2(tmp_path: Path, rubric: Path, corrupt):
    path = corrupt(_parquet(tmp_path / "items.parquet"))
    code, output = cli(
        "grade", str(rubric), str(path), "--judge", "openai:http://127.0.0.1:9/v1#m",
        "--store", str(tmp_path / "s.sqlite"), "--no-progress", "-o", str(tmp_path / "o"),
    )  # fmt: skip
    assert code == EXIT_INPUT
    assert "items.parquet" in one_error_line(output)


# ---------------------------------------------------------------- train dpo / sft pair files


def _pair(**changes: object) -> str:
    return json.dumps({"prompt": "p", "chosen": "c", "rejected": "r", **changes})


PAIR_FILES = {
    "empty": ("", None, "no pairs"),
    "blank lines": ("\n\n", None, "no pairs"),
    "not JSON": ("this is not json\n", 1, "invalid JSON"),
    "bad second line": (_pair() + "\n{broken\n", 2, "invalid JSON"),
    "not an object": ("[1, 2]\n", 1, "JSON object"),
    "array document": ("[" + _pair() + ", 3]", 2, "JSON object"),
}


@pytest.mark.parametrize("name", list(PAIR_FILES))
def test_unreadable_pair_files_name_file_and_line(tmp_path: Path, name: str) -> None:
    text, line, problem = PAIR_FILES[name]
    path = tmp_path / "pairs.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=problem) as caught:
        load_pairs(path)
    assert caught.value.path == str(path)
    assert caught.value.row == line


def test_pair_file_with_undecodable_bytes_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_bytes(
        (_pair() + "\n").encode() + _pair(chosen="café").encode().replace(b"\\u00e9", b"\xe9")
    )
    with pytest.raises(DataError, match="cannot be decoded") as caught:
        load_pairs(path)
    assert (caught.value.row, caught.value.field) == (2, "chosen")


def test_corrupt_parquet_pair_file_names_it(tmp_path: Path) -> None:
    path = _not_parquet(tmp_path / "pairs.parquet")
    with pytest.raises(DataError, match=r"pairs\.parquet"):
        load_pairs(path)


def test_valid_pair_files_still_load(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(_pair() + "\n" + _pair(chosen="c2", label=None) + "\n", encoding="utf-8")
    data = load_pairs(path)
    assert len(data) == 2 and data[1]["chosen"] == "c2"
    document = tmp_path / "pairs.json"
    document.write_text("[" + _pair() + "]", encoding="utf-8")
    assert len(load_pairs(document)) == 1


@pytest.mark.parametrize("command", ["dpo", "sft"])
@pytest.mark.parametrize("name", ["empty", "not JSON"])
def test_train_on_unreadable_pairs_is_one_line_exit_2(tmp_path: Path, command: str, name: str):
    text, line, _ = PAIR_FILES[name]
    path = tmp_path / "pairs.jsonl"
    path.write_text(text, encoding="utf-8")
    code, output = cli("train", command, str(path), "-o", str(tmp_path / "m"))
    assert code == EXIT_INPUT
    error = one_error_line(output)
    assert "pairs.jsonl" in error
    if line is not None:
        assert f"row {line}" in error


# ---------------------------------------------------------------- results that are not UTF-8


def _run(folder: Path, n: int = 8) -> Path:
    """An output folder as `jurist grade -o` leaves it, with human labels in the results."""
    folder.mkdir(parents=True)
    judgments = [
        judgment(
            f"q{i}",
            i,
            criteria={"q": {"status": "ok", "score": float(1 + i % 5), "rationale": "It fits."}},
            overall=float(1 + i % 5),
            labels={"q": 1 + (i + 1) % 5},
        )
        for i in range(n)
    ]
    write_results(folder / "results.jsonl", judgments)
    return folder


@pytest.fixture
def latin1_run(tmp_path: Path) -> Path:
    """An output folder whose results.jsonl has a Latin-1 byte in line 5's rationale."""
    folder = _run(tmp_path / "out")
    results = folder / "results.jsonl"
    lines = results.read_bytes().splitlines(keepends=True)
    lines[4] = lines[4].replace(b"It fits.", b"It fits caf\xe9.", 1)
    results.write_bytes(b"".join(lines))
    return folder


def test_results_not_utf8_name_file_line_and_field(latin1_run) -> None:
    with pytest.raises(MetaInputError, match="cannot be decoded") as caught:
        read_results(latin1_run / "results.jsonl")
    assert caught.value.line == 5
    assert caught.value.field is not None and "rationale" in caught.value.field


def test_report_on_results_not_utf8_is_one_line_exit_2(latin1_run, tmp_path: Path) -> None:
    code, output = cli(
        "report", str(latin1_run), "--store", str(tmp_path / "s.sqlite"),
        "-o", str(tmp_path / "r.html"),
    )  # fmt: skip
    assert code == EXIT_INPUT
    error = one_error_line(output)
    assert "results.jsonl" in error and "line 5" in error


@pytest.mark.parametrize("command", ["meta", "audit"])
def test_meta_and_audit_on_results_not_utf8_name_file_and_line(latin1_run: Path, command: str):
    code, output = cli(command, str(latin1_run))
    assert code == EXIT_INPUT
    error = one_error_line(output)
    assert "results.jsonl" in error and "line 5" in error


def test_view_of_results_not_utf8_answers_with_the_error(latin1_run, tmp_path: Path) -> None:
    viewer = make_viewer(
        [str(latin1_run)], tmp_path / "s.sqlite", token=TOKEN, cache_dir=tmp_path / "cache"
    )
    key = viewer.sources[0].key
    client = TestClient(
        create_app(viewer), raise_server_exceptions=False, headers={"X-Jurist-Token": TOKEN}
    )
    for page in (f"/run/{key}", f"/run/{key}/item/1"):
        answer = client.get(page)
        assert answer.status_code == 422, page
        assert "results.jsonl line 5" in answer.text and "cannot be decoded" in answer.text


@pytest.mark.parametrize(
    ("suffix", "body", "line"),
    [
        (".jsonl", b'{"id": "q0", "human": 3}\n{"id": "q1", "note": "caf\xe9"}\n', 2),
        (".csv", b"id,human,note\nq0,3,ok\nq1,4,caf\xe9\n", 3),
    ],
)
def test_labels_not_utf8_name_file_and_line(tmp_path: Path, suffix: str, body: bytes, line: int):
    path = tmp_path / f"labels{suffix}"
    path.write_bytes(body)
    with pytest.raises(MetaInputError, match="cannot be decoded") as caught:
        read_labels(path)
    assert caught.value.line == line and caught.value.field == "note"


def test_meta_with_labels_not_utf8_names_file_and_line(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_bytes(b"id,q\nq0,3\nq1,caf\xe9\n")
    code, output = cli("meta", str(_run(tmp_path / "out")), "--labels", str(labels))
    assert code == EXIT_INPUT
    error = one_error_line(output)
    assert "labels.csv" in error and "line 3" in error


def test_labels_document_errors_name_the_line_of_the_element(tmp_path: Path) -> None:
    path = tmp_path / "labels.json"
    path.write_text('[\n  {"id": "q0", "q": 3},\n\n  {"id": "q1",\n   "q": 4}, 5]', "utf-8")
    with pytest.raises(MetaInputError, match="expected an object") as caught:
        read_labels(path)
    assert caught.value.line == 5
    path.write_text('[{"id": "q0", "q": 3},\n {"id": "q1", "q": true}]', "utf-8")
    with pytest.raises(MetaInputError) as caught:
        read_labels(path)
    assert (caught.value.line, caught.value.field) == (2, "q")


def test_results_line_without_a_mode_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    record = {"item_id": "x", "index": 0, "status": "ok", "judge": "j", "rubric": "r"}
    path.write_text(json.dumps({**record, "mode": "pointwise", "rubric_hash": "0"}) + "\n"
                    + json.dumps({**record, "rubric_hash": "0"}) + "\n", "utf-8")  # fmt: skip
    with pytest.raises(MetaInputError, match="missing") as caught:
        read_results(path)
    assert (caught.value.line, caught.value.field) == (2, "mode")


def test_labels_in_utf16_read_like_utf8(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_bytes("id,human\nq0,3\n".encode("utf-16"))
    assert read_labels(path).ratings == {"q0": {"human": [3.0]}}


# ---------------------------------------------------------------- lone surrogates


SURROGATE_ROWS = (
    '{"id": "a", "input": "hi \\ud83d there", "response": "x"}\n'
    '{"id": "b", "input": "fine", "response": "y"}\n'
    '{"id": "c", "input": [{"role": "user", "content": "\\udc00!"}], "response": "z"}\n'
)


def test_lone_surrogate_is_a_bad_row_naming_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(SURROGATE_ROWS, encoding="utf-8")
    with pytest.raises(DataError, match="surrogate") as caught:
        list(read_items(path))
    assert (caught.value.row, caught.value.field) == (1, "input")
    report = ReadReport()
    items = list(read_items(path, FieldMap(id="id"), skip_bad_rows=True, report=report))
    assert [i.id for i in items] == ["b"]
    assert [(e.row, e.field) for e in report.skipped] == [(1, "input"), (3, "input[0].content")]


def test_lone_surrogate_in_a_csv_chat_cell_is_a_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    chat = json.dumps([{"role": "user", "content": "x"}]).replace("x", "\\\\ud83d")
    chat = chat.replace("\\\\", "\\")
    path.write_text(f'input,response\n"{chat.replace(chr(34), 2 * chr(34))}",ok\n', "utf-8")
    with pytest.raises(DataError, match="surrogate") as caught:
        list(read_items(path))
    assert caught.value.row == 2 and caught.value.field is not None


def test_grade_skips_a_lone_surrogate_row(tmp_path: Path, rubric: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text(SURROGATE_ROWS, encoding="utf-8")
    answer = json.dumps({"rationale": "fine", "score": 3})
    with ScriptedServer(lambda prompt, n: ("ok", answer)) as server:
        common = ("--judge", f"openai:{server.url}#m", "--store", str(tmp_path / "s.sqlite"),
                  "--no-progress", "--id-field", "id")  # fmt: skip
        code, output = cli("grade", str(rubric), str(path), *common, "-o", str(tmp_path / "o1"))
        assert code == EXIT_INPUT
        error = one_error_line(output)
        assert "d.jsonl" in error and "row 1" in error and "'input'" in error
        code, output = cli(
            "grade", str(rubric), str(path), *common, "-o", str(tmp_path / "o2"), "--skip-bad-rows"
        )
    assert code == 0, output
    results = (tmp_path / "o2" / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["item_id"] for line in results] == ["b"]
