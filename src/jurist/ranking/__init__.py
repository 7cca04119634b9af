"""Ranking several responses: pooling shuffled orders, and Swiss tournaments of pairs."""

from jurist.ranking.aggregate import (
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
from jurist.ranking.tournament import judged_tournament, session_tournament

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
    "judged_tournament",
    "presentation_orders",
    "session_tournament",
    "swiss_pairings",
    "swiss_tournament",
    "tournament_ratings",
]
