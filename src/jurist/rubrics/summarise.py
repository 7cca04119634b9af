"""One data-set rubric from many instance rubrics: cluster similar parts, keep the most
central wording, weight each by how many rubrics ask for it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from jurist.backends.base import Backend, BackendError
from jurist.core.completion import Request
from jurist.core.rubric import ChecklistItem, Criterion, Rubric, RubricError, rubric_from_dict
from jurist.prompts import render
from jurist.rubrics.answers import (
    QUESTION_MAX,
    AnswerError,
    assign_id,
    criterion_from_answer,
    object_schema,
    parse_json_answer,
    scale_points,
    scale_schema,
    string_schema,
    text_field,
)

logger = logging.getLogger(__name__)

Embed = Callable[[list[str]], np.ndarray]


def _clusters(vectors: np.ndarray, threshold: float) -> list[list[int]]:
    """Average-linkage clusters whose members are, on average, at least `threshold` cosine
    similar; listed in order of their first member, so the result is deterministic."""
    if len(vectors) == 1:
        return [[0]]
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist

    distances = np.clip(pdist(vectors, "cosine"), 0.0, 2.0)
    labels = fcluster(linkage(distances, "average"), t=1.0 - threshold, criterion="distance")
    groups: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        groups.setdefault(int(label), []).append(index)
    return sorted(groups.values(), key=lambda members: members[0])


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=float)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


@dataclass(frozen=True)
class _Part:
    source: int
    part: Criterion | ChecklistItem

    @property
    def text(self) -> str:
        return self.part.question if isinstance(self.part, Criterion) else self.part.text


async def _merge_wording(
    backend: Backend,
    members: list[_Part],
    representative: Criterion | ChecklistItem,
    *,
    temperature: float,
    seed: int,
) -> Criterion | ChecklistItem:
    """Ask the model for one wording of a cluster; keep the representative if that fails."""
    texts = list(dict.fromkeys(member.text for member in members))
    if len(texts) < 2:
        return representative
    likert = isinstance(representative, Criterion)
    low, high = representative.bounds if isinstance(representative, Criterion) else (1, 2)
    prompt = render(
        "rubric_summarise.j2",
        members=texts,
        kind="likert" if likert else "checklist",
        negative=representative.weight < 0,
        **scale_points((low, high)),
    )
    if likert:
        schema = object_schema(
            {"question": string_schema(QUESTION_MAX), "scale": scale_schema((low, high))}
        )
    else:
        schema = object_schema({"text": string_schema(QUESTION_MAX)})
    request = Request(
        messages=({"role": "user", "content": prompt},),
        json_schema=schema,
        max_tokens=768,
        temperature=temperature,
        seed=seed,
        want_logprobs=False,
        tag=f"rubric-summarise:{representative.id}",
    )
    try:
        data = parse_json_answer((await backend.complete(request)).text)
        if not isinstance(data, dict):
            raise AnswerError("the answer is not a JSON object")
        if isinstance(representative, Criterion):
            merged, _ = criterion_from_answer(
                {**data, "id": representative.id},
                bounds=(low, high),
                taken=set(),
                where=representative.id,
                fallback_id=representative.id,
                weight=representative.weight,
            )
            return merged
        return representative.model_copy(update={"text": text_field(data, "text", "answer")})
    except (BackendError, AnswerError) as error:
        logger.warning(
            "kept %r as written: merging its cluster failed (%s)", representative.id, error
        )
        return representative


Chosen = tuple[int, Criterion | ChecklistItem, list[_Part]]


def _representatives(
    rubrics: Sequence[Rubric], embed: Embed, threshold: float, min_support: int
) -> list[Chosen]:
    """(support, most central member, cluster) per cluster found in `min_support` rubrics,
    most supported first; criteria, rewarding and penalising items cluster apart."""
    groups: dict[str, list[_Part]] = {"likert": [], "reward": [], "penalty": []}
    for source, rubric in enumerate(rubrics):
        for criterion in rubric.criteria:
            groups["likert"].append(_Part(source=source, part=criterion))
        for check in rubric.checklist:
            groups["penalty" if check.weight < 0 else "reward"].append(
                _Part(source=source, part=check)
            )
    chosen: list[Chosen] = []
    for parts in groups.values():
        if not parts:
            continue
        vectors = _unit(embed([part.text for part in parts]))
        for members in _clusters(vectors, threshold):
            support = len({parts[i].source for i in members})
            if support < min_support:
                continue
            similarity = vectors[members] @ vectors[members].T
            central = members[int(np.argmax(similarity.mean(axis=1)))]
            chosen.append((support, parts[central].part, [parts[i] for i in members]))
    chosen.sort(key=lambda entry: -entry[0])  # stable: ties keep their first-seen order
    return chosen


async def summarise_rubrics(
    rubrics: Sequence[Rubric],
    backend: Backend | None = None,
    *,
    embed: Embed,
    threshold: float = 0.8,
    min_support: int = 1,
    max_parts: int | None = None,
    name: str = "summary",
    description: str | None = None,
    temperature: float = 0.0,
    seed: int = 0,
) -> Rubric:
    """One data-set rubric from many instance rubrics.

    Criteria (and, separately, rewarding and penalising checklist items) are clustered by
    embedding similarity; each cluster keeps its most central member (optionally reworded
    by `backend` to cover the whole cluster) and is weighted by the fraction of rubrics
    that contain it, so a quality most items ask for outweighs one that a single item
    needed. Clusters found in fewer than `min_support` rubrics are left out, and only the
    `max_parts` most frequent are kept.
    """
    if not rubrics:
        raise RubricError("no rubrics to summarise")
    chosen = _representatives(rubrics, embed, threshold, min_support)
    if max_parts is not None:
        chosen = chosen[:max_parts]
    if not chosen:
        raise RubricError(f"no criterion appears in at least {min_support} of the rubrics")

    taken: set[str] = set()
    criteria: list[Criterion] = []
    checklist: list[ChecklistItem] = []
    for support, representative, cluster in chosen:
        frequency = support / len(rubrics)
        part: Criterion | ChecklistItem = representative.model_copy(
            update={
                "id": assign_id(representative.id, representative.id, taken, []),
                "weight": -frequency if representative.weight < 0 else frequency,
            }
        )
        if isinstance(part, ChecklistItem):
            required = sum(
                isinstance(m.part, ChecklistItem) and m.part.kind == "required" for m in cluster
            )
            part = part.model_copy(
                update={"kind": "required" if 2 * required > len(cluster) else "optional"}
            )
        if backend is not None:
            part = await _merge_wording(backend, cluster, part, temperature=temperature, seed=seed)
        if isinstance(part, Criterion):
            criteria.append(part)
        else:
            checklist.append(part)
    summary = description or (
        f"Summarised from {len(rubrics)} rubrics; weights are how often each part appears."
    )
    return rubric_from_dict(
        {
            "name": name,
            "description": summary,
            "criteria": [c.model_dump() for c in criteria],
            "checklist": [c.model_dump() for c in checklist],
        },
        source="summary",
    )
