"""A jury at work: every juror's judge behind a layered stack (cache, retries, adaptive
limits), asked about each item, and the answers combined.

All jurors are asked at once, or, for a cascade, one after another until one is confident
enough. Jurors that name the same backend share it and its stack (one model in memory, one
limiter that sees all their requests); their cache entries stay apart because their
prompts or sampling differ.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jurist.backends import Backend, CallStats, layered, make_backend, parse_judge_spec
from jurist.backends.stack import client_timeout
from jurist.core.data import Item
from jurist.core.errors import ConfigError
from jurist.judges import Judge, JudgeOptions, answering, make_judge
from jurist.judges.answering import SamplingOptions
from jurist.session import ItemLike, _as_item
from jurist.core.judgment import Judgment
from jurist.jury.combine import (
    JuryRule,
    cascade_judgment,
    combine_judgments,
    confidence,
    jury_name,
)
from jurist.jury.spec import AGGREGATES, Juror, JurySpec, jury_from_judges, load_jury
from jurist.jury.weights import load_weights
from jurist.core.rubric import Rubric, load_rubric
from jurist.engine.local import RunCounters, Runner, RunOptions
from jurist.store import Store


@dataclass(frozen=True)
class Seat:
    """One juror ready to judge: its judge, its layered backend and its sampling."""

    juror: Juror
    judge: Judge
    backend: Backend
    raw: Backend
    sampling: SamplingOptions

    @property
    def name(self) -> str:
        return self.juror.name


class JuryPanel:
    """Judges items with every juror of `spec` and combines their judgments."""

    def __init__(
        self,
        spec: JurySpec,
        rubric: Rubric | str | Path,
        *,
        mode: str = "pointwise",
        store: Store | None = None,
        options: JudgeOptions | None = None,
        run: RunOptions | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        logprobs: bool | None = None,
        backends: Mapping[str, Backend] | None = None,
        stats: CallStats | None = None,
    ) -> None:
        """`backends` gives a juror (by name) a ready backend instead of its `judge` spec."""
        if mode not in ("pointwise", "pairwise"):
            raise ConfigError(f"a jury judges pointwise or pairwise, not {mode}")
        self.spec = spec
        self.mode = mode
        self.rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
        self.store = store
        self.stats = stats if stats is not None else CallStats()
        options = options or JudgeOptions()
        run = run or RunOptions()
        given = dict(backends or {})
        # One backend and one stack per distinct backend: its limiter then sees every
        # request queued at that model, whichever juror sent it.
        shared: dict[str, tuple[Backend, Backend]] = {}
        self.seats: list[Seat] = []
        for juror in spec.jurors:
            key = f"name:{juror.name}" if juror.name in given else f"judge:{juror.judge or 'local'}"
            if key not in shared:
                raw = given.get(juror.name) or make_backend(
                    juror.judge,
                    api_key_env=api_key_env,
                    timeout=client_timeout(run.calls),
                    logprobs=logprobs,
                )
                shared[key] = (raw, layered(raw, store, run.calls, stats=self.stats))
            self.seats.append(self._seat(juror, *shared[key], options, run))
        self._owned = [raw for key, (raw, _) in shared.items() if key.startswith("judge:")]
        self.cascade = spec.aggregate == "cascade"
        self.rule = JuryRule(
            method="mean" if self.cascade else spec.aggregate,  # type: ignore[arg-type]
            trim=spec.trim,
            weights=juror_weights(spec),
            disagreement=spec.disagreement,
        )
        self.name = jury_name(spec.aggregate, spec.names)
        self._check()

    def _seat(
        self, juror: Juror, raw: Backend, backend: Backend, options: JudgeOptions, run: RunOptions
    ) -> Seat:
        rubric = self.rubric
        if juror.rubric is not None:
            rubric = load_rubric(juror.rubric)
            if [c.id for c in rubric.criteria] != [c.id for c in self.rubric.criteria]:
                raise ConfigError(
                    f"juror {juror.name!r}: rubric {juror.rubric} must phrase the same criteria "
                    f"({', '.join(c.id for c in self.rubric.criteria)}), in the same order"
                )
        overrides = {
            name: getattr(juror, name)
            for name in ("temperature", "seed", "rationale", "max_tokens")
            if getattr(juror, name) is not None
        }
        judge = make_judge(self.mode, rubric, replace(options, **overrides))
        sampling = SamplingOptions(
            juror.samples or run.samples, run.sample_temperature, run.parse_retries
        )
        return Seat(juror, judge, backend, raw, sampling)

    def _check(self) -> None:
        if self.cascade:
            for seat in self.seats[:-1]:
                if seat.juror.escalate_below is None:
                    raise ConfigError(
                        f"cascade: juror {seat.name!r} needs `escalate_below` (a confidence "
                        "threshold; calibrate one with jurist.jury.calibrate_thresholds)"
                    )
        if self.spec.aggregate == "weighted" and not self.rule.weights:
            raise ConfigError(
                "weighted jury: give each juror a `jurist meta` report (--weights, or "
                "`weights_from:` / `weight:` in the jury file)"
            )

    async def judge_item(self, item: Item, index: int) -> Judgment:
        if self.cascade:
            return await self._escalating(item, index)
        found = await asyncio.gather(
            *(answering.judge_item(s.backend, s.judge, item, index, s.sampling) for s in self.seats)
        )
        judgments = dict(zip((s.name for s in self.seats), found, strict=True))
        return combine_judgments(judgments, self.rubric, self.rule, self.name)

    async def _escalating(self, item: Item, index: int) -> Judgment:
        asked: dict[str, Judgment] = {}
        for seat in self.seats:
            judgment = await answering.judge_item(
                seat.backend, seat.judge, item, index, seat.sampling
            )
            asked[seat.name] = judgment
            sure = confidence(judgment)
            threshold = seat.juror.escalate_below
            if threshold is not None and sure is not None and sure >= threshold:
                break
        return cascade_judgment(asked, self.name)

    async def ajudge(self, items: Iterable[ItemLike]) -> list[Judgment]:
        """Jury judgments in the order of `items` (Items or plain mappings)."""
        found: dict[int, Judgment] = {}
        runner = JuryRunner(self, None, on_result=lambda j: found.__setitem__(j.index, j))
        await runner.run(_as_item(item, index) for index, item in enumerate(items))
        return [found[index] for index in sorted(found)]

    def __call__(self, items: Iterable[ItemLike]) -> list[Judgment]:
        return asyncio.run(self.ajudge(items))

    async def aclose(self) -> None:
        for backend in self._owned:
            await backend.aclose()


def juror_weights(spec: JurySpec) -> dict[str, dict[str, float]]:
    """Each juror's weights: from its `jurist meta` report, or its fixed `weight`."""
    weights: dict[str, dict[str, float]] = {}
    for juror in spec.jurors:
        if juror.weights_from is not None:
            weights[juror.name] = load_weights(juror.weights_from)
        elif juror.weight is not None:
            weights[juror.name] = {"*": juror.weight}
    return weights


