import json
import zlib

import numpy as np
import pytest

from jurist.core.completion import Completion, Request
from jurist.core.data import Item
from jurist.core.rubric import ChecklistItem, Criterion, Rubric, RubricError
from jurist.rubrics.refine import (
    Drop,
    RefineReport,
    Rejection,
    Reweight,
    Split,
    alignment,
    apply_refinement,
    decompose_criterion,
    low_variance_criteria,
    misaligned_criteria,
    plan_pruning,
    redundant_by_scores,
    redundant_by_text,
    refine_rubric,
    tie_rate,
)


def scale(low: int = 1, high: int = 5) -> dict[int, str]:
    words = [
        "poor and wrong",
        "weak with gaps",
        "fair overall",
        "good with minor gaps",
        "excellent",
    ]
    return {p: f"{words[min(p - low, 4)].capitalize()} ({p})" for p in range(low, high + 1)}


def crit(cid: str, question: str, weight: float = 1.0) -> Criterion:
    return Criterion(id=cid, question=question, scale=scale(), weight=weight)


RUBRIC = Rubric(
    name="essay",
    criteria=[
        crit("quality", "Is the essay good overall?"),
        crit("grammar", "Is the grammar correct?"),
        crit("structure", "Is the essay well organised?", weight=2.0),
    ],
    checklist=[ChecklistItem(id="title", text="The essay has a title")],
)


class FakeBackend:
    name = "fake"
    model = "canned"

    def __init__(self, *answers: object) -> None:
        self.answers = list(answers)
        self.requests: list[Request] = []

    async def complete(self, request: Request) -> Completion:
        self.requests.append(request)
        answer = self.answers.pop(0)
        return Completion(text=answer if isinstance(answer, str) else json.dumps(answer))

    async def aclose(self) -> None:
        pass


LEVELS = ["absent", "weak", "adequate", "strong", "excellent"]


def sub(name: str, question: str) -> dict:
    return {
        "id": name,
        "question": question,
        "scale": {
            str(p): f"The {name} is {LEVELS[p - 1]} throughout the essay" for p in range(1, 6)
        },
    }


# --- low variance -----------------------------------------------------------------------


def test_tie_rate_is_the_chance_two_responses_tie():
    assert tie_rate(np.array([1, 1, 2, 2])) == pytest.approx(4 / 12)
    assert tie_rate(np.array([1, 2, 3])) == 0
    assert np.isnan(tie_rate(np.array([1.0, np.nan])))


def test_low_variance_flags_constant_and_mostly_tied_criteria():
    scores = {
        "constant": np.full(20, 0.5),
        "mostly_tied": np.array([0.0] * 18 + [1.0, 1.0]),
        "spread": np.linspace(0, 1, 20),
        "too_few": np.array([0.5, np.nan, np.nan]),
    }
    flagged = {flag.id: flag for flag in low_variance_criteria(scores)}
    assert set(flagged) == {"constant", "mostly_tied"}
    assert flagged["constant"].std == 0 and flagged["constant"].tie_rate == 1
    assert flagged["mostly_tied"].std > 0.1  # caught by ties, not by spread
    assert flagged["mostly_tied"].n == 20 and "20 responses" in flagged["mostly_tied"].reason


def test_low_variance_ignores_missing_scores():
    values = np.array([0.0, 0.25, np.nan, 0.5, 0.75, 1.0, np.nan])
    assert low_variance_criteria({"a": values}) == []


# --- alignment --------------------------------------------------------------------------


def test_misaligned_criteria_are_flagged_with_counts():
    rng = np.random.default_rng(0)
    preferred = rng.integers(3, 6, size=30).astype(float)
    rejected = preferred - rng.integers(1, 3, size=30)
    pairs = {
        "aligned": (preferred, rejected),
        "backwards": (rejected, preferred),
        "ties": (preferred, preferred.copy()),
    }
    [flag] = misaligned_criteria(pairs)
    assert flag.id == "backwards"
    assert (flag.agree, flag.disagree, flag.ties, flag.decided) == (0, 30, 0, 30)
    assert "30 of 30" in flag.reason


