"""Listwise ranking and a Swiss tournament with the real embedded judge and through a real
`llama_cpp.server`. The model is tiny: these check the plumbing and honesty (rankings are
permutations, probabilities are distributions, answers are cached), not its taste."""

import asyncio
from pathlib import Path

import pytest

from jurist import JudgeSession, JudgeSetup
from jurist.core.data import Item
from jurist.judges import ListwiseOptions
from jurist.ranking import session_tournament

pytestmark = pytest.mark.integration
RUBRIC = """\
name: correct
criteria:
  - id: correct
    question: Is the answer correct?
    range: [1, 2]
    scale: {1: wrong, 2: right}
"""
ITEM = Item(
    id="capital",
    input="What is the capital of France?",
    responses=("Paris.", "Lyon.", "I am not sure, maybe Berlin."),
)


def _check_ranked(judgment, orders: int) -> None:
    assert judgment.mode == "listwise" and judgment.n_responses == 3
    assert len(judgment.orders) == orders
    if judgment.status != "ok":  # a tiny model may not answer; then it must say why
        assert any(o.error for o in judgment.orders)
        return
    assert sorted(judgment.ranking) == [0, 1, 2]
    assert judgment.top == judgment.ranking[0]
    shares = [k / orders for k in range(1, orders + 1)]
    assert any(judgment.top_consistency == pytest.approx(share) for share in shares)
    for order in judgment.orders:
        assert sorted(order.ranking) == [0, 1, 2]
        if order.p_top is not None:
            assert sum(order.p_top) == pytest.approx(1.0, abs=1e-3)


@pytest.fixture
def rubric(tmp_path) -> Path:
    path = tmp_path / "rubric.yaml"
    path.write_text(RUBRIC)
    return path


def test_embedded_judge_ranks_and_caches(gemma_path, rubric, tmp_path):
    options = ListwiseOptions(orders=2, rationale="none", max_tokens=32)
    setup = JudgeSetup(judge="local", mode="listwise", options=options)
    session = JudgeSession(rubric, setup, store=tmp_path / "s.sqlite")
    try:
        (first,) = session([ITEM])
        _check_ranked(first, 2)
        assert first.calls >= 2
        (again,) = session([ITEM])
        assert again.calls == 0 and again.cache_hits >= 2
        assert again.ranking == first.ranking
    finally:
        session.close()


def test_through_llama_server_listwise_and_tournament(llama_server, rubric, tmp_path):
    options = ListwiseOptions(orders=2, rationale="none", max_tokens=32)
    setup = JudgeSetup(
        judge=f"openai:{llama_server}#gemma", mode="listwise", options=options, logprobs=False
    )
    session = JudgeSession(rubric, setup, store=tmp_path / "s.sqlite")
    try:
        (judgment,) = session([ITEM])
        _check_ranked(judgment, 2)
        tournament = asyncio.run(session_tournament(session, ITEM, rounds=1))
    finally:
        session.close()
    # Three candidates: one match and one bye, the match judged in both orders.
    assert tournament.rounds_played == 1 and len(tournament.matches) == 1
    assert len(tournament.byes) == 1
    assert tournament.calls >= 2
    assert sorted(tournament.ranking) == [0, 1, 2]
    for match in tournament.matches:
        assert match.outcome.verdict in ("A", "B", "tie") or match.outcome.error
