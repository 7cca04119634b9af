"""Rubric authoring end to end against the real Gemma 3 270M judge: embedded (llama-cpp)
and behind a real `python -m llama_cpp.server` on 127.0.0.1.

The model is tiny and runs on a couple of CPU cores, so each test asks for as little as
possible (one item, two parts, small token budgets) and asserts on the shape and status of
what comes back (ok / repaired / rejected with a reason, failed with an error), never on
its quality.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jurist.backends import CallPolicy, RetryPolicy
from jurist.cli import app
from jurist.core.data import Item
from jurist.core.rubric import ChecklistItem, Criterion, Rubric, load_rubric
from jurist.judges import JudgeOptions
from jurist.rubrics.contrastive import generate_contrastive
from jurist.rubrics.generate import generate_instance_rubric
from jurist.rubrics.pipeline import RubricPipeline
from jurist.rubrics.refine import Rejection, Split, decompose_criterion
from jurist.session import JudgeSession, JudgeSetup

pytestmark = pytest.mark.integration

# Slow shared cores: one call may take minutes, and a retry would only repeat it.
CALLS = CallPolicy(concurrency=1, timeout=900.0, retry=RetryPolicy(max_attempts=1))
SCORE = JudgeOptions(max_tokens=96, rationale_chars=120, want_logprobs=True)
GENERATE = {"max_parts": 2, "max_tokens": 320, "temperature": 0.7, "seed": 1}

ITEM = Item(id="hastings", input="When was the Battle of Hastings?")
PAIR = Item(
    id="capital",
    input="What is the capital of France? Answer in one word.",
    response="Paris.",
    response_b="The capital of France is Lyon, a large city in the south east.",
    labels={"preference": "A"},
)
FLAT = Rubric(
    name="flat",
    criteria=[
        Criterion(
            id="quality",
            question="How good is the answer to the question?",
            scale={
                1: "Wrong or off topic.",
                2: "Mostly wrong, with a relevant fragment.",
                3: "Partly right but incomplete.",
                4: "Right with small gaps.",
                5: "Right, complete and to the point.",
            },
        )
    ],
)
STATUSES = {"ok", "repaired", "rejected", "failed"}


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("rubrics-e2e") / "store.sqlite"


@pytest.fixture(params=["local", "server"])
def judge_spec(request: pytest.FixtureRequest, gemma_path: Path) -> str:
    if request.param == "local":
        return "local"
    url = request.getfixturevalue("llama_server")
    return f"openai:{url}#gemma"


@pytest.fixture
async def pipeline(judge_spec: str, store_path: Path) -> AsyncIterator[RubricPipeline]:
    setup = JudgeSetup(judge=judge_spec, options=SCORE, calls=CALLS)
    async with JudgeSession(setup=setup, store=store_path) as session:
        yield RubricPipeline(session)


def assert_outcome(result, *, statuses: set[str] = STATUSES) -> None:
    assert result.status in statuses
    if result.ok:
        assert result.rubric is not None and result.reason is None
    elif result.status == "rejected":
        assert result.reason and result.raw is not None
        # A usable answer the judge then disagreed with keeps its rubric, for the record.
        assert result.rubric is None or "judge" in result.reason
    else:
        assert result.reason and result.reason.startswith("backend error")


async def test_instance_rubric(pipeline: RubricPipeline):
    result = await generate_instance_rubric(ITEM, pipeline.backend, style="checklist", **GENERATE)
    assert_outcome(result)
    assert result.status != "failed", result.reason
    if result.rubric is not None:
        assert 1 <= len(result.rubric.checklist) <= 2 and not result.rubric.criteria
    # The same request again is answered from the store.
    calls = pipeline.usage.calls
    again = await generate_instance_rubric(ITEM, pipeline.backend, style="checklist", **GENERATE)
    assert again.status == result.status and pipeline.usage.calls == calls
    assert pipeline.usage.cache_hits >= 1


async def test_decomposition(pipeline: RubricPipeline):
    outcome = await decompose_criterion(
        FLAT, "quality", pipeline.backend, max_parts=2, max_tokens=400, seed=3
    )
    if isinstance(outcome, Split):
        assert 2 <= len(outcome.children) <= 2
        assert all(child.id.startswith("quality.") for child in outcome.children)
        assert all(child.bounds == (1, 5) for child in outcome.children)
        assert sum(child.weight for child in outcome.children) == pytest.approx(1.0)
    else:
        assert isinstance(outcome, Rejection) and outcome.id == "quality" and outcome.reason


async def test_contrastive_try_and_grading(pipeline: RubricPipeline):
    result = await generate_contrastive(
        PAIR,
        pipeline.backend,
        pipeline.prefers,
        tries=1,
        max_rules=1,
        max_principles=1,
        max_tokens=200,
        seed=2,
    )
    [attempt] = result.attempts
    assert_outcome(attempt)
    assert attempt.status != "failed", attempt.reason
    assert (result.rubric is not None) == attempt.ok
    # Grade the pair directly too, under the rubric if one came back.
    rubric = attempt.rubric or Rubric(
        name="fallback-check",
        checklist=[ChecklistItem(id="right", text="The response names Paris as the capital")],
    )
    verdict = await pipeline.verdict(rubric, PAIR)
    assert verdict in {"A", "B", "tie", None}
    scores = await pipeline.grade(rubric, [PAIR.model_copy(update={"response_b": None})])
    assert set(scores) == {c.id for c in rubric.checklist} | {c.id for c in rubric.criteria}


def test_generate_cli(judge_spec: str, store_path: Path, tmp_path: Path):
    data = tmp_path / "prompts.jsonl"
    data.write_text(json.dumps({"id": "hastings", "input": ITEM.input}) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "rubric", "generate", str(data), "--id-field", "id", "--judge", judge_spec,
            "--style", "checklist", "--max-parts", "2", "--max-tokens", "320", "--tries", "1",
            "--seed", "1", "--timeout", "900", "--max-attempts", "1", "-o", str(out),
            "--store", str(store_path),
        ],
    )  # fmt: skip
    report = json.loads((out / "report.json").read_text())
    [entry] = report["results"]
    assert entry["status"] in STATUSES
    if entry["status"] in ("ok", "repaired"):
        assert result.exit_code == 0, result.output
        assert load_rubric(entry["files"][0]).checklist
    else:
        assert result.exit_code == 1 and entry["reason"]