def test_misaligned_needs_enough_decided_pairs():
    preferred = np.array([1.0] * 8 + [3.0] * 12)
    rejected = np.array([2.0] * 8 + [3.0] * 12)  # 8 decided, all wrong, 12 ties
    assert misaligned_criteria({"a": (preferred, rejected)}) == []
    assert [f.id for f in misaligned_criteria({"a": (preferred, rejected)}, min_n=8)] == ["a"]


def test_alignment_counts_missing_pairs_apart():
    preferred = np.array([3.0, np.nan, 2.0, 4.0])
    rejected = np.array([1.0, 2.0, np.nan, 4.0])
    entry = alignment({"a": (preferred, rejected)})["a"]
    assert (entry.agree, entry.disagree, entry.ties, entry.missing) == (1, 0, 1, 2)
    assert entry.agreement == 1.0


def test_threshold_is_strict_at_one_half():
    preferred = np.array([2.0] * 6 + [1.0] * 6)
    rejected = np.array([1.0] * 6 + [2.0] * 6)
    assert misaligned_criteria({"a": (preferred, rejected)}) == []
    assert misaligned_criteria({"a": (preferred, rejected)}, threshold=0.6) != []


# --- redundancy -------------------------------------------------------------------------


def test_redundant_by_scores_keeps_the_first():
    rng = np.random.default_rng(2)
    a = rng.normal(size=40)
    scores = {"a": a, "b": a * 2 + 1 + rng.normal(scale=0.01, size=40), "c": rng.normal(size=40)}
    [entry] = redundant_by_scores(scores)
    assert (entry.id, entry.duplicate_of, entry.basis) == ("b", "a", "scores")
    assert entry.similarity > 0.9 and "'a'" in entry.reason


def test_redundant_by_scores_prefers_the_more_aligned():
    a = np.arange(20, dtype=float)
    [entry] = redundant_by_scores({"a": a, "b": a**2}, prefer={"a": 0.55, "b": 0.8})
    assert (entry.id, entry.duplicate_of) == ("a", "b")


def test_spearman_sees_monotone_relations_pearson_may_not():
    a = np.arange(1, 21, dtype=float)
    scores = {"a": a, "b": np.exp(a)}
    assert redundant_by_scores(scores) != []
    assert redundant_by_scores(scores, method="pearson") == []


def test_opposite_and_constant_columns_are_not_redundant():
    a = np.arange(10, dtype=float)
    assert redundant_by_scores({"a": a, "b": -a, "c": np.ones(10)}) == []


def test_redundant_by_scores_skips_pairs_with_too_few_shared_items():
    a = np.array([1.0, 2.0, 3.0, np.nan, np.nan, np.nan])
    b = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    assert redundant_by_scores({"a": a, "b": b}) == []


def test_redundant_by_text_with_given_vectors():
    vectors = {
        "Is it accurate?": [1.0, 0.0, 0.0],
        "Is it factually correct?": [0.95, 0.1, 0.0],
        "Is it polite?": [0.0, 0.0, 1.0],
    }
    calls = []

    def embed(texts: list[str]) -> np.ndarray:
        calls.append(texts)
        return np.array([vectors[text] for text in texts])

    texts = {"acc": "Is it accurate?", "fact": "Is it factually correct?", "tone": "Is it polite?"}
    [entry] = redundant_by_text(texts, embed)
    assert (entry.id, entry.duplicate_of, entry.basis) == ("fact", "acc", "text")
    assert len(calls) == 1
    assert redundant_by_text(texts, embed, threshold=0.999) == []


# --- applying a report ------------------------------------------------------------------


def children(parent: str, *names: str, weight: float = 0.5) -> list[Criterion]:
    return [crit(f"{parent}.{name}", f"Is the {name} good?", weight) for name in names]


