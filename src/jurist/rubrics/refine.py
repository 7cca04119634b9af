"""Refine a rubric from how it actually scored: split what separates nothing, drop what
disagrees with people or repeats another criterion, and re-weight what is correlated.

The filters are pure functions on score arrays (NaN marks a score that could not be
obtained and is ignored, never counted as a value). `refine_rubric` is the only part that
calls a model, and it grades through an injected `grade_fn`, so this module does not depend
on the grading engine.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from jurist.backends.base import Backend
from jurist.core.data import Item
from jurist.core.rubric import ChecklistItem, Criterion, Rubric, RubricError, rubric_from_dict
from jurist.prompts import render
from jurist.rubrics.answers import (
    AnswerError,
    RubricRequest,
    criterion_from_answer,
    criterion_schema,
    finish_rubric,
    scale_points,
)
from jurist.rubrics.contrastive import preference_label
from jurist.rubrics.lint import Finding
from jurist.rubrics.weighting import correlation_aware_weights

GradeFn = Callable[[Rubric, Sequence[Item]], Awaitable[Mapping[str, np.ndarray]]]
Embed = Callable[[list[str]], np.ndarray]


# --- filters ----------------------------------------------------------------------------


class LowVariance(BaseModel):
    """A criterion whose scores barely differ between responses."""

    id: str
    n: int
    std: float
    tie_rate: float

    @property
    def reason(self) -> str:
        return (
            f"scores barely vary over {self.n} responses (std {self.std:.3f}; two responses "
            f"tie {self.tie_rate:.0%} of the time)"
        )


def _present(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    return values[~np.isnan(values)]


def tie_rate(values: np.ndarray) -> float:
    """The chance that two different responses get the same score."""
    scored = _present(values)
    n = len(scored)
    if n < 2:
        return math.nan
    counts = np.array(list(Counter(scored.tolist()).values()), dtype=float)
    return float((counts * (counts - 1)).sum() / (n * (n - 1)))


def low_variance_criteria(
    scores: Mapping[str, np.ndarray],
    *,
    min_std: float = 0.1,
    max_tie_rate: float = 0.8,
    min_n: int = 2,
) -> list[LowVariance]:
    """Criteria that fail to separate responses: std below `min_std` or ties above
    `max_tie_rate`. Pass scores on one scale (e.g. normalised to [0, 1], where the default
    `min_std` is a tenth of the scale); criteria with fewer than `min_n` scores are not
    judged."""
    flagged = []
    for criterion_id, values in scores.items():
        scored = _present(values)
        if len(scored) < min_n:
            continue
        std = float(scored.std(ddof=1)) if len(scored) > 1 else 0.0
        ties = tie_rate(scored)
        if std < min_std or ties > max_tie_rate:
            flagged.append(LowVariance(id=criterion_id, n=len(scored), std=std, tie_rate=ties))
    return flagged


class Alignment(BaseModel):
    """How often a criterion's scores side with the human preference on labelled pairs."""

    id: str
    agree: int
    disagree: int
    ties: int
    missing: int

    @property
    def decided(self) -> int:
        return self.agree + self.disagree

    @property
    def agreement(self) -> float | None:
        return self.agree / self.decided if self.decided else None

    @property
    def reason(self) -> str:
        return (
            f"scored the rejected response higher in {self.disagree} of {self.decided} decided "
            f"pairs (preferred higher in {self.agree}; {self.ties} ties, {self.missing} unscored)"
        )


def alignment(pref_scores: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, Alignment]:
    """Per criterion: pairs where the preferred response scored higher, lower, the same, or
    where either score is missing."""
    result = {}
    for criterion_id, (preferred, rejected) in pref_scores.items():
        chosen = np.asarray(preferred, dtype=float)
        other = np.asarray(rejected, dtype=float)
        if chosen.shape != other.shape:
            raise ValueError(f"{criterion_id}: {chosen.shape} preferred vs {other.shape} rejected")
        both = ~np.isnan(chosen) & ~np.isnan(other)
        result[criterion_id] = Alignment(
            id=criterion_id,
            agree=int((chosen[both] > other[both]).sum()),
            disagree=int((chosen[both] < other[both]).sum()),
            ties=int((chosen[both] == other[both]).sum()),
            missing=int((~both).sum()),
        )
    return result


