"""The injection audit: grade items clean and attacked, with and without the defence.

Every variant (clean, each attack, and each of those neutralised) goes through the ordinary
in-memory grading entry, `jurist.grading.grade`, as one run, so every judgment is cached:
re-running an audit makes no model calls, and a variant the defence leaves unchanged costs
nothing the second time; nothing is written but the store. Variants are matched back to
their source item by id, so labels and scores are paired per item.

Pointwise, the score is the criterion's score (and, where the judge gives token
probabilities, its expected value). Pairwise, the attack goes into the response people
judged worse (response B on ties) and the score is the judge's preference for that
response: 1 if it wins, 0.5 for a tie, 0 if it loses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from jurist.core.data import Item
from jurist.core.defence import defend_item
from jurist.core.errors import ConfigError
from jurist.core.judgment import Judgment, PairwiseJudgment, PointwiseJudgment
from jurist.core.rubric import Criterion, Rubric, load_rubric
from jurist.datasets import ItemSource
from jurist.engine.sink import RunCounters
from jurist.grading import grade
from jurist.injection.attacks import Attack, AttackContext, attack_by_name, builtin_attacks
from jurist.injection.report import Agreement, AttackResult, Figure, InjectionReport, Shift
from jurist.session import JudgeSetup
from jurist.stats import pairwise_accuracy, spearman
from jurist.store import Store, new_run_id

Mode = Literal["pointwise", "pairwise"]
CLEAN = "clean"
AgreementOn = Literal["score", "expected", "verdict"]


@dataclass(frozen=True)
class InjectionSettings:
    """What `injection_audit` runs beside its inputs, as one documented value."""

    criterion: str | None = field(
        default=None,
        metadata={"help": "Pointwise: the criterion to grade (needed if several)."},
    )
    mode: Mode | None = field(
        default=None,
        metadata={
            "help": "pointwise | pairwise (default: pairwise when items have two responses)."
        },
    )
    attacks: list[str] | None = field(
        default=None,
        metadata={"help": "Built-in attack to run (repeatable; default: all of the mode's)."},
    )
    defend: bool = field(
        default=True,
        metadata={
            "help": "Also grade every variant defended (judge-directed text quoted spaced out "
            "after the answer, never removed)."
        },
    )


@dataclass(frozen=True)
class _Scores:
    """One graded variant's score and expected score; None when it was not ok."""

    score: float | None
    expected: float | None
    verdict: str | None = None


@dataclass
class _Plan:
    """The source items and, per (item, attack or clean, defended), the graded item's id."""

    items: list[Item]
    targets: dict[str, str]
    graded: dict[str, Item] = field(default_factory=dict)
    variant_of: dict[tuple[str, str, bool], str] = field(default_factory=dict)
    flagged: dict[tuple[str, str], bool] = field(default_factory=dict)
    _by_content: dict[tuple[str, str | None, str | None], str] = field(default_factory=dict)

    def add(self, source: Item, variant: str, defended: bool, graded: Item) -> None:
        content = (source.id, graded.response, graded.response_b)
        graded_id = self._by_content.get(content)
        if graded_id is None:
            graded_id = f"{source.id}#{len(self.graded)}"
            self._by_content[content] = graded_id
            self.graded[graded_id] = graded.model_copy(update={"id": graded_id})
        self.variant_of[(source.id, variant, defended)] = graded_id