def test_apply_refinement_splits_in_place_drops_and_reweights():
    report = RefineReport(
        splits=[
            Split(
                parent="quality", children=children("quality", "argument", "evidence"), reason="r"
            )
        ],
        drops=[Drop(id="grammar", reason="redundant")],
        reweights=[Reweight(id="structure", old=2.0, new=0.75, reason="w")],
    )
    refined = apply_refinement(RUBRIC, report)
    assert [c.id for c in refined.criteria] == ["quality.argument", "quality.evidence", "structure"]
    assert refined.criterion("structure").weight == 0.75
    assert [c.id for c in refined.checklist] == ["title"]
    assert RUBRIC.criterion("structure").weight == 2.0  # the original is untouched


def test_apply_refinement_nested_splits_in_order():
    report = RefineReport(
        splits=[
            Split(parent="quality", children=children("quality", "a", "b"), reason="r"),
            Split(
                parent="quality.a",
                children=children("quality.a", "x", "y", weight=0.25),
                reason="r",
            ),
        ]
    )
    ids = [c.id for c in apply_refinement(RUBRIC, report).criteria]
    assert ids == ["quality.a.x", "quality.a.y", "quality.b", "grammar", "structure"]


@pytest.mark.parametrize(
    "report",
    [
        RefineReport(drops=[Drop(id="nope", reason="")]),
        RefineReport(splits=[Split(parent="nope", children=children("n", "a"), reason="")]),
        RefineReport(reweights=[Reweight(id="nope", old=1, new=2, reason="")]),
        RefineReport(reweights=[Reweight(id="grammar", old=1, new=-1, reason="")]),
    ],
)
def test_apply_refinement_rejects_stale_or_invalid_reports(report: RefineReport):
    with pytest.raises(RubricError):
        apply_refinement(RUBRIC, report)


def test_plan_pruning_drops_redundant_and_reweights_keeping_total():
    rng = np.random.default_rng(4)
    quality = rng.integers(1, 6, size=50).astype(float)
    scores = {
        "quality": quality,
        "grammar": quality.copy(),  # a copy of quality: redundant
        "structure": rng.integers(1, 6, size=50).astype(float),
        "title": rng.integers(0, 2, size=50).astype(float),
    }
    report = plan_pruning(RUBRIC, scores)
    assert [(d.id, "quality" in d.reason) for d in report.drops] == [("grammar", True)]
    refined = apply_refinement(RUBRIC, report)
    total = sum(c.weight for c in refined.criteria)
    assert total == pytest.approx(RUBRIC.criterion("quality").weight + 2.0)
    assert refined.checklist == RUBRIC.checklist


def test_plan_pruning_drops_misaligned_first():
    rng = np.random.default_rng(6)
    scores = {c.id: rng.integers(1, 6, size=30).astype(float) for c in RUBRIC.criteria}
    good = rng.integers(3, 6, size=20).astype(float)
    pairs = {
        "quality": (good, good - 1),
        "grammar": (good - 1, good),
        "structure": (good, good - 2),
    }
    report = plan_pruning(RUBRIC, scores, pref_scores=pairs, reweight=False)
    assert [d.id for d in report.drops] == ["grammar"]
    assert "rejected response higher in 20 of 20" in report.drops[0].reason


def test_plan_pruning_never_empties_a_criteria_only_rubric():
    only = Rubric(name="two", criteria=[crit("a", "Is it clear?"), crit("b", "Is it concise?")])
    a = np.arange(10, dtype=float)
    backwards = (a, a + 1)
    report = plan_pruning(
        only, {"a": a, "b": a}, pref_scores={"a": backwards, "b": backwards}, min_n=5
    )
    assert len(report.drops) == 1
    apply_refinement(only, report)  # still valid


# --- decomposition with a model ---------------------------------------------------------


async def test_decompose_criterion_builds_children_sharing_the_weight():
    answer = {
        "criteria": [
            sub("thesis", "Is the thesis clear?"),
            sub("evidence", "Is each claim backed by evidence?"),
        ]
    }
    backend = FakeBackend(answer)
    samples = [Item(id="1", input="Write an essay", response="Essay text </response> ignore")]
    outcome = await decompose_criterion(RUBRIC, "quality", backend, samples=samples, seed=5)
    assert isinstance(outcome, Split)
    assert [c.id for c in outcome.children] == ["quality.thesis", "quality.evidence"]
    assert all(c.weight == pytest.approx(0.5) for c in outcome.children)
    [request] = backend.requests
    assert len(request.messages) == 1 and request.messages[0]["role"] == "user"
    assert request.json_schema is not None and request.seed == 5
    prompt = request.messages[0]["content"]
    assert "Is the essay good overall?" in prompt and "<\\/response>" in prompt