class JuryRunner(Runner):
    """The grading runner with a jury in the judge's seat: same queue, streaming and
    counters; each item goes to the whole panel."""

    def __init__(
        self,
        panel: JuryPanel,
        store: Store | None,
        options: RunOptions | None = None,
        *,
        on_result: Callable[[Judgment], None] | None = None,
    ) -> None:
        first = panel.seats[0]
        super().__init__(first.raw, first.judge, store, options, on_result=on_result, layer=False)
        self.panel = panel
        if isinstance(panel.stats, RunCounters):
            self.counters = panel.stats  # the panel's layers count into the progress display

    async def judge_item(self, item: Item, index: int) -> Judgment:
        return await self.panel.judge_item(item, index)

    async def aclose(self) -> None:
        await self.panel.aclose()


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


def grading_runner(
    spec: JurySpec,
    rubric: Rubric,
    mode: str,
    store: Store,
    options: JudgeOptions,
    run: RunOptions,
    *,
    api_key_env: str,
    logprobs: bool | None,
    on_result: Callable[[Judgment], None],
) -> JuryRunner:
    """The runner a jury grading run uses; close it with `aclose`."""
    panel = JuryPanel(
        spec,
        rubric,
        mode=mode,
        store=store,
        options=options,
        run=run,
        api_key_env=api_key_env,
        logprobs=logprobs,
        stats=RunCounters(),
    )
    return JuryRunner(panel, store, run, on_result=on_result)