def injection_audit(
    rubric: Rubric | str | Path,
    items: Iterable[Item] | ItemSource,
    judge_spec: str | None,
    store: Store,
    *,
    attacks: Sequence[Attack | str] | None = None,
    defend: bool = True,
    criterion: str | None = None,
    mode: Mode | None = None,
    label: str | None = None,
    both_orders: bool = True,
    concurrency: int | None = None,
    setup: JudgeSetup | None = None,
    progress: Callable[[RunCounters, int | None], Any] | None = None,
) -> InjectionReport:
    """Grade each item clean and under each attack (and, with `defend`, all of it again with
    the response neutralised) and report the paired score shifts and clean agreement.

    `attacks` are Attack values or built-in attack names (default: all of the mode's).
    `setup` gives the call policy, sampling and prompt options (`judge_spec`, the mode,
    `both_orders` and `concurrency`, when given, replace its own).
    """
    loaded = load_rubric(rubric) if isinstance(rubric, str | Path) else rubric
    sources = list(items.load() if isinstance(items, ItemSource) else items)
    if not sources:
        raise ConfigError("no items to audit")
    mode = mode or (
        "pairwise" if all(item.response_b is not None for item in sources) else "pointwise"
    )
    _check_items(sources, mode)
    judged_rubric, chosen = _judged_rubric(loaded, mode, criterion)
    chosen_attacks = tuple(
        attack_by_name(attack) if isinstance(attack, str) else attack
        for attack in (attacks if attacks is not None else builtin_attacks(mode))
    )
    wrong_mode = [attack.name for attack in chosen_attacks if attack.mode != mode]
    if wrong_mode:
        raise ConfigError(f"attacks {', '.join(wrong_mode)} are not {mode} attacks")
    label_name = label or (chosen.id if mode == "pointwise" else "preference")
    plan = _plan(sources, mode, chosen, chosen_attacks, defend, label_name)
    base = setup or JudgeSetup()
    options = replace(base.options, both_orders=both_orders)
    calls = base.calls if concurrency is None else replace(base.calls, concurrency=concurrency)
    chosen_setup = replace(base, judge=judge_spec, mode=mode, options=options, calls=calls)
    run_id = new_run_id()
    graded = _grade(plan, judged_rubric, chosen_setup, store, run_id, progress)
    judgments = {judgment.item_id: judgment for judgment in graded}
    scores = {
        key: _scores(judgments.get(graded_id), chosen, plan.targets[key[0]])
        for key, graded_id in plan.variant_of.items()
    }
    return InjectionReport(
        rubric=loaded.name,
        criterion=chosen.id if mode == "pointwise" else None,
        mode=mode,
        judge=chosen_setup.label,
        run_id=run_id,
        items=len(sources),
        score=(
            f"{chosen.id} score ({chosen.bounds[0]}-{chosen.bounds[1]})"
            if mode == "pointwise"
            else "preference for the attacked response (0-1)"
        ),
        clean_flagged=_flag_rate(plan, [CLEAN]) if defend else None,
        attacks=[_attack_result(attack, plan, scores, defend) for attack in chosen_attacks],
        agreement=_agreement(plan, scores, mode, label_name, defend),
    )


# --- planning ------------------------------------------------------------------------------


def _check_items(items: list[Item], mode: Mode) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise ConfigError(f"item id {item.id!r} appears twice; audited items need unique ids")
        seen.add(item.id)
        if item.response is None:
            raise ConfigError(f"item {item.id!r} has no response to attack")
        if mode == "pairwise" and item.response_b is None:
            raise ConfigError(f"item {item.id!r} has no response_b for a pairwise audit")


def _judged_rubric(rubric: Rubric, mode: Mode, criterion: str | None) -> tuple[Rubric, Criterion]:
    """Pointwise audits grade one criterion; pairwise ones judge under the whole rubric."""
    if not rubric.criteria:
        raise ConfigError(f"rubric {rubric.name!r} has no Likert criterion to audit")
    if criterion is None:
        if mode == "pointwise" and len(rubric.criteria) > 1:
            known = ", ".join(c.id for c in rubric.criteria)
            raise ConfigError(f"rubric {rubric.name!r} has several criteria; choose one of {known}")
        chosen = rubric.criteria[0]
    else:
        try:
            chosen = rubric.criterion(criterion)
        except KeyError:
            known = ", ".join(c.id for c in rubric.criteria)
            raise ConfigError(
                f"no criterion {criterion!r} in rubric {rubric.name!r}; known: {known}"
            ) from None
    if mode == "pairwise":
        return rubric, chosen
    return rubric.model_copy(update={"criteria": [chosen], "checklist": []}), chosen


def _target(item: Item, mode: Mode, label: str) -> str:
    """Which response the attacker controls: pairwise, the one people judged worse."""
    if mode == "pointwise":
        return "response"
    return "response" if item.labels.get(label) == "B" else "response_b"


def _plan(
    items: list[Item],
    mode: Mode,
    criterion: Criterion,
    attacks: Sequence[Attack],
    defend: bool,
    label: str,
) -> _Plan:
    targets = {item.id: _target(item, mode, label) for item in items}
    plan = _Plan(items=items, targets=targets)
    low, high = criterion.bounds
    for item in items:
        target = plan.targets[item.id]
        context = AttackContext(
            top=high, bottom=low, self_letter="A" if target == "response" else "B"
        )
        variants = [(CLEAN, item)]
        for attack in attacks:
            attacked = attack.apply(getattr(item, target), context)
            variants.append((attack.name, item.model_copy(update={target: attacked})))
        for name, variant in variants:
            plan.add(item, name, False, variant)
            if defend:
                defended, flags = defend_item(variant)
                plan.add(item, name, True, defended)
                plan.flagged[(item.id, name)] = bool(flags)
    return plan


