"""Swiss tournaments judged by the pairwise judge: every match is one pairwise judgment
(both orders by default), sent through the caller's layered backend, so matches are
cached, retried and rate-limited like any other call."""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING

from jurist.backends.base import Backend
from jurist.core.data import Item
from jurist.judges.answering import SamplingOptions, judge_item
from jurist.judges.base import JudgeOptions
from jurist.judges.pairwise import PairwiseJudge
from jurist.ranking.swiss import MatchOutcome, Tournament, swiss_tournament
from jurist.core.rubric import Rubric
from jurist.stats.resampling import Resampling

if TYPE_CHECKING:
    from jurist.session import JudgeSession


async def judged_tournament(
    backend: Backend,
    rubric: Rubric,
    item: Item,
    *,
    options: JudgeOptions | None = None,
    sampling: SamplingOptions | None = None,
    rounds: int | None = None,
    resampling: Resampling | None = None,
) -> Tournament:
    """A Swiss tournament among the item's responses; `backend` must already be layered."""
    texts = item.candidates
    if len(texts) < 2:
        raise ValueError(f"item {item.id!r} needs at least 2 responses for a tournament")
    base = options or JudgeOptions()
    # Only the pairwise judge's own settings: a listwise session's extras do not apply.
    plain = JudgeOptions(**{f.name: getattr(base, f.name) for f in fields(JudgeOptions)})
    judge = PairwiseJudge(rubric, plain)
    sampling = sampling or SamplingOptions()

    async def play(a: int, b: int) -> MatchOutcome:
        pair = Item(
            id=f"{item.id}:{a}-{b}",
            input=item.input,
            response=texts[a],
            response_b=texts[b],
            reference=item.reference,
        )
        judgment = await judge_item(backend, judge, pair, 0, sampling)
        verdict = judgment.pair.verdict if judgment.pair is not None else None
        consistent = judgment.pair.consistent if judgment.pair is not None else None
        error = judgment.pair.error if judgment.pair is not None else None
        return MatchOutcome(verdict, judgment.calls, consistent, error, judgment.cache_hits)

    return await swiss_tournament(
        len(texts), play, rounds=rounds, key=item.id, seed=plain.seed, resampling=resampling
    )


async def session_tournament(
    session: JudgeSession, item: Item, *, rounds: int | None = None
) -> Tournament:
    """`judged_tournament` with a JudgeSession's rubric, options, backend and sampling."""
    return await judged_tournament(
        session.backend,
        session.rubric,
        item,
        options=session.options,
        sampling=session.run_options.sampling,
        rounds=rounds,
    )
