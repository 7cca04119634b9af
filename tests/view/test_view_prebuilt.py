"""The viewer's index written while grading: the same index a full build makes from the
results file, rebuilt by a resumed run, and never used once the results changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from judgment_builders import judgment
from jurist.core.judgment import Judgment
from jurist.engine.outputs import RESULTS, IndexedResultsFile
from jurist.engine.viewindex import INDEX
from jurist.grading import GradeConfig, grade_job, run_grade
from jurist.store import Store
from jurist.view import Filters, RunIndex, open_index, resolve_source
from jurist.view.index import build_index
from scripted_server import ScriptedServer

RUBRIC = "name: r\ncriteria:\n  - {id: q, question: 'Good?', scale: {1: bad, 2: ok, 3: good}}\n"
N = 30


def behave(prompt: str, n: int) -> tuple[str, object]:
    """Scores 1-3 by item number; every seventh item's answer has no score."""
    k = int(prompt.split("question ", 1)[1].split()[0])
    if k % 7 == 3:
        return "ok", "I cannot decide."
    return "ok", json.dumps({"rationale": f"reason {k}", "score": 1 + k % 3})


def label(k: int, as_text: bool) -> object:
    """A human score; as text, some of them 'na' (no rating), as people write them."""
    if not as_text:
        return 1 + k % 2
    return "na" if k % 5 == 0 else str(1 + k % 2)


def write_job(root: Path, url: str, as_text: bool = False) -> GradeConfig:
    data = root / "items.jsonl"
    rows = [
        {"id": f"x{k}", "input": f"question {k} here", "response": f"answer {k}",
         "q": label(k, as_text)}
        for k in range(N)
    ]  # fmt: skip
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    (root / "r.yaml").write_text(RUBRIC)
    return GradeConfig(
        rubric_path=str(root / "r.yaml"), data_path=str(data), judge=f"openai:{url}#m",
        fields={"input": "input", "response": "response", "id": "id", "labels": ("q",),
                "keep": ()},
        concurrency=4, logprobs=False, output_dir=str(root / "out"),
    )  # fmt: skip


def same_index(ours: RunIndex, built: RunIndex, texts: bool = True) -> None:
    """Every figure and every filtered page of the two indexes agree."""
    for name in ("n", "status", "criteria", "label_fields", "labelled", "mode", "judges"):
        assert getattr(ours.info, name) == getattr(built.info, name), name
    assert (
        ours.info.histograms == {c: [list(p) for p in v] for c, v in built.info.histograms.items()}
        or ours.info.histograms == built.info.histograms
    )
    assert ours.info.summary["items"] == built.info.summary["items"]
    for filters in (
        Filters(),
        Filters(parse_errors=True),
        Filters(criterion="q", score_max=2, sort="-score"),
        Filters(disagreement=1, sort="disagreement"),
        Filters(status="ok", sort="item_id"),
        Filters(search="x1"),
    ):
        assert ours.count(filters) == built.count(filters)
        assert ours.page(filters, 0, 100) == built.page(filters, 0, 100)
    for pos in range(ours.info.n):
        mine, theirs = ours.item(pos), built.item(pos)
        assert mine is not None and theirs is not None
        assert mine[0] == theirs[0] and mine[1] == theirs[1] and mine[2] == theirs[2]
        if texts:
            assert mine[1] is not None and mine[1]["id"] == mine[0].item_id  # the item's text


class Stop(Exception):
    """Ends a run midway, as an error does."""


@pytest.fixture
def server():
    with ScriptedServer(behave) as running:
        yield running