def misaligned_criteria(
    pref_scores: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    min_n: int = 10,
    threshold: float = 0.5,
) -> list[Alignment]:
    """Criteria that side with the rejected response: agreement below `threshold` over at
    least `min_n` decided (non-tied, scored) pairs. Fewer pairs are not evidence either way."""
    return [
        entry
        for entry in alignment(pref_scores).values()
        if entry.decided >= min_n and entry.agreement is not None and entry.agreement < threshold
    ]


class Redundant(BaseModel):
    """A criterion that repeats one kept before it."""

    id: str
    duplicate_of: str
    similarity: float
    basis: Literal["text", "scores"]

    @property
    def reason(self) -> str:
        what = "wording is" if self.basis == "text" else "scores correlate"
        return f"{what} {self.similarity:.2f} similar to {self.duplicate_of!r}"


def _keep_first(
    order: Sequence[str],
    similarity: Callable[[str, str], float],
    threshold: float,
    basis: Literal["text", "scores"],
) -> list[Redundant]:
    kept: list[str] = []
    dropped = []
    for candidate in order:
        best = max(((similarity(candidate, k), k) for k in kept), default=(math.nan, ""))
        if not math.isnan(best[0]) and best[0] >= threshold:
            dropped.append(
                Redundant(id=candidate, duplicate_of=best[1], similarity=best[0], basis=basis)
            )
        else:
            kept.append(candidate)
    return dropped


def redundant_by_text(
    texts: Mapping[str, str], embed: Embed, threshold: float = 0.9
) -> list[Redundant]:
    """Criteria whose wording is at least `threshold` cosine-similar to an earlier one; the
    earlier one is kept."""
    ids = list(texts)
    if len(ids) < 2:
        return []
    vectors = np.asarray(embed([texts[i] for i in ids]), dtype=float)
    vectors /= np.where((norms := np.linalg.norm(vectors, axis=1, keepdims=True)) > 0, norms, 1)
    position = {criterion_id: index for index, criterion_id in enumerate(ids)}
    matrix = vectors @ vectors.T
    return _keep_first(ids, lambda a, b: float(matrix[position[a], position[b]]), threshold, "text")


def _correlation(left: np.ndarray, right: np.ndarray, method: str, min_n: int) -> float:
    both = ~np.isnan(left) & ~np.isnan(right)
    if both.sum() < min_n:
        return math.nan
    a, b = left[both], right[both]
    if method == "spearman":
        from scipy.stats import rankdata

        a, b = rankdata(a), rankdata(b)
    if a.std() == 0 or b.std() == 0:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def redundant_by_scores(
    scores: Mapping[str, np.ndarray],
    threshold: float = 0.9,
    *,
    method: Literal["spearman", "pearson"] = "spearman",
    prefer: Mapping[str, float | None] | None = None,
    min_n: int = 5,
) -> list[Redundant]:
    """Criteria whose scores correlate at least `threshold` with a kept one (over the items
    both scored, at least `min_n`). The first is kept, or, given `prefer` (e.g. agreement
    with human preferences), the higher-preferred one. Only positive correlation counts: a
    criterion that runs opposite to another is a different problem (see lint)."""
    columns = {key: np.asarray(value, dtype=float) for key, value in scores.items()}
    order = list(columns)
    if prefer:
        rank = {key: value for key, value in prefer.items() if value is not None}
        order.sort(key=lambda key: -rank.get(key, -math.inf))  # stable: ties keep order
    return _keep_first(
        order,
        lambda a, b: _correlation(columns[a], columns[b], method, min_n),
        threshold,
        "scores",
    )


# --- report and applying it -------------------------------------------------------------


class Split(BaseModel):
    parent: str
    children: list[Criterion]
    reason: str
    repairs: list[str] = Field(default_factory=list)


class Drop(BaseModel):
    id: str
    reason: str


class Reweight(BaseModel):
    id: str
    old: float
    new: float
    reason: str


