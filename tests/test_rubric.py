from pathlib import Path

import pytest

from jurist.core.rubric import Rubric, RubricError, load_rubric, rubric_from_dict

REPO = Path(__file__).resolve().parents[1]
SCALE = {1: "bad", 2: "weak", 3: "fair", 4: "good", 5: "great"}


def criterion(cid="c", **extra):
    return {"id": cid, "question": "Is it good?", "scale": dict(SCALE), **extra}


def write(tmp_path, text):
    path = tmp_path / "rubric.yaml"
    path.write_text(text)
    return path


def test_missing_descriptor_names_file_key_path_and_score(tmp_path):
    path = write(
        tmp_path,
        """
name: r
criteria:
  - {id: a, question: q, scale: {1: a, 2: b, 3: c, 4: d, 5: e}}
  - {id: b, question: q, scale: {1: a, 2: b, 3: c, 4: d, 5: e}}
  - {id: c, question: q, scale: {1: a, 2: b, 3: c, 5: e}}
""",
    )
    with pytest.raises(RubricError) as error:
        load_rubric(path)
    assert str(error.value) == f"{path}: criteria[2].scale: descriptor missing for score 4"


def test_explicit_range_requires_every_point(tmp_path):
    data = {"name": "r", "criteria": [criterion(range=[1, 7])]}
    with pytest.raises(RubricError, match=r"criteria\[0\]\.scale: descriptor missing for score 6"):
        rubric_from_dict(data, "x.yaml")


def test_descriptor_outside_range_and_any_range_allowed():
    with pytest.raises(RubricError, match="outside the range"):
        rubric_from_dict({"name": "r", "criteria": [criterion(range=[1, 4])]})
    zero_based = rubric_from_dict(
        {
            "name": "r",
            "criteria": [{"id": "q", "question": "?", "scale": {0: "no", 1: "some", 2: "all"}}],
        }
    )
    assert zero_based.criteria[0].bounds == (0, 2)
    assert zero_based.criteria[0].normalise(1) == 0.5


def test_checklist_negative_weights_and_kinds():
    rubric = rubric_from_dict(
        {
            "name": "safety",
            "checklist": [
                {
                    "id": "dose",
                    "text": "Does it give the correct dose?",
                    "weight": 2,
                    "kind": "required",
                },
                {"id": "unsafe", "text": "Does it mention an unsafe dosage?", "weight": -5},
            ],
        }
    )
    assert [i.weight for i in rubric.checklist] == [2, -5]
    assert rubric.checklist[0].kind == "required"
    with pytest.raises(RubricError, match="positive weight"):
        rubric_from_dict({"name": "s", "checklist": [{"id": "x", "text": "Bad?", "weight": -1}]})


def test_duplicate_ids_unknown_keys_and_empty_rubric():
    with pytest.raises(RubricError, match="used twice"):
        rubric_from_dict({"name": "r", "criteria": [criterion("a"), criterion("a")]})
    with pytest.raises(RubricError, match=r"criteria\[0\]\.descriptors: Extra inputs"):
        rubric_from_dict({"name": "r", "criteria": [criterion(descriptors={})]})
    with pytest.raises(RubricError, match="at least one criterion"):
        rubric_from_dict({"name": "r"})


def test_invalid_yaml_names_line(tmp_path):
    path = write(tmp_path, "name: r\ncriteria: [\n  - id: a\n")
    with pytest.raises(RubricError, match=r"rubric\.yaml: line \d+, column \d+: invalid YAML"):
        load_rubric(path)


def test_content_hash_ignores_formatting_but_not_content(tmp_path):
    a = rubric_from_dict({"name": "r", "criteria": [criterion()]})
    b = rubric_from_dict(
        {"criteria": [{"scale": dict(SCALE), "question": "Is it good?", "id": "c"}], "name": "r"}
    )
    changed = rubric_from_dict({"name": "r", "criteria": [criterion(weight=2)]})
    assert a.content_hash == b.content_hash
    assert a.content_hash != changed.content_hash
    path = tmp_path / "round.yaml"
    path.write_text(a.to_yaml())
    assert load_rubric(path) == a


@pytest.mark.parametrize(
    "name", ["helpfulness.yaml", "summarisation.yaml", "safety_checklist.yaml"]
)
def test_examples_are_valid(name):
    rubric = load_rubric(REPO / "examples" / name)
    assert isinstance(rubric, Rubric)
    assert rubric.criteria or rubric.checklist
