"""Ranking several responses: pooling shuffled orders, and Swiss tournaments of pairs.

Modules here are public unless their name starts with `_`; a `_name`, module or symbol, is
never imported from outside this package (tests included).
"""

from jurist.judges.orders import (
    AGGREGATES,
    Aggregate,
    Aggregated,
    aggregate_rankings,
    borda_scores,
    bt_scores,
    implied_wins,
    presentation_orders,
)
from jurist.ranking.swiss import (
    Match,
    MatchOutcome,
    Tournament,
    default_rounds,
    swiss_pairings,
    swiss_tournament,
    tournament_ratings,
)
from jurist.ranking.tournament import session_tournament

__all__ = [
    "AGGREGATES",
    "Aggregate",
    "Aggregated",
    "Match",
    "MatchOutcome",
    "Tournament",
    "aggregate_rankings",
    "borda_scores",
    "bt_scores",
    "default_rounds",
    "implied_wins",
    "presentation_orders",
    "session_tournament",
    "swiss_pairings",
    "swiss_tournament",
    "tournament_ratings",
]
