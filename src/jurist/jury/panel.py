"""A jury at work: every juror a `JudgeSession`, asked about each item, and the answers
combined.

All jurors are asked at once, or, for a cascade, one after another until one is confident
enough. Jurors that name the same backend share one root session and so its stack (one model
in memory, one limiter that sees all their requests); each juror's seat is a `with_options`
child of it, whose cache entries stay apart because its prompts or sampling differ.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jurist.backends import Backend, CallStats, parse_judge_spec
from jurist.core.data import Item
from jurist.core.errors import ConfigError
from jurist.core.judgment import Judgment
from jurist.core.rubric import Rubric, load_rubric
from jurist.judges.answering import SamplingOptions
from jurist.jury.combine import (
    JuryRule,
    cascade_judgment,
    combine_judgments,
    confidence,
    jury_name,
)
from jurist.jury.spec import AGGREGATES, Juror, JurySpec, jury_from_judges, load_jury
from jurist.jury.weights import load_weights
from jurist.session import ItemLike, JudgeSession, JudgeSetup, judge_all
from jurist.store import Store

# What a juror may set for itself; unset, the panel's own options apply.
_JUROR_OPTIONS = ("temperature", "seed", "rationale", "max_tokens")


@dataclass(frozen=True)
class Seat:
    """One juror ready to judge: a session over the stack its backend shares."""

    juror: Juror
    session: JudgeSession

    @property
    def name(self) -> str:
        return self.juror.name


class JuryPanel:
    """Judges items with every juror of `spec` and combines their judgments; an `ItemJudge`,
    so an engine schedules it like a single judge's session.

    `setup` gives the mode, options, call policy and sampling every juror starts from; each
    juror's own `judge` spec replaces `setup.judge`. `store` None: no cache. `backends` gives
    a juror (by name) a ready backend instead of its spec (borrowed, never closed here).
    `stats` counts every juror's calls (a progress display passes its counters).
    """

    def __init__(
        self,
        spec: JurySpec,
        rubric: Rubric | str | Path,
        setup: JudgeSetup | None = None,
        *,
        store: Store | None = None,
        backends: Mapping[str, Backend] | None = None,
        stats: CallStats | None = None,
    ) -> None:
        self.spec = spec
        self.setup = setup or JudgeSetup()
        if self.setup.mode not in ("pointwise", "pairwise"):
            raise ConfigError(f"a jury judges pointwise or pairwise, not {self.setup.mode}")
        self.rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
        self.store = store
        self.stats = stats if stats is not None else CallStats()
        self.cascade = spec.aggregate == "cascade"
        self.rule = JuryRule(
            method="mean" if self.cascade else spec.aggregate,  # type: ignore[arg-type]
            trim=spec.trim,
            weights=juror_weights(spec),
            disagreement=spec.disagreement,
        )
        self.name = jury_name(spec.aggregate, spec.names)
        self._check()
        rubrics = [self._juror_rubric(juror) for juror in spec.jurors]
        given = dict(backends or {})
        # One root session per distinct backend: its limiter then sees every request queued
        # at that model, whichever juror sent it.
        self._roots: dict[str, JudgeSession] = {}
        self.seats: list[Seat] = []
        for juror, juror_rubric in zip(spec.jurors, rubrics, strict=True):
            root = self._root(juror, given.get(juror.name))
            self.seats.append(Seat(juror, self._seated(root, juror, juror_rubric)))

    def _root(self, juror: Juror, backend: Backend | None) -> JudgeSession:
        key = f"name:{juror.name}" if backend is not None else f"judge:{juror.judge or 'local'}"
        if key not in self._roots:
            self._roots[key] = JudgeSession(
                self.rubric,
                replace(self.setup, judge=juror.judge),
                store=self.store,
                cache=self.store is not None,
                backend=backend,
                stats=self.stats,
            )
        return self._roots[key]

    def _seated(self, root: JudgeSession, juror: Juror, rubric: Rubric) -> JudgeSession:
        overrides = {
            name: getattr(juror, name)
            for name in _JUROR_OPTIONS
            if getattr(juror, name) is not None
        }
        sampling = self.setup.sampling
        if juror.samples:
            sampling = SamplingOptions(
                juror.samples, sampling.sample_temperature, sampling.parse_retries
            )
        return root.with_options(
            replace(self.setup.options, **overrides), rubric=rubric, sampling=sampling
        )

    def _juror_rubric(self, juror: Juror) -> Rubric:
        if juror.rubric is None:
            return self.rubric
        rubric = load_rubric(juror.rubric)
        if [c.id for c in rubric.criteria] != [c.id for c in self.rubric.criteria]:
            raise ConfigError(
                f"juror {juror.name!r}: rubric {juror.rubric} must phrase the same criteria "
                f"({', '.join(c.id for c in self.rubric.criteria)}), in the same order"
            )
        return rubric

    def _check(self) -> None:
        if self.cascade:
            for juror in self.spec.jurors[:-1]:
                if juror.escalate_below is None:
                    raise ConfigError(
                        f"cascade: juror {juror.name!r} needs `escalate_below` (a confidence "
                        "threshold; calibrate one with jurist.jury.calibrate_thresholds)"
                    )
        if self.spec.aggregate == "weighted" and not self.rule.weights:
            raise ConfigError(
                "weighted jury: give each juror a `jurist meta` report (--weights, or "
                "`weights_from:` / `weight:` in the jury file)"
            )

    @property
    def in_flight(self) -> int:
        """Items judged at once: as many as the first juror's backend takes."""
        return self.seats[0].session.in_flight

    async def judge_item(self, item: Item, index: int) -> Judgment:
        if self.cascade:
            return await self._escalating(item, index)
        found = await asyncio.gather(*(s.session.judge_item(item, index) for s in self.seats))
        judgments = dict(zip((s.name for s in self.seats), found, strict=True))
        return combine_judgments(judgments, self.rubric, self.rule, self.name)

    async def _escalating(self, item: Item, index: int) -> Judgment:
        asked: dict[str, Judgment] = {}
        for seat in self.seats:
            judgment = await seat.session.judge_item(item, index)
            asked[seat.name] = judgment
            sure = confidence(judgment)
            threshold = seat.juror.escalate_below
            if threshold is not None and sure is not None and sure >= threshold:
                break
        return cascade_judgment(asked, self.name)

    async def ajudge(self, items: Iterable[ItemLike]) -> list[Judgment]:
        """Jury judgments in the order of `items` (Items or plain mappings)."""
        return await judge_all(self, items)

    def __call__(self, items: Iterable[ItemLike]) -> list[Judgment]:
        return asyncio.run(self.ajudge(items))

    async def aclose(self) -> None:
        """Close the root sessions (each closes only what it built)."""
        for root in self._roots.values():
            await root.aclose()


