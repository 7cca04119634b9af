"""Data files in every encoding people save them in, undecodable bytes as located bad rows,
and OpenAI-style chat content given as a list of parts."""

import codecs
import csv
import io
import json
import tracemalloc
from pathlib import Path

import pandas as pd
import pytest

from jurist.core.data import DataError, Message, ReadReport, read_items
from jurist.core.errors import InputError
from jurist.datasets import load_autoj, load_llmrubric, load_summeval

ROWS = [
    {"input": "Qu'est-ce que c'est ?", "response": "Un café, 東京"},
    {"input": "second", "response": "deux"},
]
EXPECTED = [(row["input"], row["response"]) for row in ROWS]

# (codec, byte order mark written before the text)
ENCODINGS = {
    "utf-8 with BOM": ("utf-8", codecs.BOM_UTF8),
    "utf-16 LE with BOM": ("utf-16-le", codecs.BOM_UTF16_LE),
    "utf-16 BE with BOM": ("utf-16-be", codecs.BOM_UTF16_BE),
    "utf-32 LE with BOM": ("utf-32-le", codecs.BOM_UTF32_LE),
    "utf-32 BE with BOM": ("utf-32-be", codecs.BOM_UTF32_BE),
    "utf-16 LE without BOM": ("utf-16-le", b""),
}


def encode(text: str, encoding: str) -> bytes:
    codec, mark = ENCODINGS[encoding]
    return mark + text.encode(codec)


def jsonl_text(rows) -> str:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)


def csv_text(rows) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["input", "response"])
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def pairs(items) -> list[tuple[str, str]]:
    return [(item.input, item.response) for item in items]