class Rejection(BaseModel):
    """A decomposition that was asked for and not used, with the reason."""

    id: str
    reason: str
    raw: str | None = None
    findings: list[Finding] = Field(default_factory=list)


class RefineReport(BaseModel):
    """What refinement changed and why; `apply_refinement` replays it on the original."""

    splits: list[Split] = Field(default_factory=list)
    drops: list[Drop] = Field(default_factory=list)
    reweights: list[Reweight] = Field(default_factory=list)
    rejected: list[Rejection] = Field(default_factory=list)
    # Checks that were not made, and why (too few pairs, no embedding model): an unchanged
    # criterion was not necessarily found sound.
    notes: list[str] = Field(default_factory=list)
    rounds: int = 0

    def merged(self, other: RefineReport) -> RefineReport:
        return RefineReport(
            splits=[*self.splits, *other.splits],
            drops=[*self.drops, *other.drops],
            reweights=[*self.reweights, *other.reweights],
            rejected=[*self.rejected, *other.rejected],
            notes=[*self.notes, *other.notes],
            rounds=self.rounds + other.rounds,
        )

    def lines(self) -> list[str]:
        """One line per change, for a log or a report."""
        out = [
            f"split {s.parent} -> {', '.join(c.id for c in s.children)}: {s.reason}"
            for s in self.splits
        ]
        out += [f"dropped {d.id}: {d.reason}" for d in self.drops]
        out += [f"weight {w.id}: {w.old:g} -> {w.new:g} ({w.reason})" for w in self.reweights]
        out += [f"kept {r.id}: decomposition rejected ({r.reason})" for r in self.rejected]
        out += [f"note: {note}" for note in self.notes]
        return out


def apply_refinement(rubric: Rubric, report: RefineReport) -> Rubric:
    """A new rubric with the report's splits (in order), drops and weights applied."""
    criteria: list[Criterion] = list(rubric.criteria)
    checklist: list[ChecklistItem] = list(rubric.checklist)
    for split in report.splits:
        position = next((i for i, c in enumerate(criteria) if c.id == split.parent), None)
        if position is None:
            raise RubricError(f"{rubric.name}: cannot split {split.parent!r}: no such criterion")
        criteria[position : position + 1] = split.children
    known = {c.id for c in criteria} | {c.id for c in checklist}
    for drop in report.drops:
        if drop.id not in known:
            raise RubricError(f"{rubric.name}: cannot drop {drop.id!r}: no such criterion")
    dropped = {drop.id for drop in report.drops}
    weights = {change.id: change.new for change in report.reweights}
    if missing := set(weights) - known:
        raise RubricError(f"{rubric.name}: cannot re-weight {sorted(missing)}: no such criterion")

    def updated(part: Any) -> dict[str, Any]:
        data = part.model_dump()
        data["weight"] = weights.get(part.id, part.weight)
        return data

    return rubric_from_dict(
        {
            "name": rubric.name,
            "description": rubric.description,
            "criteria": [updated(c) for c in criteria if c.id not in dropped],
            "checklist": [updated(c) for c in checklist if c.id not in dropped],
        },
        source=f"{rubric.name} (refined)",
    )


