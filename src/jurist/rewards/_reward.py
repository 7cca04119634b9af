"""Reward functions for RL trainers, in the shape TRL's `GRPOTrainer(reward_funcs=...)`
calls them: `f(prompts=..., completions=..., **columns) -> list[float | None]`.

Every completion is judged through the layered stack, so a completion judged before costs
nothing, failed calls are retried and requests run concurrently. A completion the judge
could not score gets None, which the trainer leaves out of its sums, and a batch where too
many got None raises: a broken judge must stop training, not quietly steer it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jurist.backends import Backend
from jurist.core.data import Item
from jurist.core.errors import BackendError, ConfigError, InputError
from jurist.core.judgment import Judgment, Status
from jurist.core.rubric import Rubric, load_rubric
from jurist.rewards._aggregate import (
    Aggregation,
    Explicit,
    Implicit,
    OnePart,
    Part,
    first_error,
    part_weights,
    resolve_part,
)
from jurist.rewards._engine import RewardJudge
from jurist.rewards._instances import row_rubric
from jurist.rewards._length import LengthPenalty
from jurist.rewards._log import RewardStep, mean_of, pass_rates
from jurist.rewards._samples import WHERE, completion_lengths, items_from

Work = list[tuple[str, Rubric, Item]]


class JudgeFailures(BackendError):
    """More completions in one batch went unscored than `max_failure_rate` allows."""

    def __init__(self, name: str, step: RewardStep, limit: float, example: str | None) -> None:
        message = (
            f"reward {name!r}: the judge scored no reward for {step.failures} of "
            f"{step.samples} completions ({step.failed} failed, {step.parse_errors} "
            f"unparseable), above max_failure_rate {limit:g}"
        )
        if example:
            message += f"; first error: {example}"
        super().__init__(message, retryable=False)
        self.step = step


class _RewardBase:
    """What the synchronous and the async reward share: turning a trainer's batch into
    judge work before the call, and judgments into rewards and logs after it."""

    def __init__(
        self,
        rubric: Rubric | str | Path | None = None,
        *,
        aggregation: Aggregation | None = None,
        judge: RewardJudge | str | Backend | None = None,
        rubric_column: str | None = None,
        reference_column: str | None = None,
        length_penalty: LengthPenalty | None = None,
        max_failure_rate: float = 0.25,
        name: str = "rubric_reward",
    ) -> None:
        if (rubric is None) == (rubric_column is None):
            raise ConfigError("a reward needs either a rubric or a rubric_column, not both")
        if not 0.0 <= max_failure_rate <= 1.0:
            raise ConfigError(f"max_failure_rate must be in [0, 1], not {max_failure_rate}")
        self.rubric = (
            rubric if isinstance(rubric, Rubric) or rubric is None else load_rubric(rubric)
        )
        self.aggregation: Aggregation = aggregation or Explicit()
        self._owns_judge = not isinstance(judge, RewardJudge)
        self.judge = judge if isinstance(judge, RewardJudge) else RewardJudge(judge)
        self.rubric_column = rubric_column
        self.reference_column = reference_column
        self.length_penalty = length_penalty
        self.max_failure_rate = max_failure_rate
        # TRL names a reward's metrics (`rewards/<name>/mean`) after `__name__`.
        self.__name__ = name
        self.history: list[RewardStep] = []
        self._judged: dict[str, tuple[str, Rubric]] = {}
        if self.rubric is not None:
            self._judged_rubric(self.rubric)

    @property
    def last(self) -> RewardStep | None:
        return self.history[-1] if self.history else None

    def _judged_rubric(self, rubric: Rubric) -> tuple[str, Rubric]:
        """(mode, rubric as judged) for a row's rubric, checked once per distinct rubric."""
        found = self._judged.get(rubric.content_hash)
        if found is None:
            mode, judged = self.aggregation.judged(rubric)
            self.judge.check(mode, judged)
            found = self._judged[rubric.content_hash] = (mode, judged)
        return found

    def _column(self, kwargs: dict[str, Any], column: str, rows: int) -> Sequence[Any]:
        if column not in kwargs:
            given = ", ".join(sorted(k for k in kwargs if not k.startswith(("log_", "trainer_"))))
            raise InputError(WHERE, field=column, problem=f"no such column (columns: {given})")
        values = kwargs[column]
        if len(values) != rows:
            problem = f"{len(values)} values for {rows} completions"
            raise InputError(WHERE, field=column, problem=problem)
        return values

    def _prepare(
        self, prompts: Sequence[Any], completions: Sequence[Any], kwargs: dict[str, Any]
    ) -> Work:
        rows = len(completions)
        references = (
            self._column(kwargs, self.reference_column, rows) if self.reference_column else None
        )
        items = items_from(prompts, completions, references)
        if self.rubric_column is None:
            assert self.rubric is not None
            rubrics = [self.rubric] * rows
        else:
            cells = self._column(kwargs, self.rubric_column, rows)
            rubrics = [row_rubric(cell, self.rubric_column, row) for row, cell in enumerate(cells)]
        work: Work = []
        for rubric, item in zip(rubrics, items, strict=True):
            try:
                mode, judged = self._judged_rubric(rubric)
            except ConfigError as error:
                field = self.rubric_column or "rubric"
                raise InputError(WHERE, int(item.id), field, str(error)) from None
            work.append((mode, judged, item))
        return work

    def _finish(
        self,
        work: Work,
        judgments: Sequence[Judgment],
        completions: Sequence[Any],
        kwargs: dict[str, Any],
    ) -> list[float | None]:
        outcomes = [
            self.aggregation.outcome(judgment, rubric)
            for judgment, (_, rubric, _) in zip(judgments, work, strict=True)
        ]
        values = [value for _, value in outcomes]
        rewards = list(values)
        penalties: list[float] | None = None
        if self.length_penalty is not None:
            lengths = completion_lengths(
                completions, kwargs.get("completion_ids"), self.length_penalty.unit
            )
            penalties = [self.length_penalty.penalty(n) for n in lengths]
            rewards = [None if v is None else v - p for v, p in zip(values, penalties, strict=True)]
        step = self._step(work, judgments, outcomes, rewards, penalties, kwargs)
        self.history.append(step)
        log_metric: Callable[[str, float], None] | None = kwargs.get("log_metric")
        if callable(log_metric):
            for metric, value in step.metrics(self.__name__).items():
                log_metric(metric, value)
        if step.failure_rate > self.max_failure_rate:
            unscored = [
                j for j, (status, _) in zip(judgments, outcomes, strict=True) if status != "ok"
            ]
            example = first_error(unscored[0]) if unscored else None
            raise JudgeFailures(self.__name__, step, self.max_failure_rate, example)
        return rewards

    def _step(
        self,
        work: Work,
        judgments: Sequence[Judgment],
        outcomes: Sequence[tuple[Status, float | None]],
        rewards: Sequence[float | None],
        penalties: Sequence[float] | None,
        kwargs: dict[str, Any],
    ) -> RewardStep:
        statuses = [status for status, _ in outcomes]
        passes = [
            self.aggregation.passes(judgment, rubric)
            for judgment, (_, rubric, _) in zip(judgments, work, strict=True)
        ]
        state = kwargs.get("trainer_state")
        step = getattr(state, "global_step", None)
        return RewardStep(
            step=step if isinstance(step, int) else None,
            samples=len(outcomes),
            failed=statuses.count("failed"),
            parse_errors=statuses.count("parse_error"),
            mean_reward=mean_of(rewards),
            mean_unpenalised=mean_of([value for _, value in outcomes]),
            mean_penalty=mean_of(list(penalties)) if penalties is not None else None,
            pass_rates=pass_rates(passes, by_part=self.rubric is not None),
            rewards=tuple(rewards),
            penalties=tuple(penalties or ()),
            judge_calls=sum(j.calls for j in judgments),
            cache_hits=sum(j.cache_hits for j in judgments),
        )

    def close(self) -> None:
        """Release the judge (its model or connections) unless it was handed in shared."""
        if self._owns_judge:
            self.judge.close()


