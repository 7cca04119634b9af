"""The listwise judge's presentation orders, and turning one item's rankings from those
orders into one ranking.

A judge that ranks a list favours some slots; showing the list in K shuffled orders and
pooling the answers cancels that. Borda counts positions; Bradley-Terry reads every ranking
as the pairwise wins it implies and fits strengths, which weighs a response beaten only by
strong ones above one beaten by weak ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from jurist.stats.compare import bt_strengths

Aggregate = Literal["borda", "bt"]
AGGREGATES: tuple[Aggregate, ...] = ("borda", "bt")


def presentation_orders(n: int, k: int, *, key: str = "", seed: int = 0) -> list[list[int]]:
    """K orders of n responses (response indices, slot 0 first).

    A shuffle seeded by `key` and `seed` is rotated by evenly spread shifts, so with K = n
    every response sits in every slot exactly once (a Latin square) and with K < n the slots
    are spread as evenly as rotations allow; orders beyond n are fresh shuffles. The first
    order is itself a shuffle, so the data's own order never reaches the judge unchanged by
    construction.
    """
    if n < 2:
        raise ValueError(f"ranking needs at least 2 responses, got {n}")
    if k < 1:
        raise ValueError(f"orders must be at least 1, got {k}")
    digest = hashlib.sha256(f"{seed}\0{key}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    base = [int(i) for i in rng.permutation(n)]
    rotations = min(k, n)
    orders = []
    for j in range(rotations):
        shift = j * n // rotations
        orders.append(base[shift:] + base[:shift])
    orders.extend([int(i) for i in rng.permutation(n)] for _ in range(k - rotations))
    return orders


def borda_scores(rankings: Sequence[Sequence[int]], n: int) -> list[float]:
    """Mean Borda points per response: n - 1 for first place down to 0 for last."""
    if not rankings:
        raise ValueError("no rankings to aggregate")
    points = np.zeros(n)
    for ranking in rankings:
        _check_ranking(ranking, n)
        for position, index in enumerate(ranking):
            points[index] += n - 1 - position
    return [float(p) for p in points / len(rankings)]


def implied_wins(rankings: Sequence[Sequence[int]], n: int) -> np.ndarray:
    """wins[i, j]: how many rankings put response i above response j."""
    wins = np.zeros((n, n))
    for ranking in rankings:
        _check_ranking(ranking, n)
        for position, winner in enumerate(ranking):
            for loser in ranking[position + 1 :]:
                wins[winner, loser] += 1
    return wins


def bt_scores(rankings: Sequence[Sequence[int]], n: int, *, prior: float = 0.1) -> list[float]:
    """Bradley-Terry log-strengths (mean zero) from the pairwise wins the rankings imply.

    `prior` adds that many virtual tie games between every two responses, which keeps the
    fit finite when the orders agree on a pair every time (without it the MLE diverges)."""
    if not rankings:
        raise ValueError("no rankings to aggregate")
    wins_matrix = implied_wins(rankings, n)
    games = wins_matrix + wins_matrix.T + prior * (1.0 - np.eye(n))
    wins = wins_matrix.sum(axis=1) + prior * (n - 1) / 2.0
    return [float(s) for s in bt_strengths(wins[None, :], games[None, :, :])[0]]


@dataclass(frozen=True)
class Aggregated:
    """One item's pooled ranking and how far the orders agreed on its top pick."""

    ranking: list[int]
    scores: list[float]
    top: int
    top_tied: bool
    top_consistency: float


def aggregate_rankings(
    rankings: Sequence[Sequence[int]], n: int, method: Aggregate = "borda"
) -> Aggregated:
    """The pooled ranking: sorted by score, ties broken by response index (and flagged
    when they decide the top pick)."""
    if method == "borda":
        scores = borda_scores(rankings, n)
    elif method == "bt":
        scores = bt_scores(rankings, n)
    else:
        raise ValueError(f"aggregate must be one of {', '.join(AGGREGATES)}, not {method!r}")
    ranking = sorted(range(n), key=lambda i: (-round(scores[i], 9), i))
    top = ranking[0]
    tied = round(scores[ranking[1]], 9) == round(scores[top], 9)
    agree = sum(1 for r in rankings if r[0] == top) / len(rankings)
    return Aggregated(ranking, [round(s, 6) for s in scores], top, tied, round(agree, 6))


def _check_ranking(ranking: Sequence[int], n: int) -> None:
    if sorted(ranking) != list(range(n)):
        raise ValueError(f"{list(ranking)} is not a ranking of responses 0..{n - 1}")
