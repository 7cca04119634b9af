"""`jurist rubric ...` through the Typer app, with a scripted judge in place of a model.

The judge is injected by replacing `JudgeSetup.build_backend`, where every session builds its judge; it answers by the
request's tag, and grades a response 5 (or "yes") when it contains GOOD, else 1 ("no").
"""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from fakes import ScriptedBackend
from jurist.backends import CallPolicy
from jurist.cli import app
from jurist.core.completion import Request
from jurist.core.data import Item
from jurist.core.rubric import ChecklistItem, Criterion, Rubric, load_rubric, save_rubric
from jurist.rubrics import embeddings
from jurist.rubrics.lint import content_tokens
from jurist.rubrics.pipeline import RubricPipeline
from jurist.rubrics.refine import pair_sides
from jurist.session import JudgeSession, JudgeSetup
from jurist.store import Store

runner = CliRunner()

SCALE = {
    1: "The response is completely irrelevant to the question.",
    2: "Mostly irrelevant, with only minor relevant parts.",
    3: "Partially relevant but includes unrelated content.",
    4: "Mostly relevant with minor digressions.",
    5: "Fully relevant and focused on the question.",
}
LEVELS = ["absent", "barely there", "partly there", "mostly there", "fully there"]


def likert(name: str, question: str, weight: int = 2) -> dict[str, Any]:
    words = name.replace("_", " ")
    scale = {str(p): f"The {words} is {LEVELS[p - 1]} in the answer" for p in range(1, 6)}
    return {"id": name, "question": question, "weight": weight, "scale": scale}


GENERATED = {
    "criteria": [
        likert("accuracy", "Is every fact in the response correct for this question?"),
        likert("units", "Does the response state the temperature with its unit?"),
    ]
}
PLACEHOLDER = {
    "criteria": [
        {"id": "<name>", "question": "<the question>", "weight": 1, "scale": {"1": "a"}},
    ]
}
CONTRAST = {
    "hard_rules": [{"id": "correct", "text": "The response gives the correct result"}],
    "principles": [{"id": "shows_work", "text": "The response shows how the result is found"}],
}
SPLIT = {
    "criteria": [
        likert("facts", "Are the facts in the response correct?"),
        likert("focus", "Does the response stay on the question asked?"),
    ]
}


def _response(prompt: str) -> str:
    return prompt.split("<response>\n", 1)[1].split("\n</response>", 1)[0]


def judge_answer(request: Request, _: int) -> str:
    """A judge that knows GOOD when it sees it, and a flat `overall` criterion."""
    tag = request.tag
    prompt = request.messages[0]["content"]
    if tag.startswith("rubric-generate"):
        return json.dumps(PLACEHOLDER if "PLACEHOLDER" in prompt else GENERATED)
    if tag.startswith("rubric-contrastive"):
        return json.dumps(CONTRAST)
    if tag.startswith("rubric-decompose"):
        return json.dumps(SPLIT)
    if tag.startswith("pointwise:"):
        good = "GOOD" in _response(prompt)
        score = 3 if tag == "pointwise:overall" else (5 if good else 1)
        return json.dumps({"rationale": "Judged.", "score": score})
    if tag.startswith("checklist:"):
        answer = "yes" if "GOOD" in _response(prompt) else "no"
        return json.dumps({"justification": "Checked.", "answer": answer})
    raise AssertionError(f"unexpected request {tag}")


@pytest.fixture
def fake_judge(monkeypatch: pytest.MonkeyPatch) -> list[ScriptedBackend]:
    made: list[ScriptedBackend] = []

    def make_backend(spec: str | None, **_: Any) -> ScriptedBackend:
        backend = ScriptedBackend(judge_answer)
        made.append(backend)
        return backend

    monkeypatch.setattr(JudgeSetup, "build_backend", lambda setup: make_backend(setup.judge))
    return made