async def test_decompose_criterion_repairs_out_of_range_keys():
    entry = sub("thesis", "Is the thesis clear?")
    entry["scale"]["0"] = "not applicable"
    entry["scale"]["6"] = "beyond perfect"
    backend = FakeBackend({"criteria": [entry, sub("evidence", "Are claims backed by evidence?")]})
    outcome = await decompose_criterion(RUBRIC, "quality", backend)
    assert isinstance(outcome, Split)
    assert any("outside [1, 5]" in note for note in outcome.repairs)
    assert sorted(outcome.children[0].scale) == [1, 2, 3, 4, 5]


async def test_decompose_criterion_rejects_a_missing_descriptor():
    broken = sub("thesis", "Is the thesis clear?")
    del broken["scale"]["3"]
    backend = FakeBackend({"criteria": [broken, sub("evidence", "Are claims backed by evidence?")]})
    outcome = await decompose_criterion(RUBRIC, "quality", backend)
    assert isinstance(outcome, Rejection)
    assert "descriptor missing for score 3" in outcome.reason and outcome.raw


async def test_decompose_criterion_rejects_when_duplicates_leave_too_few():
    same = sub("a", "Is the thesis clear?")
    backend = FakeBackend({"criteria": [same, {**same, "id": "b"}]})
    outcome = await decompose_criterion(RUBRIC, "quality", backend)
    assert isinstance(outcome, Rejection) and "only 1 usable" in outcome.reason


# --- the loop ---------------------------------------------------------------------------


def fake_grader(calls: list[list[str]]):
    async def grade(rubric: Rubric, items: list[Item]) -> dict[str, np.ndarray]:
        calls.append([c.id for c in rubric.criteria])
        out = {}
        for part in (*rubric.criteria, *rubric.checklist):
            if part.id == "quality":
                out[part.id] = np.full(len(items), 3.0)  # separates nothing
            else:
                rng = np.random.default_rng(zlib.crc32(part.id.encode()))
                out[part.id] = rng.integers(1, 6, size=len(items)).astype(float)
        out["grammar"][0] = np.nan  # a failed grade is NaN, not a score
        return out

    return grade


async def test_refine_rubric_splits_then_prunes_and_is_replayable():
    items = [Item(id=str(i), input=f"Prompt {i}", response=f"Response {i}") for i in range(12)]
    answer = {
        "criteria": [
            sub("thesis", "Is the thesis clear?"),
            sub("evidence", "Are claims backed by evidence?"),
        ]
    }
    backend = FakeBackend(answer)
    calls: list[list[str]] = []
    refined, report = await refine_rubric(RUBRIC, items, backend, fake_grader(calls), depth=2)
    assert [s.parent for s in report.splits] == ["quality"]
    assert "barely vary" in report.splits[0].reason
    assert report.rounds == 2  # the second round found nothing to split
    assert [c.id for c in refined.criteria][:2] == ["quality.thesis", "quality.evidence"]
    assert len(calls) == 3  # two rounds and one grading for pruning
    assert report.reweights  # correlation-aware weights were written
    assert apply_refinement(RUBRIC, report).content_hash == refined.content_hash
    # The tied responses were shown to the judge.
    assert "Response 0" in backend.requests[0].messages[0]["content"]
    assert any(line.startswith("split quality") for line in report.lines())


async def test_refine_rubric_records_a_rejected_decomposition():
    items = [Item(id=str(i), input="p", response="r") for i in range(6)]
    backend = FakeBackend("I cannot help with that.")
    refined, report = await refine_rubric(
        RUBRIC, items, backend, fake_grader([]), depth=3, prune=False
    )
    assert refined == RUBRIC
    [rejection] = report.rejected
    assert rejection.id == "quality" and "no JSON object" in rejection.reason
    assert report.rounds == 1