def normalised_scores(rubric: Rubric, scores: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Likert scores mapped onto [0, 1] by each criterion's scale, so one threshold fits all
    criteria; checklist scores are passed through. Ids not in the rubric are left out."""
    result = {}
    for criterion in rubric.criteria:
        if criterion.id in scores:
            low, high = criterion.bounds
            values = np.asarray(scores[criterion.id], dtype=float)
            result[criterion.id] = (values - low) / (high - low)
    for item in rubric.checklist:
        if item.id in scores:
            result[item.id] = np.asarray(scores[item.id], dtype=float)
    return result


def plan_pruning(
    rubric: Rubric,
    scores: Mapping[str, np.ndarray],
    *,
    pref_scores: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
    redundancy: float | None = 0.9,
    reweight: bool = True,
    min_n: int = 10,
    threshold: float = 0.5,
    embed: Embed | None = None,
    text_redundancy: float | None = 0.9,
) -> RefineReport:
    """Drops and weights for the Likert criteria, from their scores (and, given labelled
    pairs, their agreement with people; given `embed`, their wording). Checklist items are
    left alone: their weights encode penalties and gates that scores cannot second-guess.

    A criterion is misaligned when it agrees with people on fewer than `threshold` of at
    least `min_n` decided pairs; with fewer pairs it is kept and a note says so.
    """
    ids = [criterion.id for criterion in rubric.criteria]
    normalised = normalised_scores(rubric, scores)
    drops: list[Drop] = []
    notes: list[str] = []
    agreements: dict[str, float | None] = {}
    if pref_scores is not None:
        mine = {key: pref_scores[key] for key in ids if key in pref_scores}
        entries = alignment(mine)
        agreements = {key: entry.agreement for key, entry in entries.items()}
        for misfit in misaligned_criteria(mine, min_n=min_n, threshold=threshold):
            rule = (
                f"agreement {misfit.agreement:.2f} < {threshold:g}, "
                f"judged on >= {min_n} decided pairs"
            )
            drops.append(Drop(id=misfit.id, reason=f"{misfit.reason}; {rule}"))
        if not entries:
            notes.append("alignment not judged: no labelled pair was scored")
        for key, entry in entries.items():
            if entry.decided < min_n:
                notes.append(
                    f"alignment of {key} not judged: {entry.decided} decided pairs "
                    f"(of {entry.decided + entry.ties + entry.missing}), fewer than {min_n}"
                )
    if embed is not None and text_redundancy is not None:
        dropped_ids = {d.id for d in drops}
        order = [key for key in ids if key not in dropped_ids]
        rank = {key: value for key, value in agreements.items() if value is not None}
        order.sort(key=lambda key: -rank.get(key, -math.inf))  # stable: ties keep order
        texts = {key: rubric.criterion(key).question for key in order}
        for twin in redundant_by_text(texts, embed, text_redundancy):
            drops.append(Drop(id=twin.id, reason=twin.reason))
    if redundancy is not None:
        remaining = {key: normalised[key] for key in ids if key in normalised}
        remaining = {
            key: value for key, value in remaining.items() if key not in {d.id for d in drops}
        }
        for twin in redundant_by_scores(remaining, redundancy, prefer=agreements):
            drops.append(Drop(id=twin.id, reason=twin.reason))
    if not rubric.checklist and len({d.id for d in drops}) >= len(ids):
        drops = drops[: len(ids) - 1]  # a rubric needs something left to grade with
    dropped = {drop.id for drop in drops}
    kept = [key for key in ids if key not in dropped and key in normalised]
    reweights: list[Reweight] = []
    if reweight and len(kept) >= 2:
        matrix = np.column_stack([normalised[key] for key in kept])
        try:
            new = correlation_aware_weights(matrix)
        except ValueError:
            new = None
        if new is not None:
            old = {criterion.id: criterion.weight for criterion in rubric.criteria}
            total = sum(old[key] for key in kept)
            for key, share in zip(kept, new, strict=True):
                weight = round(float(share) * total, 6)
                if abs(weight - old[key]) > 1e-9:
                    reason = (
                        f"correlation-aware share {share:.3f} of the criteria's total weight "
                        f"{total:g}, from {matrix.shape[0]} graded items"
                    )
                    reweights.append(Reweight(id=key, old=old[key], new=weight, reason=reason))
    return RefineReport(drops=drops, reweights=reweights, notes=notes)


# --- judge-driven decomposition ---------------------------------------------------------


def _parts_schema(bounds: tuple[int, int], min_parts: int, max_parts: int) -> dict[str, Any]:
    """The answer a decomposition asks for: a list of sub-criteria on the parent's scale."""
    return {
        "type": "object",
        "properties": {
            "criteria": {
                "type": "array",
                "items": criterion_schema(bounds),
                "minItems": min_parts,
                "maxItems": max_parts,
            }
        },
        "required": ["criteria"],
        "additionalProperties": False,
    }


def _split_builder(
    rubric: Rubric, parent: Criterion, taken: set[str], min_parts: int, max_parts: int
) -> Callable[[Any], tuple[Rubric, list[str], list[Finding]]]:
    """How a decomposition answer becomes the rubric with the parent's sub-criteria."""
    low, high = parent.bounds
    others = [c for c in rubric.criteria if c.id != parent.id]

    def build(data: Any) -> tuple[Rubric, list[str], list[Finding]]:
        entries = data.get("criteria") if isinstance(data, dict) else None
        if not isinstance(entries, list) or not entries:
            raise AnswerError("the answer has no 'criteria' list")
        names = set(taken)
        repairs: list[str] = []
        children = []
        share = parent.weight / min(len(entries), max_parts)
        for index, entry in enumerate(entries[:max_parts]):
            if isinstance(entry, dict):
                entry = {**entry, "id": f"{parent.id}.{entry.get('id') or index + 1}"}
            child, notes = criterion_from_answer(
                entry,
                bounds=(low, high),
                taken=names,
                where=f"criteria[{index}]",
                fallback_id=f"{parent.id}.{index + 1}",
                weight=share,
            )
            children.append(child)
            repairs += notes
        if len(entries) > max_parts:
            repairs.append(f"kept the first {max_parts} of {len(entries)} sub-criteria")
        # Children go last while linting, so a duplicate is always reported on the child.
        candidate, findings = finish_rubric(
            rubric.name,
            rubric.description,
            [*others, *children],
            rubric.checklist,
            repairs=repairs,
            only={child.id for child in children},
        )
        usable = [c for c in candidate.criteria if c.id in {child.id for child in children}]
        if len(usable) < min_parts:
            raise AnswerError(
                f"only {len(usable)} usable sub-criteria, need at least {min_parts}", findings
            )
        return candidate, repairs, findings

    return build


async def decompose_criterion(
    rubric: Rubric,
    criterion_id: str,
    backend: Backend,
    *,
    samples: Sequence[Item] = (),
    reason: str = "",
    taken: set[str] | None = None,
    min_parts: int = 2,
    max_parts: int = 4,
    temperature: float = 0.7,
    seed: int = 0,
    max_tokens: int = 1536,
) -> Split | Rejection:
    """Ask the judge to split one criterion into finer sub-criteria on the same scale.

    Sub-criteria ids are `PARENT.NAME`; each gets an equal share of the parent's weight.
    An answer with fewer than `min_parts` usable sub-criteria, or one the linter rejects
    (after dropping exact duplicates), is a Rejection with the reason.
    """
    parent = rubric.criterion(criterion_id)
    if taken is None:
        taken = {c.id for c in rubric.criteria} | {c.id for c in rubric.checklist}
    others = [c for c in rubric.criteria if c.id != criterion_id]
    prompt = render(
        "rubric_decompose.j2",
        criterion=parent,
        samples=list(samples),
        min_parts=min_parts,
        max_parts=max_parts,
        **scale_points(parent.bounds),
    )
    schema = _parts_schema(parent.bounds, min_parts, max_parts)
    build = _split_builder(rubric, parent, taken, min_parts, max_parts)
    tag = f"rubric-decompose:{criterion_id}"
    request = RubricRequest(prompt, schema, build, tag, temperature, seed, max_tokens)
    result = await request.ask(backend)
    if not result.ok or result.rubric is None:
        return Rejection(
            id=criterion_id,
            reason=result.reason or result.status,
            raw=result.raw,
            findings=result.findings,
        )
    new_ids = {c.id for c in result.rubric.criteria} - {c.id for c in others}
    children = [c for c in result.rubric.criteria if c.id in new_ids]
    # Re-share the parent's weight if duplicates were dropped.
    children = [c.model_copy(update={"weight": parent.weight / len(children)}) for c in children]
    taken.update(c.id for c in children)
    return Split(
        parent=criterion_id,
        children=children,
        reason=reason or "its scores did not separate responses",
        repairs=result.repairs,
    )


def _tied_items(items: Sequence[Item], values: np.ndarray, k: int) -> list[Item]:
    """Up to k items that got the criterion's most common score: what it failed to split."""
    scored = _present(values)
    if k <= 0 or not len(scored):
        return []
    mode = Counter(scored.tolist()).most_common(1)[0][0]
    return [item for item, value in zip(items, values, strict=True) if value == mode][:k]


def pair_sides(pair: Item) -> tuple[Item, Item]:
    """The two responses of a pair as single-response items (ids `ID#A`, `ID#B`), so a
    pointwise grader sees each alone."""
    if pair.response is None or pair.response_b is None:
        raise ValueError(f"item {pair.id!r} is not a pair: it needs response and response_b")
    first = pair.model_copy(update={"id": f"{pair.id}#A", "response_b": None})
    second = pair.model_copy(
        update={"id": f"{pair.id}#B", "response": pair.response_b, "response_b": None}
    )
    return first, second


async def preference_scores(
    rubric: Rubric, pairs: Sequence[Item], grade_fn: GradeFn, *, label: str | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per Likert criterion, the scores of the preferred and of the rejected responses of
    the pairs labelled 'A' or 'B' (ties and unlabelled pairs say nothing about direction)."""
    chosen: list[Item] = []
    other: list[Item] = []
    for pair in pairs:
        side = preference_label(pair, label)
        if side in ("A", "B"):
            first, second = pair_sides(pair)
            chosen.append(first if side == "A" else second)
            other.append(second if side == "A" else first)
    if not chosen:
        return {}
    preferred, rejected = await grade_fn(rubric, chosen), await grade_fn(rubric, other)
    return {
        c.id: (np.asarray(preferred[c.id], float), np.asarray(rejected[c.id], float))
        for c in rubric.criteria
        if c.id in preferred and c.id in rejected
    }


async def refine_rubric(
    rubric: Rubric,
    items: Sequence[Item],
    backend: Backend,
    grade_fn: GradeFn,
    *,
    depth: int = 1,
    min_std: float = 0.1,
    max_tie_rate: float = 0.8,
    prune: bool = True,
    redundancy: float | None = 0.9,
    samples: int = 3,
    temperature: float = 0.7,
    seed: int = 0,
    pairs: Sequence[Item] = (),
    label: str | None = None,
    min_pairs: int = 10,
    agreement_threshold: float = 0.5,
    embed: Embed | None = None,
    text_redundancy: float | None = 0.9,
) -> tuple[Rubric, RefineReport]:
    """Grade, split the criteria that separate nothing, and repeat up to `depth` rounds;
    then (with `prune`) grade once more to drop misaligned and redundant criteria and
    re-weight the rest.

    `grade_fn(rubric, items)` returns raw scores per criterion id per item (NaN where
    grading failed). Labelled `pairs` (see `preference_label`) are graded one response at a
    time to find criteria that side with the rejected response (`min_pairs`,
    `agreement_threshold`); pass their `pair_sides` as `items` too and a caching grader
    pays for each response once. `embed` turns on the wording check (`text_redundancy`).
    `apply_refinement(rubric, report)` reproduces the returned rubric.
    """
    items = list(items)
    current, report = rubric, RefineReport()
    for depth_round in range(depth):
        scores = normalised_scores(current, await grade_fn(current, items))
        likert = {c.id: scores[c.id] for c in current.criteria if c.id in scores}
        step = RefineReport(rounds=1)
        taken = {c.id for c in current.criteria} | {c.id for c in current.checklist}
        for flag in low_variance_criteria(likert, min_std=min_std, max_tie_rate=max_tie_rate):
            outcome = await decompose_criterion(
                current,
                flag.id,
                backend,
                samples=_tied_items(items, scores[flag.id], samples),
                reason=flag.reason,
                taken=taken,
                temperature=temperature,
                seed=seed + depth_round,
            )
            if isinstance(outcome, Split):
                step.splits.append(outcome)
            else:
                step.rejected.append(outcome)
        report = report.merged(step)
        if not step.splits:
            break
        current = apply_refinement(current, step)
    if prune:
        pref = await preference_scores(current, pairs, grade_fn, label=label) if pairs else None
        pruning = plan_pruning(
            current,
            await grade_fn(current, items),
            pref_scores=pref,
            redundancy=redundancy,
            min_n=min_pairs,
            threshold=agreement_threshold,
            embed=embed,
            text_redundancy=text_redundancy,
        )
        current = apply_refinement(current, pruning)
        report = report.merged(pruning)
    return current, report