def scripted_pipeline(
    answer: Any, store: Store, *, expected: bool = True, mode: str = "pointwise"
) -> RubricPipeline:
    """A pipeline whose session borrows a scripted backend and the test's store."""
    setup = JudgeSetup(mode=mode, calls=CallPolicy(concurrency=1))
    session = JudgeSession(setup=setup, store=store, backend=ScriptedBackend(answer))
    return RubricPipeline(session, expected=expected)


def invoke(*args: object, code: int = 0) -> Any:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == code, result.output
    return result


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def bag_embed(texts: list[str]) -> np.ndarray:
    vectors = np.zeros((len(texts), 256))
    for row, text in enumerate(texts):
        for token in content_tokens(text):
            vectors[row, zlib.crc32(token.encode()) % 256] += 1
    return vectors


# --- lint -------------------------------------------------------------------------------


def test_lint_errors_exit_1_and_json_lists_findings(tmp_path: Path):
    path = tmp_path / "bad.yaml"
    bad = Rubric(
        name="bad",
        checklist=[
            ChecklistItem(id="how", text="How clear is the explanation?"),
            ChecklistItem(id="ok", text="The response states the boiling point of water"),
        ],
    )
    save_rubric(bad, path)
    result = invoke("rubric", "lint", path, "--format", "json", code=1)
    findings = json.loads(result.stdout)
    assert {"severity", "target", "rule", "message", "suggestion"} <= set(findings[0])
    [error] = [f for f in findings if f["severity"] == "error"]
    assert (error["target"], error["rule"]) == ("how", "not-yes-no")
    table = invoke("rubric", "lint", path, code=1)
    assert "not-yes-no" in table.stdout and "how" in table.stdout


def test_lint_warnings_only_exit_0(tmp_path: Path):
    path = tmp_path / "warn.yaml"
    rubric = Rubric(
        name="warn",
        criteria=[
            Criterion(id="a", question="Is it relevant?", scale=SCALE),
            Criterion(id="b", question="Is it polite?", scale=SCALE, weight=0),
        ],
    )
    save_rubric(rubric, path)
    findings = json.loads(invoke("rubric", "lint", path, "--format", "json").stdout)
    assert [(f["target"], f["rule"], f["severity"]) for f in findings] == [
        ("b", "zero-weight", "warning")
    ]


def test_lint_clean_and_unreadable(tmp_path: Path):
    path = tmp_path / "clean.yaml"
    save_rubric(
        Rubric(name="c", criteria=[Criterion(id="a", question="Relevant?", scale=SCALE)]), path
    )
    assert "no findings" in invoke("rubric", "lint", path).stdout
    missing = json.loads(
        invoke("rubric", "lint", tmp_path / "nope.yaml", "--format", "json", code=1).stdout
    )
    assert missing[0]["rule"] == "invalid"


# --- index and retrieve -----------------------------------------------------------------


@pytest.mark.embeddings
@pytest.mark.skipif(not embeddings.available(), reason=embeddings.INSTALL_HINT)
def test_index_and_retrieve_round_trip(tmp_path: Path):
    library = tmp_path / "library"
    library.mkdir()
    topics = {
        "haiku": ("Is the poem a haiku of 5-7-5 syllables?", "Write a haiku about the sea."),
        "sql": ("Is the SQL query correct and efficient?", "Write a SQL query for top customers."),
        "dosage": ("Is the medication dose safe?", "How much ibuprofen can a child take?"),
    }
    for name, (question, prompt) in topics.items():
        save_rubric(
            Rubric(name=name, criteria=[Criterion(id="q", question=question, scale=SCALE)]),
            library / f"{name}.yaml",
        )
        (library / f"{name}.prompts.txt").write_text(prompt + "\n---\n", encoding="utf-8")
    (library / "broken.yaml").write_text("name: broken\n", encoding="utf-8")

    result = invoke("rubric", "index", library)
    assert "indexed 3 rubrics (3 prompts" in result.stdout
    assert "broken.yaml" in result.stderr

    found = json.loads(
        invoke(
            "rubric", "retrieve", "Compose a haiku about autumn leaves", "--library", library,
            "-k", 2, "--format", "json",
        ).stdout
    )  # fmt: skip
    assert [row["rank"] for row in found] == [1, 2]
    assert found[0]["name"] == "haiku" and found[0]["score"] > found[1]["score"]
    table = invoke("rubric", "retrieve", "SQL for the biggest customers", "-l", library, "-k", 1)
    assert "sql" in table.stdout