def juror_weights(spec: JurySpec) -> dict[str, dict[str, float]]:
    """Each juror's weights: from its `jurist meta` report, or its fixed `weight`."""
    weights: dict[str, dict[str, float]] = {}
    for juror in spec.jurors:
        if juror.weights_from is not None:
            weights[juror.name] = load_weights(juror.weights_from)
        elif juror.weight is not None:
            weights[juror.name] = {"*": juror.weight}
    return weights


def jury_spec(
    jury: str | None,
    judges: list[str],
    *,
    aggregate: str | None = None,
    weights: list[str] | None = None,
) -> JurySpec:
    """The jury a grading run names: a jury file (its aggregate and weights overridable
    from the command line) or repeated `--judge` specs. Unknown judges are refused here,
    before anything is written. Weights without an aggregation mean `weighted`."""
    if aggregate is None and weights:
        aggregate = "weighted"
    if aggregate is not None and aggregate not in AGGREGATES:
        raise ConfigError(f"--jury-aggregate: use one of {', '.join(AGGREGATES)}")
    if jury is not None:
        spec = load_jury(jury)
        update: dict[str, Any] = {}
        if aggregate is not None:
            update["aggregate"] = aggregate
        if weights:
            if len(weights) != len(spec.jurors):
                raise ConfigError(
                    f"--weights: {len(weights)} reports for {len(spec.jurors)} jurors"
                )
            update["jurors"] = [
                j.model_copy(update={"weights_from": w})
                for j, w in zip(spec.jurors, weights, strict=True)
            ]
        spec = JurySpec.model_validate({**spec.model_dump(), **update})
    else:
        spec = jury_from_judges(judges, aggregate=aggregate or "mean", weights=weights)
    for juror in spec.jurors:
        parse_judge_spec(juror.judge)
    juror_weights(spec)  # a missing or malformed report is refused now, not mid-run
    return spec
