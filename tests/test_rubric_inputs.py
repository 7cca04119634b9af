"""Rubric files that must be refused (non-finite numbers, duplicate keys, undecodable bytes)
and encodings that must be read (byte order marks, UTF-16/32)."""

import codecs
import math
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from jurist.core.errors import RubricError as RootRubricError
from jurist.core.rubric import ChecklistItem, Criterion, RubricError, load_rubric, rubric_from_dict

CHECKLIST = """\
name: safety
checklist:
  - id: dose
    text: Gives the correct dose
    weight: 2
  - id: warn
    text: Warns about interactions
    weight: {weight}
"""
SCALE = {1: "bad", 2: "fair", 3: "good"}


def write(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- non-finite numbers ----------------------------------------------------------------------


@pytest.mark.parametrize("weight", [".inf", "-.inf", ".nan", ".NaN", "1e400"])
def test_non_finite_checklist_weight_is_refused(tmp_path: Path, weight: str) -> None:
    # .inf made summary.json hold a bare NaN; .nan gave a score of 0.0 to all-yes answers.
    path = write(tmp_path, CHECKLIST.format(weight=weight))
    with pytest.raises(RubricError) as caught:
        load_rubric(path)
    assert str(caught.value) == f"{path}: checklist[1].weight: must be a finite number"


def test_every_non_finite_number_is_listed_with_its_key_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: r\n"
        "criteria:\n"
        "  - {id: a, question: q, weight: .inf, scale: {1: x, 2: y}}\n"
        "  - {id: b, question: q, scale: {1: x, 2: y, .nan: z}}\n",
    )
    with pytest.raises(RubricError) as caught:
        load_rubric(path)
    assert str(caught.value).splitlines() == [
        f"{path}: criteria[0].weight: must be a finite number",
        f"{path}: criteria[1].scale.nan: must be a finite number",
    ]


def test_non_finite_weights_are_refused_from_python_too() -> None:
    checklist = [{"id": "a", "text": "A", "weight": math.nan}]
    with pytest.raises(RubricError, match=r"^x\.yaml: checklist\[0\]\.weight: must be a finite"):
        rubric_from_dict({"name": "r", "checklist": checklist}, "x.yaml")
    with pytest.raises(ValidationError, match="finite number"):
        ChecklistItem(id="a", text="A", weight=math.inf)
    with pytest.raises(ValidationError, match="finite number"):
        Criterion(id="c", question="q", scale=SCALE, weight=math.inf)


def test_finite_weights_still_load(tmp_path: Path) -> None:
    rubric = load_rubric(write(tmp_path, CHECKLIST.format(weight="-0.5")))
    assert [item.weight for item in rubric.checklist] == [2, -0.5]


# --- duplicate keys --------------------------------------------------------------------------


def test_duplicate_key_names_file_line_and_key(tmp_path: Path) -> None:
    text = CHECKLIST.format(weight="1") + "    weight: 3\n"
    path = write(tmp_path, text)
    with pytest.raises(RubricError) as caught:
        load_rubric(path)
    assert str(caught.value) == (
        f"{path}: line 9, column 5: duplicate key 'weight' (first given on line 8)"
    )
    assert isinstance(caught.value, RootRubricError)


def test_duplicate_keys_at_top_level_and_in_flow_mappings(tmp_path: Path) -> None:
    top = write(tmp_path, "name: a\nname: b\nchecklist: [{id: x, text: X}]\n", "top.yaml")
    with pytest.raises(RubricError, match=r"top\.yaml: line 2, column 1: duplicate key 'name'"):
        load_rubric(top)
    flow = write(tmp_path, "name: a\nchecklist: [{id: x, text: X, id: y}]\n", "flow.yaml")
    with pytest.raises(RubricError, match=r"flow\.yaml: line 2, column 30: duplicate key 'id'"):
        load_rubric(flow)
    json_file = write(tmp_path, '{"name": "a", "checklist": [], "name": "b"}', "r.json")
    with pytest.raises(RubricError, match=r"r\.json: line 1, column 32: duplicate key 'name'"):
        load_rubric(json_file)


def test_merge_keys_may_override_without_being_duplicates(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: r\n"
        "checklist:\n"
        "  - &base {id: a, text: Shared text, weight: 1}\n"
        "  - <<: *base\n"
        "    id: b\n"
        "    weight: 2\n",
    )
    rubric = load_rubric(path)
    assert [(item.id, item.text, item.weight) for item in rubric.checklist] == [
        ("a", "Shared text", 1),
        ("b", "Shared text", 2),
    ]


# --- encodings -------------------------------------------------------------------------------

RUBRIC_TEXT = CHECKLIST.format(weight="1").replace("Warns about", "Avertit des")


@pytest.mark.parametrize(
    ("codec", "mark"),
    [
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-32-le", codecs.BOM_UTF32_LE),
        ("utf-32-be", codecs.BOM_UTF32_BE),
        ("utf-16-le", b""),
    ],
)
def test_rubric_in_any_unicode_encoding_loads(tmp_path: Path, codec: str, mark: bytes) -> None:
    expected = load_rubric(write(tmp_path, RUBRIC_TEXT + "description: café\n", "plain.yaml"))
    path = tmp_path / "encoded.yaml"
    path.write_bytes(mark + (RUBRIC_TEXT + "description: café\n").encode(codec))
    rubric = load_rubric(path)
    assert rubric == expected and rubric.description == "café"


def test_undecodable_bytes_name_file_line_and_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(RUBRIC_TEXT.encode() + "description: café\n".encode("latin-1"))
    offset = len(RUBRIC_TEXT.encode()) + len(b"description: caf")
    with pytest.raises(RubricError) as caught:
        load_rubric(path)
    assert str(caught.value) == (
        f"{path}: line 9, byte offset {offset}: cannot be decoded as UTF-8 "
        "(invalid continuation byte); save the file as UTF-8"
    )


def test_undecodable_utf16_offset_counts_the_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "broken16.yaml"
    body = "name: r\n".encode("utf-16-le")
    path.write_bytes(codecs.BOM_UTF16_LE + body + b"\x00\xdc" + "x".encode("utf-16-le"))
    with pytest.raises(RubricError, match=rf"line 2, byte offset {2 + len(body)}: .* UTF-16 LE"):
        load_rubric(path)


def test_validate_command_reads_utf16_and_reports_bad_bytes(tmp_path: Path) -> None:
    from jurist.cli import app

    good = tmp_path / "good.yaml"
    good.write_bytes(RUBRIC_TEXT.encode("utf-16"))
    result = CliRunner().invoke(app, ["rubric", "validate", str(good)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output and "checklist warn" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"name: caf\xe9\n")
    result = CliRunner().invoke(app, ["rubric", "validate", str(bad)])
    assert result.exit_code == 2  # bad input, the README's convention (it was 1)
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "byte offset 9" in result.output


def test_rubric_validate_exits_2_on_an_invalid_rubric(tmp_path: Path) -> None:
    """An invalid rubric is bad input: exit 2 and one `error:` line naming the file."""
    from jurist.cli import app

    bad = tmp_path / "bad.yaml"
    bad.write_text("name: r\ncriteria:\n  - id: a\n    question: Q?\n    scale: {1: x}\n")
    result = CliRunner().invoke(app, ["rubric", "validate", str(bad)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "bad.yaml" in lines[0], lines