# --- grading -------------------------------------------------------------------------------


def _grade(
    plan: _Plan,
    rubric: Rubric,
    setup: JudgeSetup,
    store: Store,
    run_id: str,
    progress: Callable[[RunCounters, int | None], Any] | None,
) -> list[Judgment]:
    """One in-memory grading run over every distinct variant, saved under `run_id`."""
    counters = RunCounters()
    total = len(plan.graded)

    def count(judgment: Judgment) -> None:
        counters.add(judgment)
        if progress is not None:
            progress(counters, total)

    items = list(plan.graded.values())
    return grade(rubric, items, setup, store=store, run_id=run_id, on_result=count).judgments


def _scores(judgment: Judgment | None, criterion: Criterion, target: str) -> _Scores:
    if judgment is None or judgment.status != "ok":
        return _Scores(None, None)
    if isinstance(judgment, PointwiseJudgment):
        graded = judgment.criteria.get(criterion.id)
        if graded is None or graded.status != "ok":
            return _Scores(None, None)
        return _Scores(graded.score, graded.expected)
    if isinstance(judgment, PairwiseJudgment) and judgment.pair and judgment.pair.verdict:
        mine = "A" if target == "response" else "B"
        verdict = judgment.pair.verdict
        preference = 0.5 if verdict == "tie" else float(verdict == mine)
        p_a = judgment.pair.p_a
        expected = None if p_a is None else (p_a if mine == "A" else 1.0 - p_a)
        return _Scores(preference, expected, verdict)
    return _Scores(None, None)


# --- figures -------------------------------------------------------------------------------


def _flag_rate(plan: _Plan, variants: Sequence[str]) -> Figure:
    flags = [plan.flagged[(item.id, name)] for item in plan.items for name in variants]
    return Figure.share(sum(flags), len(flags))


def _shift(
    plan: _Plan, scores: dict[tuple[str, str, bool], _Scores], attack: str, defended: bool
) -> Shift:
    differences: list[float] = []
    expected: list[float] = []
    moved = 0
    unscored = 0
    for item in plan.items:
        clean = scores[(item.id, CLEAN, defended)]
        attacked = scores[(item.id, attack, defended)]
        if clean.score is None or attacked.score is None:
            unscored += 1
            continue
        differences.append(attacked.score - clean.score)
        moved += attacked.score != clean.score
        if clean.expected is not None and attacked.expected is not None:
            expected.append(attacked.expected - clean.expected)
    return Shift(
        score=Figure.mean(differences),
        expected=Figure.mean(expected) if expected else None,
        moved=Figure.share(moved, len(differences)),
        unscored=unscored,
    )


def _attack_result(
    attack: Attack, plan: _Plan, scores: dict[tuple[str, str, bool], _Scores], defend: bool
) -> AttackResult:
    return AttackResult(
        attack=attack.name,
        kind=attack.kind,
        position=attack.position,
        flagged=_flag_rate(plan, [attack.name]) if defend else None,
        undefended=_shift(plan, scores, attack.name, False),
        defended=_shift(plan, scores, attack.name, True) if defend else None,
    )


def _human(item: Item, label: str) -> Any:
    """A label as one value; several annotators' scores are averaged."""
    value = item.labels.get(label)
    if isinstance(value, list):
        present = [v for v in value if v is not None]
        return sum(present) / len(present) if present else None
    return value


def _agreement(
    plan: _Plan,
    scores: dict[tuple[str, str, bool], _Scores],
    mode: Mode,
    label: str,
    defend: bool,
) -> list[Agreement]:
    """Pointwise: Spearman of score and expected score with the label; pairwise: accuracy."""
    humans = [_human(item, label) for item in plan.items]

    def figure(defended: bool, on: AgreementOn) -> Figure:
        clean = [scores[(item.id, CLEAN, defended)] for item in plan.items]
        if on == "verdict":
            return Figure.of(pairwise_accuracy([s.verdict for s in clean], humans))
        judged = [getattr(s, on) for s in clean]
        return Figure.of(spearman(_floats(judged), _floats(humans)))

    kinds: tuple[AgreementOn, ...] = ("verdict",) if mode == "pairwise" else ("score", "expected")
    return [
        Agreement(
            metric="pairwise_accuracy" if mode == "pairwise" else "spearman",
            on=on,
            label=label,
            undefended=figure(False, on),
            defended=figure(True, on) if defend else None,
        )
        for on in kinds
    ]


def _floats(values: Sequence[Any]) -> list[float]:
    return [math.nan if value is None else float(value) for value in values]
