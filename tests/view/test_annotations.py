"""Annotations: per annotator, kept in the store, exported as labels `jurist meta` reads,
and the annotators' agreement checked against the krippendorff package."""

from __future__ import annotations

import json

import krippendorff
import numpy as np
import pytest

from jurist.core.errors import InputError
from jurist.meta import read_labels
from jurist.view import AnnotationStore, annotator_agreement
from jurist.view.annotations import clean_annotator


def test_two_annotators_do_not_overwrite_each_other(tmp_path):
    store = AnnotationStore(tmp_path / "store.sqlite")
    store.save("run", "q1", "alice", "helpfulness", 4.0)
    store.save("run", "q1", "bob", "helpfulness", 2.0)
    store.save("run", "q1", "alice", "helpfulness", 5.0)  # alice changes her mind
    again = AnnotationStore(tmp_path / "store.sqlite")  # a restart
    values = {(a.annotator, a.value) for a in again.for_item("run", "q1")}
    assert values == {("alice", 5.0), ("bob", 2.0)}
    assert again.for_run("other run") == []


def test_export_is_a_labels_file(tmp_path):
    store = AnnotationStore(tmp_path / "store.sqlite")
    store.save("run", "q1", "alice", "helpfulness", 4.0)
    store.save("run", "q1", "bob", "helpfulness", 2.0)
    store.save("run", "q2", "alice", "preference", "tie")
    path = tmp_path / "labels.jsonl"
    path.write_text("\n".join(store.export_lines("run")) + "\n")
    labels = read_labels(path, fields=["helpfulness"], annotator_field="annotator")
    assert labels.ratings["q1"]["helpfulness"] == [4.0, 2.0]
    assert labels.annotators["q1"]["helpfulness"] == ["alice", "bob"]
    first = json.loads(path.read_text().splitlines()[0])
    assert set(first) == {"id", "annotator", "annotated_at", "helpfulness"}


def test_checklist_export_adds_the_weighted_score(tmp_path):
    store = AnnotationStore(tmp_path / "store.sqlite")
    store.save("run", "q1", "alice", "cites", "yes")
    store.save("run", "q1", "alice", "short", "no")
    store.save("run", "q2", "alice", "cites", "yes")  # incomplete: no score
    lines = [json.loads(x) for x in store.export_lines("run", {"cites": 3.0, "short": 1.0})]
    by_id = {r["id"]: r for r in lines}
    assert by_id["q1"]["checklist"] == 0.75
    assert "checklist" not in by_id["q2"]


def test_agreement_matches_krippendorff(tmp_path):
    store = AnnotationStore(tmp_path / "store.sqlite")
    rng = np.random.default_rng(1)
    matrix = rng.integers(1, 6, size=(3, 15)).astype(float)
    matrix[0, :3] = np.nan
    for r, who in enumerate(("ann", "bob", "cy")):
        for k in range(15):
            if not np.isnan(matrix[r, k]):
                store.save("run", f"i{k}", who, "score", float(matrix[r, k]))
    (result,) = annotator_agreement(store.for_run("run"), n_resamples=100)
    expected = krippendorff.alpha(reliability_data=matrix, level_of_measurement="ordinal")
    assert result.alpha.value == pytest.approx(expected, abs=1e-9)
    assert result.annotators == ["ann", "bob", "cy"]
    assert result.items_shared == 15
    same = np.mean([len(set(matrix[~np.isnan(matrix[:, k]), k])) == 1 for k in range(15)])
    assert result.exact == pytest.approx(same)


def test_annotator_names_are_checked():
    assert clean_annotator("  Ada   L. ") == "Ada L."
    with pytest.raises(InputError):
        clean_annotator("   ")
    with pytest.raises(InputError):
        clean_annotator("x" * 200)


def test_checklist_score_uses_the_judges_formula(tmp_path):
    store = AnnotationStore(tmp_path / "store.sqlite")
    store.save("run", "q1", "alice", "cites", "yes")
    store.save("run", "q1", "alice", "unsafe", "yes")  # a penalty item answered yes
    (line,) = store.export_lines("run", {"cites": 2.0, "unsafe": -1.0})
    assert json.loads(line)["checklist"] == 0.5  # max(0, 2 - 1) / 2