def test_retrieve_missing_library_fails(tmp_path: Path):
    result = invoke("rubric", "retrieve", "x", "--library", tmp_path / "none", code=2)
    assert "not found" in result.stderr


# --- generate ---------------------------------------------------------------------------


def test_generate_writes_one_rubric_per_item_and_a_report(tmp_path: Path, fake_judge):
    data = write_jsonl(
        tmp_path / "prompts.jsonl",
        [
            {"id": "q/1", "input": "At what temperature does water boil at sea level?"},
            {"id": "q/2", "input": "PLACEHOLDER prompt that the fake answers badly"},
        ],
    )
    out = tmp_path / "out"
    store = tmp_path / "store.sqlite"
    args = ("rubric", "generate", data, "--id-field", "id", "-o", out, "--store", store)
    result = invoke(*args, "--tries", 1)
    assert "1 of 2 items got a rubric" in result.stdout
    rubric = load_rubric(out / "q_1.yaml")
    assert [c.id for c in rubric.criteria] == ["accuracy", "units"]
    assert (out / "q_1.prompts.txt").read_text().startswith("At what temperature")
    assert not (out / "q_2.yaml").exists()
    report = json.loads((out / "report.json").read_text())
    assert report["counts"] == {"ok": 1, "rejected": 1}
    first, second = report["results"]
    assert first["status"] == "ok" and first["files"] == [str(out / "q_1.yaml")]
    assert second["status"] == "rejected" and "placeholder" in second["reason"]
    assert second["raw"]
    assert report["model_calls"] == 2
    # Everything was cached: the same command again makes no model calls.
    again = invoke(*args, "--tries", 1)
    assert "model calls 0, cache hits 2" in again.stdout


def test_generate_exits_1_when_no_rubric_was_written(tmp_path: Path, fake_judge):
    data = write_jsonl(tmp_path / "d.jsonl", [{"input": "PLACEHOLDER only"}])
    result = invoke("rubric", "generate", data, "-o", tmp_path / "o", "--store",
                    tmp_path / "s.sqlite", code=1)  # fmt: skip
    assert "0 of 1 items got a rubric" in result.stdout


def test_generate_contrastive_keeps_rubrics_the_judge_agrees_with(tmp_path: Path, fake_judge):
    data = write_jsonl(
        tmp_path / "pairs.jsonl",
        [
            {
                "input": "What is 15% of 80?",
                "a": "It is 10.",
                "b": "GOOD: 0.15 x 80 = 12.",
                "w": "B",
            },
            {"input": "What is 2 + 2?", "a": "GOOD: 4.", "b": "5.", "w": "A"},
            {"input": "Say hi.", "a": "hi", "b": "hello", "w": "tie"},
        ],
    )
    out = tmp_path / "out"
    result = invoke(
        "rubric", "generate", data, "--contrastive", "--label-field", "w", "--response-field",
        "a", "--response-b-field", "b", "-o", out, "--store", tmp_path / "s.sqlite",
    )  # fmt: skip
    assert "2 of 3 items got a rubric" in result.stdout
    report = json.loads((out / "report.json").read_text())
    assert [r["status"] for r in report["results"]] == ["ok", "ok", "skipped"]
    assert "tie" in report["results"][2]["reason"]
    rubric = load_rubric(out / "1.yaml")
    assert [(c.id, c.kind) for c in rubric.checklist] == [
        ("correct", "required"),
        ("shows_work", "optional"),
    ]