@pytest.mark.parametrize("as_text", [False, True], ids=["numbers", "text labels"])
def test_index_written_while_grading_is_the_full_build(tmp_path, server, as_text):
    config = write_job(tmp_path, server.url, as_text)
    with Store(tmp_path / "store.sqlite") as store:
        result = run_grade(config, store)
    out = tmp_path / "out"
    assert (out / INDEX).is_file()
    source = resolve_source(str(out), tmp_path / "store.sqlite")
    ours = open_index(source, tmp_path / "cache")
    assert ours.path == out / INDEX  # used as it is, nothing built in the cache
    assert not (tmp_path / "cache").exists()
    build_index(source, tmp_path / "built.sqlite")
    built = RunIndex(tmp_path / "built.sqlite")
    same_index(ours, built)
    assert ours.info.status == {"ok": 26, "parse_error": 4, "failed": 0}
    assert ours.info.labelled == (N - N // 5 if as_text else N)
    assert ours.info.label_fields == {"q": "q"}
    assert ours.info.summary["items"] == result.summary["items"] == N
    reopened = open_index(source, tmp_path / "cache")  # the second open reads what the first wrote
    assert reopened.info == ours.info


def test_changed_results_are_indexed_again(tmp_path, server):
    config = write_job(tmp_path, server.url)
    with Store(tmp_path / "store.sqlite") as store:
        run_grade(config, store)
    out = tmp_path / "out"
    lines = (out / "results.jsonl").read_text().splitlines(keepends=True)
    (out / "results.jsonl").write_text("".join(lines[:-5]))  # results rewritten since
    source = resolve_source(str(out), tmp_path / "store.sqlite")
    index = open_index(source, tmp_path / "cache")
    assert index.path.parent == tmp_path / "cache"
    assert index.info.n == N - 5


def test_a_resumed_run_rewrites_its_index(tmp_path, server):
    config = write_job(tmp_path, server.url)
    stops = iter(range(10**6))

    def interrupt(counters: object, total: int | None) -> None:
        if next(stops) == 11:
            raise Stop("the run ends here")

    store_path = tmp_path / "store.sqlite"
    with Store(store_path) as store, pytest.raises(Stop):
        run_grade(config, store, run_id="cut", progress=interrupt)
    out = tmp_path / "out"
    source = resolve_source(str(out), store_path)
    partial = open_index(source, tmp_path / "cache")
    assert partial.path == out / INDEX  # a run that ended early: its index holds what it did
    assert 12 <= partial.info.n < N
    with Store(store_path) as store:
        grade_job({}, store, resume="cut")
    source = resolve_source(str(out), store_path)
    ours = open_index(source, tmp_path / "cache")
    assert ours.path == out / INDEX and ours.info.n == N
    build_index(source, tmp_path / "built.sqlite")
    same_index(ours, RunIndex(tmp_path / "built.sqlite"))


def mode_judgments(mode: str) -> list[Judgment]:
    """Judgments of one mode with human labels, some of them unreadable or missing."""
    out = []
    for k in range(24):
        status = "parse_error" if k % 9 == 4 else "ok"
        if mode == "pairwise":
            verdict = ("A", "B", "tie")[k % 3]
            fields = {
                "pair": {"status": status, "verdict": verdict, "consistent": k % 4 != 0,
                         "verdict_ab": verdict, "verdict_ba": verdict, "rationale_ab": f"r{k}"},
                "labels": {"preference": ("a", "B", "tie", None)[k % 4]},
            }  # fmt: skip
        elif mode == "checklist":
            fields = {
                "checklist": {
                    f"c{c}": {"status": "ok", "answer": "yes" if (k + c) % 2 else "no",
                              "p_yes": 0.1 * c, "weight": 1.0}
                    for c in range(3)
                },
                "checklist_score": (k % 4) / 3, "labels": {"checklist": k % 3 / 2},
            }  # fmt: skip
        else:
            fields = {
                "criteria": {
                    "clarity": {"status": status, "score": 1 + k % 5 if status == "ok" else None},
                    "depth": {"status": "ok", "score": 1 + k % 3, "rationale": "why"},
                },
                "labels": {"Clarity": ("4", "na", 2, None)[k % 4], "depth": [1, 3]},
            }  # fmt: skip
        out.append(judgment(f"i{k}", k, mode=mode, status=status, **fields))
    return out


@pytest.mark.parametrize("mode", ["pointwise", "checklist", "pairwise"])
def test_every_mode_indexed_while_written_is_the_full_build(tmp_path, mode):
    folder = tmp_path / "run"
    folder.mkdir()
    results = IndexedResultsFile(folder / RESULTS)
    for one in mode_judgments(mode):
        results.write(one)
    results.close()
    source = resolve_source(str(folder), tmp_path / "store.sqlite")
    ours = open_index(source, tmp_path / "cache")
    assert ours.path == folder / INDEX
    build_index(source, tmp_path / "built.sqlite")
    built = RunIndex(tmp_path / "built.sqlite")
    same_index(ours, built, texts=False)
    assert ours.info.labelled > 0
    assert ours.info.notes[:-1] == built.info.notes[:-1]  # the last: no item texts here
    assert ours.info.notes[-1].startswith("item texts")


def test_items_with_wide_intervals_are_found_for_review(tmp_path):
    """A profile's intervals (`criteria.<c>.interval`): the filter keeps the items whose
    widest interval is wider than asked, in the index written while grading and in a full
    build alike; items without intervals are never kept."""
    judgments = [
        judgment(
            f"i{k}",
            k,
            criteria={
                "clarity": {"status": "ok", "score": 3, "interval": [3 - k / 4, 3 + k / 4]},
                "depth": {"status": "ok", "score": 2, "interval": [1.5, 2.5]},
            }
            if k % 3
            else {"clarity": {"status": "ok", "score": 3}},
        )
        for k in range(12)
    ]
    folder = tmp_path / "run"
    folder.mkdir()
    results = IndexedResultsFile(folder / RESULTS)
    for one in judgments:
        results.write(one)
    results.close()
    source = resolve_source(str(folder), tmp_path / "store.sqlite")
    ours = open_index(source, tmp_path / "cache")
    build_index(source, tmp_path / "built.sqlite")
    built = RunIndex(tmp_path / "built.sqlite")
    # widths: max(k / 2, 1.0) for k not divisible by 3; none for the others
    expected = {k for k in range(12) if k % 3 and max(k / 2, 1.0) > 2.0}
    for index in (ours, built):
        wide = index.page(Filters(wider_than=2.0), 0, 100)
        assert {row.item_id for row in wide} == {f"i{k}" for k in expected}
        assert index.count(Filters(wider_than=0.5)) == 8
        assert index.count(Filters()) == 12
    assert Filters(wider_than=2.0).query() == {"wider_than": "2"}
