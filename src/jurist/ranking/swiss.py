"""Swiss-system tournaments: rank many candidates with O(n log n) pairwise matches.

Each round pairs candidates with equal (or the nearest) scores who have not met, so after
about log2(n) rounds the strong and the weak are separated without the n(n-1)/2 matches of
a round robin. The matches then feed a Bradley-Terry fit, whose bootstrap intervals say how
sure the order is. Playing a match is a callback, so the pairing logic is tested alone and
the judge is whichever pairwise judge the caller wires in.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from jurist.core.judgment import Verdict
from jurist.stats.compare import Ratings, bradley_terry
from jurist.stats.resampling import Resampling

Play = Callable[[int, int], Awaitable["MatchOutcome"]]


@dataclass(frozen=True)
class MatchOutcome:
    """What a match produced: the verdict with `a` shown as A (None when it failed), the
    model calls it cost and the answers the cache served instead."""

    verdict: Verdict | None
    calls: int = 0
    consistent: bool | None = None
    error: str | None = None
    cache_hits: int = 0


@dataclass(frozen=True)
class Match:
    round: int
    a: int
    b: int
    outcome: MatchOutcome


@dataclass
class Tournament:
    """Every match played, the byes given, and the Bradley-Terry ratings they imply."""

    names: list[str]
    rounds_played: int
    matches: list[Match] = field(default_factory=list)
    byes: list[int] = field(default_factory=list)
    ratings: Ratings | None = None
    stopped_early: str | None = None  # why fewer rounds were played than asked for

    @property
    def calls(self) -> int:
        return sum(m.outcome.calls for m in self.matches)

    @property
    def requests(self) -> int:
        """Requests the matches needed, whether a model or the cache answered them."""
        return sum(m.outcome.calls + m.outcome.cache_hits for m in self.matches)

    @property
    def ranking(self) -> list[int]:
        """Candidate indices best first, by rating (then Swiss score, then index)."""
        points = self.points()
        rating = {i: -math.inf for i in range(len(self.names))}
        if self.ratings is not None:
            for i, name in enumerate(self.names):
                if name in self.ratings.ratings:
                    rating[i] = self.ratings.ratings[name].value
        return sorted(range(len(self.names)), key=lambda i: (-rating[i], -points[i], i))

    def points(self) -> list[float]:
        """Swiss score: 1 per win, 1/2 per tie, 1 per bye; failed matches score nothing."""
        points = [0.0] * len(self.names)
        for match in self.matches:
            verdict = match.outcome.verdict
            if verdict == "A":
                points[match.a] += 1
            elif verdict == "B":
                points[match.b] += 1
            elif verdict == "tie":
                points[match.a] += 0.5
                points[match.b] += 0.5
        for bye in self.byes:
            points[bye] += 1
        return points


def default_rounds(n: int) -> int:
    """ceil(log2 n): enough rounds for one candidate to stay unbeaten alone."""
    return max(1, math.ceil(math.log2(n))) if n > 1 else 0


def swiss_pairings(
    standing: Sequence[int], met: set[frozenset[int]], byes: set[int]
) -> tuple[list[tuple[int, int]], int | None] | None:
    """One round's pairs from candidates ordered best first, with no rematch; an odd field
    gives a bye to the lowest-placed candidate that has not had one. None when no pairing
    without a rematch exists."""
    players = list(standing)
    bye = None
    if len(players) % 2:
        for candidate in reversed(players):
            if candidate not in byes:
                bye = candidate
                break
        if bye is None:
            bye = players[-1]
        players.remove(bye)
    pairs = _pair_up(players, met)
    return None if pairs is None else (pairs, bye)


def _pair_up(players: list[int], met: set[frozenset[int]]) -> list[tuple[int, int]] | None:
    """Each player with the nearest-placed one not yet met (backtracking when stuck)."""
    if not players:
        return []
    first, rest = players[0], players[1:]
    for k, other in enumerate(rest):
        if frozenset((first, other)) in met:
            continue
        tail = _pair_up(rest[:k] + rest[k + 1 :], met)
        if tail is not None:
            return [(first, other), *tail]
    return None


async def swiss_tournament(
    n: int,
    play: Play,
    *,
    rounds: int | None = None,
    names: Sequence[str] | None = None,
    key: str = "",
    seed: int = 0,
    resampling: Resampling | None = None,
) -> Tournament:
    """Play a Swiss tournament among n candidates; a round's matches run concurrently.

    The first round pairs a seeded shuffle (the data's order is not a seeding); later rounds
    pair by Swiss score, the previous ratings breaking ties. Stops early, saying why, when
    every remaining pairing would be a rematch.
    """
    names = list(names) if names is not None else [str(i) for i in range(n)]
    if len(names) != n:
        raise ValueError(f"{len(names)} names for {n} candidates")
    if len(set(names)) != n:
        raise ValueError("candidate names must be unique")
    rounds = default_rounds(n) if rounds is None else rounds
    digest = hashlib.sha256(f"{seed}\0{key}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    seeding = {int(c): k for k, c in enumerate(rng.permutation(n))}
    result = Tournament(names=names, rounds_played=0)
    met: set[frozenset[int]] = set()
    for round_number in range(rounds):
        points = result.points()
        standing = sorted(range(n), key=lambda i: (-points[i], seeding[i]))
        planned = swiss_pairings(standing, met, set(result.byes))
        if planned is None:
            result.stopped_early = f"no pairing without a rematch in round {round_number + 1}"
            break
        pairs, bye = planned
        # Alternate who is shown first, so no candidate is always response A.
        pairs = [(a, b) if round_number % 2 == 0 else (b, a) for a, b in pairs]
        outcomes = await asyncio.gather(*(play(a, b) for a, b in pairs))
        for (a, b), outcome in zip(pairs, outcomes, strict=True):
            result.matches.append(Match(round_number + 1, a, b, outcome))
            met.add(frozenset((a, b)))
        if bye is not None:
            result.byes.append(bye)
        result.rounds_played = round_number + 1
    result.ratings = tournament_ratings(result, resampling)
    return result


def tournament_ratings(result: Tournament, resampling: Resampling | None = None) -> Ratings:
    """Bradley-Terry ratings (Elo-like scale, bootstrap intervals over matches); byes and
    failed matches are not games."""
    a = [result.names[m.a] for m in result.matches]
    b = [result.names[m.b] for m in result.matches]
    verdicts = [m.outcome.verdict for m in result.matches]
    return bradley_terry(
        np.asarray(a, dtype=object),
        np.asarray(b, dtype=object),
        np.asarray(verdicts, dtype=object),
        **(resampling or {}),
    )