def test_generate_contrastive_rejects_rubrics_the_judge_disagrees_with(tmp_path: Path, fake_judge):
    # People preferred the response without GOOD, which the judge always ranks lower.
    data = write_jsonl(
        tmp_path / "pairs.jsonl",
        [{"input": "Q?", "response": "GOOD", "response_b": "x", "pick": "B"}],
    )
    result = invoke(
        "rubric", "generate", data, "--contrastive", "--label-field", "pick", "--tries", 2,
        "-o", tmp_path / "o", "--store", tmp_path / "s.sqlite", code=1,
    )  # fmt: skip
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    [entry] = report["results"]
    assert entry["status"] == "rejected" and len(entry["attempts"]) == 2
    assert "preferred the rejected response" in entry["reason"]
    assert "0 of 1" in result.stdout


def test_generate_summarise_merges_rubrics(tmp_path: Path, fake_judge, monkeypatch):
    monkeypatch.setattr(embeddings, "embed", bag_embed)
    data = write_jsonl(tmp_path / "d.jsonl", [{"input": "Boil?"}, {"input": "Freeze?"}])
    out = tmp_path / "out"
    result = invoke("rubric", "generate", data, "--summarise", "-o", out, "--store",
                    tmp_path / "s.sqlite")  # fmt: skip
    summary = load_rubric(out / "summary.yaml")
    # The two identical instance rubrics collapse into one criterion per quality.
    assert [c.id for c in summary.criteria] == ["accuracy", "units"]
    assert all(c.weight == 1.0 for c in summary.criteria)
    assert "summary:" in result.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["rubrics"] == 2 and report["summary"]["parts_in"] == 4


def test_generate_needs_label_field_for_contrastive(tmp_path: Path, fake_judge):
    data = write_jsonl(tmp_path / "d.jsonl", [{"input": "x"}])
    result = invoke("rubric", "generate", data, "--contrastive", code=2)
    assert "--label-field" in result.output


# --- refine -----------------------------------------------------------------------------


def test_refine_splits_a_flat_criterion_and_reports_why(tmp_path: Path, fake_judge):
    rubric_path = tmp_path / "rubric.yaml"
    save_rubric(
        Rubric(
            name="r",
            description="General quality.",
            criteria=[Criterion(id="overall", question="How good is the response?", scale=SCALE)],
        ),
        rubric_path,
    )
    rows = [
        {"input": f"Question {n}?", "response": f"GOOD answer {n}" if n % 2 else f"weak {n}",
         "response_b": f"weak {n}" if n % 2 else f"GOOD answer {n}", "label": "A" if n % 2 else "B"}
        for n in range(6)
    ]  # fmt: skip
    data = write_jsonl(tmp_path / "pairs.jsonl", rows)
    out = tmp_path / "refined.yaml"
    args = (
        "rubric", "refine", rubric_path, data, "--label-field", "label", "-o", out,
        "--min-pairs", 3, "--no-embeddings", "--store", tmp_path / "s.sqlite",
    )  # fmt: skip
    result = invoke(*args)
    assert "split overall -> overall.facts, overall.focus" in result.stdout
    refined = load_rubric(out)
    report = json.loads((tmp_path / "refined.report.json").read_text())
    assert report["criteria_before"] == ["overall"]
    assert report["responses"] == 12 and report["pairs"] == 6
    # Both children score GOOD 5 and the rest 1: perfectly correlated, so one is dropped.
    assert [c.id for c in refined.criteria] == ["overall.facts"]
    assert report["criteria_after"] == ["overall.facts"]
    [drop] = report["report"]["drops"]
    assert drop["id"] == "overall.focus" and "correlate" in drop["reason"]
    assert report["settings"]["min_pairs"] == 3
    assert report["model_calls"] > 0
    again = invoke(*args)
    assert "model calls 0" in again.stdout


