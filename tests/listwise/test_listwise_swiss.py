"""Swiss pairing: no rematches, O(n log n) matches, byes rotate, and the strongest
candidate comes out on top when matches follow hidden strengths."""

import asyncio
import math

import pytest

from jurist.ranking import MatchOutcome, default_rounds, swiss_pairings, swiss_tournament


def _by_strength(strength):
    async def play(a: int, b: int) -> MatchOutcome:
        if strength[a] == strength[b]:
            return MatchOutcome("tie", calls=2)
        return MatchOutcome("A" if strength[a] > strength[b] else "B", calls=2)

    return play


@pytest.mark.parametrize("n", [2, 5, 8, 16, 33, 64])
def test_no_rematches_and_n_log_n_matches(n):
    strength = [(i * 37) % n for i in range(n)]
    result = asyncio.run(
        swiss_tournament(n, _by_strength(strength), key="t", resampling={"n_resamples": 20})
    )
    pairs = [frozenset((m.a, m.b)) for m in result.matches]
    assert len(pairs) == len(set(pairs)), "a rematch was played"
    assert result.rounds_played == default_rounds(n) == math.ceil(math.log2(n))
    assert len(result.matches) == (n // 2) * result.rounds_played
    assert len(result.matches) <= n / 2 * (math.log2(n) + 1)
    if n >= 16:
        assert len(result.matches) < n * (n - 1) / 2 / 2  # far fewer than a round robin
    for round_number in range(1, result.rounds_played + 1):
        seen = [c for m in result.matches if m.round == round_number for c in (m.a, m.b)]
        assert len(seen) == len(set(seen)), "a candidate played twice in one round"
    assert result.calls == result.requests == 2 * len(result.matches)


def test_strongest_wins_and_ratings_follow_strength():
    n = 16
    strength = list(range(n))
    result = asyncio.run(
        swiss_tournament(
            n, _by_strength(strength), rounds=5, key="s", resampling={"n_resamples": 100}
        )
    )
    assert result.ranking[0] == n - 1
    assert result.ratings is not None
    ratings = result.ratings.ratings
    assert ratings[str(n - 1)].value > ratings["0"].value
    assert all(r.low <= r.value <= r.high for r in ratings.values())


def test_odd_field_rotates_byes():
    result = asyncio.run(swiss_tournament(7, _by_strength(list(range(7))), rounds=3, key="b"))
    assert len(result.byes) == 3 and len(set(result.byes)) == 3


def test_pairing_avoids_rematches_by_backtracking():
    met = {frozenset((0, 1)), frozenset((2, 3))}
    pairs, bye = swiss_pairings([0, 1, 2, 3], met, set())
    assert bye is None
    assert {frozenset(p) for p in pairs}.isdisjoint(met)
    assert swiss_pairings([0, 1], {frozenset((0, 1))}, set()) is None


def test_stops_early_when_only_rematches_remain():
    result = asyncio.run(swiss_tournament(2, _by_strength([0, 1]), rounds=3))
    assert result.rounds_played == 1
    assert result.stopped_early is not None and "rematch" in result.stopped_early


def test_failed_matches_are_not_games():
    async def play(a: int, b: int) -> MatchOutcome:
        return MatchOutcome(None, calls=1, error="boom")

    result = asyncio.run(swiss_tournament(4, play))
    assert result.ratings is not None and result.ratings.n_excluded == len(result.matches)
    assert result.points() == [0.0] * 4