class RubricReward(_RewardBase):
    """A synchronous reward function: `reward(prompts=..., completions=..., **columns)`."""

    def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        work = self._prepare(prompts, completions, kwargs)
        judgments = self.judge.call(self.judge.judge(work))
        return self._finish(work, judgments, completions, kwargs)

    def __enter__(self) -> RubricReward:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncRubricReward(_RewardBase):
    """The same reward as a coroutine function: TRL gathers async reward functions on one
    event loop, so several judges (or several criteria) are asked at the same time."""

    async def __call__(
        self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        work = self._prepare(prompts, completions, kwargs)
        judgments = await self.judge.acall(self.judge.judge(work))
        return self._finish(work, judgments, completions, kwargs)

    def __enter__(self) -> AsyncRubricReward:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


Reward = RubricReward | AsyncRubricReward


def _reward(
    asynchronous: bool, rubric: Any, aggregation: Aggregation, options: dict[str, Any]
) -> Reward:
    kind = AsyncRubricReward if asynchronous else RubricReward
    return kind(rubric, aggregation=aggregation, **options)


def explicit_reward(
    rubric: Rubric | str | Path | None = None,
    *,
    part: Part | None = None,
    use_probabilities: bool = True,
    asynchronous: bool = False,
    **options: Any,
) -> Reward:
    """r = sum_i w_i c_i / sum_{w_i > 0} w_i over the checklist (c_i = P(yes) where the
    backend gives probabilities), or the weighted mean of normalised Likert scores for a
    rubric of criteria. Takes RubricReward's keyword options (judge, rubric_column,
    reference_column, length_penalty, max_failure_rate, name)."""
    options.setdefault("name", "explicit_reward")
    return _reward(asynchronous, rubric, Explicit(part, use_probabilities), options)


def implicit_reward(
    rubric: Rubric | str | Path | None = None,
    *,
    scale: tuple[int, int] = (1, 9),
    use_probabilities: bool = True,
    asynchronous: bool = False,
    **options: Any,
) -> Reward:
    """One holistic Likert score on `scale` from a judge that sees every criterion at
    once, mapped onto [0, 1]. Takes RubricReward's keyword options."""
    options.setdefault("name", "implicit_reward")
    return _reward(asynchronous, rubric, Implicit(scale, use_probabilities), options)


@dataclass(frozen=True)
class CriterionRewards:
    """One reward function per checklist item (or criterion) and the weights to give them:
    `GRPOTrainer(reward_funcs=r.functions, args=GRPOConfig(reward_weights=r.weights))`.
    The weighted sum equals the explicit reward; a part the judge failed on is None, which
    the trainer's weighted sum counts as 0 (the explicit reward gives None instead)."""

    functions: list[Reward]
    weights: list[float]
    judge: RewardJudge

    def close(self) -> None:
        self.judge.close()


def criterion_rewards(
    rubric: Rubric | str | Path,
    *,
    part: Part | None = None,
    use_probabilities: bool = True,
    asynchronous: bool = False,
    judge: RewardJudge | str | Backend | None = None,
    prefix: str = "criterion_",
    **options: Any,
) -> CriterionRewards:
    """Per-criterion rewards sharing one judge: the first function judges a batch, the
    others read the same answers from the cache. Takes RubricReward's keyword options
    except rubric_column and length_penalty (one rubric, one penalty for the whole sum)."""
    for refused in ("rubric_column", "length_penalty", "aggregation", "name"):
        if options.get(refused) is not None:
            raise ConfigError(f"criterion_rewards does not take {refused}")
    rubric = rubric if isinstance(rubric, Rubric) else load_rubric(rubric)
    chosen = resolve_part(rubric, part)
    shared = judge if isinstance(judge, RewardJudge) else RewardJudge(judge)
    weights = part_weights(rubric, chosen)
    functions = [
        _reward(
            asynchronous,
            rubric,
            OnePart(part_id, chosen, use_probabilities),
            {**options, "judge": shared, "name": f"{prefix}{part_id}"},
        )
        for part_id in weights
    ]
    return CriterionRewards(functions, list(weights.values()), shared)