def test_refine_drops_a_criterion_that_sides_with_the_rejected_response(tmp_path: Path, fake_judge):
    rubric_path = tmp_path / "rubric.yaml"
    scale_question = {"accuracy": "Is the response accurate?", "style": "Is the response polite?"}
    save_rubric(
        Rubric(
            name="r",
            criteria=[Criterion(id=k, question=q, scale=SCALE) for k, q in scale_question.items()],
        ),
        rubric_path,
    )
    # People always preferred the response without GOOD: both criteria disagree with them.
    rows = [
        {"input": f"Q{n}?", "response": f"GOOD {n}", "response_b": f"plain {n}", "label": "B"}
        for n in range(4)
    ]
    data = write_jsonl(tmp_path / "pairs.jsonl", rows)
    out = tmp_path / "refined.yaml"
    result = invoke(
        "rubric", "refine", rubric_path, data, "--label-field", "label", "-o", out,
        "--min-pairs", 4, "--depth", 0, "--no-embeddings", "--store", tmp_path / "s.sqlite",
    )  # fmt: skip
    assert "dropped accuracy: scored the rejected response higher in 4 of 4" in result.stdout
    assert "agreement 0.00 < 0.5" in result.stdout
    refined = load_rubric(out)
    assert len(refined.criteria) == 1  # something is always left to grade with


def test_refine_notes_when_too_few_pairs(tmp_path: Path, fake_judge):
    rubric_path = tmp_path / "rubric.yaml"
    save_rubric(
        Rubric(name="r", criteria=[Criterion(id="accuracy", question="Accurate?", scale=SCALE)]),
        rubric_path,
    )
    data = write_jsonl(
        tmp_path / "p.jsonl",
        [{"input": "Q?", "response": "GOOD", "response_b": "no", "label": "A"}],
    )
    result = invoke(
        "rubric", "refine", rubric_path, data, "--label-field", "label", "-o",
        tmp_path / "o.yaml", "--depth", 0, "--no-embeddings", "--store", tmp_path / "s.sqlite",
    )  # fmt: skip
    assert (
        "alignment of accuracy not judged: 1 decided pairs (of 1), fewer than 10" in result.stdout
    )


# --- the pipeline itself ----------------------------------------------------------------

PAIRS = [
    Item(id="p1", input="Q1", response="GOOD one", response_b="bad", labels={"preference": "A"}),
    Item(id="p2", input="Q2", response="bad", response_b="GOOD two", labels={"preference": "B"}),
    Item(id="p3", input="Q3", response="GOOD", response_b="bad", labels={"preference": "B"}),
    Item(id="p4", input="Q4", response="x", response_b="y", labels={"preference": "A"}),
    Item(id="p5", input="Q5", response="x", response_b="y", labels={"preference": "tie"}),
]
ACCURACY = Rubric(
    name="acc", criteria=[Criterion(id="accuracy", question="Is it accurate?", scale=SCALE)]
)


async def test_score_pairs_counts_ties_and_missing_honestly(tmp_path: Path):
    with Store(tmp_path / "s.sqlite") as store:
        pipeline = scripted_pipeline(judge_answer, store, expected=False)
        scores = await pipeline.score_pairs(ACCURACY, PAIRS)
        assert scores.verdicts == ["A", "B", "A", "tie", "tie"]
        assert scores.labels == ["A", "B", "B", "A", "tie"]
        # p5's label is a tie: left out; p4's judge tie on a decided pair is wrong.
        assert scores.accuracy.n == 4 and scores.accuracy.n_excluded == 1
        assert scores.accuracy.value == pytest.approx(0.5)
        assert np.isnan(scores.correct[4]) and list(scores.correct[:4]) == [1, 1, 0, 0]
        assert scores.counts()["judge_ties"] == 2
        per_pair = await pipeline.score_pairs([ACCURACY, None, ACCURACY, None, None], PAIRS)
        assert per_pair.verdicts[1] is None and per_pair.errors["p2"] == "no rubric"
        assert per_pair.accuracy.n == 2


async def test_required_checklist_failure_outranks_scores(tmp_path: Path):
    rubric = Rubric(
        name="mixed",
        criteria=[Criterion(id="flat", question="Is it relevant?", scale=SCALE)],
        checklist=[ChecklistItem(id="good", text="The response is marked GOOD", kind="required")],
    )
    with Store(tmp_path / "s.sqlite") as store:
        pipeline = scripted_pipeline(judge_answer, store, expected=False)
        a = await pipeline.judge(rubric, PAIRS[0].model_copy(update={"response_b": None}))
        assert a.required_failed == 0 and a.parts == {"flat": 5.0, "good": 1.0}
        assert await pipeline.verdict(rubric, PAIRS[0]) == "A"
        assert await pipeline.prefers(rubric, PAIRS[1]) is True
        assert await pipeline.prefers(rubric, PAIRS[2]) is False
        assert await pipeline.prefers(rubric, PAIRS[3]) is None  # a tie decides nothing