# --- byte order marks and UTF-16/32 --------------------------------------------------------


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_jsonl_in_any_unicode_encoding_reads_like_utf8(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(encode(jsonl_text(ROWS), encoding))
    assert pairs(read_items(path)) == EXPECTED


@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_csv_in_any_unicode_encoding_reads_like_utf8(tmp_path: Path, encoding: str) -> None:
    # With a UTF-8 BOM read as text, the header's first name was "\ufeffinput".
    path = tmp_path / "data.csv"
    path.write_bytes(encode(csv_text(ROWS), encoding))
    items = list(read_items(path))
    assert pairs(items) == EXPECTED
    assert [item.id for item in items] == ["2", "3"]


@pytest.mark.parametrize("encoding", ["utf-8 with BOM", "utf-16 LE with BOM"])
def test_json_document_with_a_byte_order_mark(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "data.json"
    path.write_bytes(encode(json.dumps(ROWS, ensure_ascii=False), encoding))
    assert pairs(read_items(path)) == EXPECTED


def test_jsonl_files_joined_with_cat_keep_their_inner_bom(tmp_path: Path) -> None:
    path = tmp_path / "joined.jsonl"
    path.write_bytes(b"".join(codecs.BOM_UTF8 + jsonl_text([row]).encode() for row in ROWS))
    assert pairs(read_items(path)) == EXPECTED


# --- undecodable bytes -----------------------------------------------------------------------


def test_invalid_utf8_names_file_row_and_field(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(
        b'{"input": "a", "response": "b"}\n'
        b'{"input": "caf\xe9", "response": "d"}\n'
        b'{"input": "e", "response": "f"}\n'
    )
    with pytest.raises(DataError) as caught:
        list(read_items(path))
    error = caught.value
    assert isinstance(error, InputError)
    assert (error.path, error.row, error.field) == (str(path), 2, "input")
    assert str(error) == (
        f"{path}: row 2, field 'input': byte 0xe9 at character 4 cannot be decoded as UTF-8 "
        "(save the file as UTF-8)"
    )


def test_invalid_utf8_rows_are_skipped_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    path.write_bytes(
        b'{"input": "a", "response": "b"}\n'
        b'{"input": "c", "response": "\xff\xfe"}\n'
        b'{"input": "e\xc3", "response": broken\n'
        b'{"input": "g", "response": "h"}\n'
    )
    report = ReadReport()
    items = list(read_items(path, skip_bad_rows=True, report=report))
    assert pairs(items) == [("a", "b"), ("g", "h")]
    assert report.rows_read == 4
    assert [(e.row, e.field) for e in report.skipped] == [(2, "response"), (3, None)]
    assert "bytes 0xff 0xfe at character 1" in str(report.skipped[0])
    # A line that is undecodable and not JSON either is reported for its bytes.
    assert "byte 0xc3 at character 13 cannot be decoded" in str(report.skipped[1])


def test_invalid_bytes_in_a_csv_cell_are_a_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"input,response\nq1,r1\nq2,r\x922\nq3,r3\n")
    with pytest.raises(DataError, match=r"row 3, field 'response': byte 0x92 at character 2"):
        list(read_items(path))
    report = ReadReport()
    assert pairs(read_items(path, skip_bad_rows=True, report=report)) == [
        ("q1", "r1"),
        ("q3", "r3"),
    ]
    assert [e.row for e in report.skipped] == [3]


def test_undecodable_csv_header_stops_the_read(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"input,r\xe9ponse\nq,r\n")
    with pytest.raises(DataError, match=r"row 1: header: byte 0xe9 at character 2"):
        list(read_items(path, skip_bad_rows=True))


def test_broken_utf16_names_the_row(tmp_path: Path) -> None:
    # 0xDC00 alone is a low surrogate with no high one before it: not valid UTF-16.
    good = '{"input": "a", "response": "b"}\n{"input": "c", "response": "'
    path = tmp_path / "data.jsonl"
    path.write_bytes(
        codecs.BOM_UTF16_LE + good.encode("utf-16-le") + b"\x00\xdc" + '"}\n'.encode("utf-16-le")
    )
    report = ReadReport()
    assert pairs(read_items(path, skip_bad_rows=True, report=report)) == [("a", "b")]
    (error,) = report.skipped
    assert (error.row, error.field) == (2, "response")
    assert "bytes 0x00 0xdc at character 1 cannot be decoded as UTF-16 LE" in str(error)


def test_undecodable_record_in_a_json_document_is_skippable(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_bytes(
        b'[{"input": "a", "response": "b"},\n {"input": "c", "response": "d\xe9"},\n'
        b' {"input": "e", "response": "f"}]\n'
    )
    with pytest.raises(DataError, match=r"row 2, field 'response': byte 0xe9"):
        list(read_items(path))
    report = ReadReport()
    assert pairs(read_items(path, skip_bad_rows=True, report=report)) == [("a", "b"), ("e", "f")]
    assert [e.row for e in report.skipped] == [2]


def test_reading_streams_line_by_line(tmp_path: Path) -> None:
    # 2,000 rows of 1 kB in UTF-16: a 4 MB file; reading it whole would peak near 8 MB.
    path = tmp_path / "big.jsonl"
    row = {"input": "q", "response": "r" * 1000}
    path.write_bytes(codecs.BOM_UTF16_LE + (json.dumps(row) + "\n").encode("utf-16-le") * 2000)
    tracemalloc.start()
    try:
        count = sum(1 for _ in read_items(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 2000
    assert peak < 1_500_000


# --- chat content as a list of parts (OpenAI format) --------------------------------------


def openai_chat(*parts: dict) -> list[dict]:
    return [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": list(parts)},
    ]


def test_text_parts_are_joined(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    chat = openai_chat({"type": "text", "text": "Look:"}, {"type": "text", "text": "2 + 2?"})
    path.write_text(jsonl_text([{"input": chat, "response": "4"}]))
    (item,) = read_items(path)
    assert item.input == [
        Message(role="system", content="Be brief."),
        Message(role="user", content="Look:\n2 + 2?"),
    ]


def test_non_text_part_names_file_row_field_and_message(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    image = {"type": "image_url", "image_url": {"url": "https://example.org/cat.png"}}
    chat = openai_chat({"type": "text", "text": "What is this?"}, image)
    path.write_text(
        jsonl_text([{"input": "ok", "response": "r"}, {"input": chat, "response": "r"}])
    )
    with pytest.raises(DataError) as caught:
        list(read_items(path))
    assert str(caught.value) == (
        f"{path}: row 2, field 'input': message 2 has a non-text part 'image_url'"
    )
    report = ReadReport()
    assert len(list(read_items(path, skip_bad_rows=True, report=report))) == 1
    assert [e.row for e in report.skipped] == [2]


def test_text_parts_in_csv_and_parquet_cells(tmp_path: Path) -> None:
    chat = [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]
    csv_path = tmp_path / "chat.csv"
    pd.DataFrame({"input": [json.dumps(chat)], "response": ["yo"]}).to_csv(csv_path, index=False)
    parquet_path = tmp_path / "chat.parquet"
    pd.DataFrame({"input": [chat], "response": ["yo"]}).to_parquet(parquet_path)
    for path in (csv_path, parquet_path):
        (item,) = read_items(path)
        assert item.input == [Message(role="user", content="hi")]


@pytest.mark.parametrize(
    ("turns", "problem"),
    [
        ([{"role": "user", "content": None}], "message 1 has content of type NoneType"),
        ([{"role": "user", "content": [{"text": "x"}]}], "message 1 has a content part that"),
        ([{"role": "user", "content": [{"type": "text"}]}], "message 1 has a 'text' part without"),
        ([{"role": 3, "content": "x"}], "message 1 has a role of type int"),
        ([], "a chat needs at least one message"),
    ],
)
def test_malformed_chat_is_a_located_data_error(tmp_path: Path, turns, problem) -> None:
    # These used to escape as pydantic ValidationError (or pass as an empty chat).
    path = tmp_path / "chat.jsonl"
    path.write_text(jsonl_text([{"input": turns, "response": "r"}]))
    with pytest.raises(DataError, match=rf"row 1, field 'input': {problem}"):
        list(read_items(path))


def test_message_accepts_parts_when_built_directly() -> None:
    message = Message(role="user", content=[{"type": "input_text", "text": "hi"}])
    assert message.content == "hi"


# --- benchmark loaders ---------------------------------------------------------------------


def autoj_line(prompt: str = "p") -> str:
    record = {"scenario": "s", "label": 0, "prompt": prompt, "response 1": "a", "response 2": "b"}
    return json.dumps(record, ensure_ascii=False) + "\n"


def test_loader_reads_utf16_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "autoj_pairwise.json"
    path.write_bytes(encode(autoj_line("é") + autoj_line(), "utf-16 LE with BOM"))
    assert [item.input for item in load_autoj(tmp_path)] == ["é", "p"]


def test_loader_names_row_and_field_of_undecodable_bytes(tmp_path: Path) -> None:
    path = tmp_path / "autoj_pairwise.json"
    bad = autoj_line("caf\udce9").encode("utf-8", "surrogateescape")
    path.write_bytes(autoj_line().encode() + bad)
    with pytest.raises(DataError) as caught:
        list(load_autoj(tmp_path))
    assert (caught.value.path, caught.value.row, caught.value.field) == (str(path), 2, "prompt")


def test_loader_json_document_with_bom_and_with_bad_bytes(tmp_path: Path) -> None:
    record = {
        "doc_id": "d1",
        "system_id": "M0",
        "source": "text",
        "references": ["ref"],
        "summary": "sum",
        "scores": {"coherence": 3.0, "consistency": 4, "fluency": 2.0, "relevance": 1.0},
    }
    path = tmp_path / "summeval_bartscore.json"
    path.write_bytes(codecs.BOM_UTF8 + json.dumps([record], indent=1).encode())
    assert [item.id for item in load_summeval(tmp_path)] == ["d1/M0"]
    text = json.dumps([record], indent=1).replace('"sum"', '"s\udc92m"')
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    bad_line = next(n for n, line in enumerate(text.splitlines(), 1) if "\udc92" in line)
    with pytest.raises(DataError, match=rf"row {bad_line}: byte 0x92 at character \d+"):
        list(load_summeval(tmp_path))


def test_loader_tsv_with_a_utf8_bom(tmp_path: Path) -> None:
    # Spreadsheets save TSV with a BOM; the first header name must still be found.
    header = ["text_id", "dialogue_system", *[f"Q{n}" for n in range(9)], "annotator_id"]
    row = ["d1", "0", *["3"] * 9, "7"]
    tsv = tmp_path / "human_judges_real_convs_FIXED_ANON.tsv"
    tsv.write_bytes(codecs.BOM_UTF8 + ("\t".join(header) + "\n" + "\t".join(row) + "\n").encode())
    dialogue = {"_id": "d1", "messages": [{"role": "assistant", "content": "Hi"}], "ref": None}
    (tmp_path / "real_data.json").write_text(json.dumps([dialogue]))
    (item,) = load_llmrubric(tmp_path)
    assert item.labels["Q0"] == [3]
    tsv.write_bytes(tsv.read_bytes().replace(b"d1\t0", b"d\xff1\t0"))
    with pytest.raises(DataError) as caught:
        list(load_llmrubric(tmp_path))
    assert (caught.value.row, caught.value.field) == (2, "text_id")
