"""Swiss tournaments judged by the pairwise judge: every match is one pairwise judgment
(both orders by default), asked through a `JudgeSession`'s stack, so matches are cached,
retried and rate-limited like any other call."""

from __future__ import annotations

from dataclasses import fields

from jurist.core.data import Item
from jurist.judges.base import JudgeOptions
from jurist.ranking.swiss import MatchOutcome, Tournament, swiss_tournament
from jurist.session import JudgeSession
from jurist.stats.resampling import Resampling


async def session_tournament(
    session: JudgeSession,
    item: Item,
    *,
    rounds: int | None = None,
    resampling: Resampling | None = None,
) -> Tournament:
    """A Swiss tournament among the item's responses, judged with the session's rubric,
    options and sampling by a pairwise judge over the session's stack."""
    texts = item.candidates
    if len(texts) < 2:
        raise ValueError(f"item {item.id!r} needs at least 2 responses for a tournament")
    base = session.options
    # Only the pairwise judge's own settings: a listwise session's extras do not apply.
    plain = JudgeOptions(**{f.name: getattr(base, f.name) for f in fields(JudgeOptions)})
    pairwise = session.with_options(plain, mode="pairwise")

    async def play(a: int, b: int) -> MatchOutcome:
        pair = Item(
            id=f"{item.id}:{a}-{b}",
            input=item.input,
            response=texts[a],
            response_b=texts[b],
            reference=item.reference,
        )
        judgment = await pairwise.judge_item(pair, 0)
        verdict = judgment.pair.verdict if judgment.pair is not None else None
        consistent = judgment.pair.consistent if judgment.pair is not None else None
        error = judgment.pair.error if judgment.pair is not None else None
        return MatchOutcome(verdict, judgment.calls, consistent, error, judgment.cache_hits)

    return await swiss_tournament(
        len(texts), play, rounds=rounds, key=item.id, seed=plain.seed, resampling=resampling
    )