async def test_grade_marks_unparsed_scores_as_nan(tmp_path: Path):
    def sometimes_broken(request: Request, n: int) -> str:
        return (
            "not json" if "broken" in request.messages[0]["content"] else judge_answer(request, n)
        )

    items = [
        Item(id="a", input="Q", response="GOOD"),
        Item(id="b", input="Q", response="broken"),
    ]
    with Store(tmp_path / "s.sqlite") as store:
        pipeline = scripted_pipeline(sometimes_broken, store)
        scores = await pipeline.grade(ACCURACY, items)
        # The expected score under the fake's peaked distribution, not the integer 5.
        assert scores["accuracy"][0] == pytest.approx(0.7 * 5 + 0.075 * (1 + 2 + 3 + 4))
        assert np.isnan(scores["accuracy"][1])
        result = await pipeline.judge(ACCURACY, items[1])
        assert result.status == "parse_error" and result.value is None and result.error


async def test_pairwise_mode_uses_the_pairwise_judge(tmp_path: Path):
    def pairwise(request: Request, _: int) -> str:
        assert request.tag.startswith("pairwise:")
        prompt = request.messages[0]["content"]
        first = prompt.split("<response_a>\n", 1)[1]
        return json.dumps({"rationale": "r", "verdict": "A" if first.startswith("GOOD") else "B"})

    with Store(tmp_path / "s.sqlite") as store:
        pipeline = scripted_pipeline(pairwise, store, mode="pairwise")
        assert await pipeline.verdict(ACCURACY, PAIRS[0]) == "A"
        assert await pipeline.verdict(ACCURACY, PAIRS[1]) == "B"
        assert pipeline.usage.calls == 4


async def test_generation_calls_are_cached(tmp_path: Path):
    from jurist.rubrics.generate import generate_instance_rubric

    item = Item(id="q", input="At what temperature does water boil?")
    with Store(tmp_path / "s.sqlite") as store:
        pipeline = scripted_pipeline(judge_answer, store)
        first = await generate_instance_rubric(item, pipeline.backend)
        second = await generate_instance_rubric(item, pipeline.backend)
        assert first.status == second.status == "ok" and first.rubric == second.rubric
        assert (pipeline.usage.calls, pipeline.usage.cache_hits) == (1, 1)


async def test_refine_with_pairs_drops_reworded_twins_by_embedding(tmp_path: Path):
    from jurist.rubrics.refine import refine_rubric

    questions = {
        "accuracy": "Is the response accurate and correct?",
        "correct": "Is the response correct and accurate?",
        "polite": "Is the tone polite and kind?",
    }
    rubric = Rubric(
        name="r", criteria=[Criterion(id=k, question=q, scale=SCALE) for k, q in questions.items()]
    )
    pairs = PAIRS[:2]
    sides = [side for pair in pairs for side in pair_sides(pair)]
    with Store(tmp_path / "s.sqlite") as store:
        pipeline = scripted_pipeline(judge_answer, store)
        refined, report = await refine_rubric(
            rubric, sides, pipeline.backend, pipeline.grade, depth=0, redundancy=None,
            pairs=pairs, min_pairs=2, embed=bag_embed,
        )  # fmt: skip
        calls = pipeline.usage.calls
    assert [c.id for c in refined.criteria] == ["accuracy", "polite"]
    [drop] = report.drops
    assert drop.id == "correct" and "wording is 1.00 similar to 'accuracy'" in drop.reason
    assert report.notes == []  # both pairs were decided: alignment was judged
    # Each response was graded once per criterion: the pairs' grading came from the cache.
    assert calls == len(sides) * len(questions)
