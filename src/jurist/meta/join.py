"""Judgments joined with the human labels they are measured against, handed out as tidy
arrays per criterion or per pair.

Items that failed or could not be parsed keep their place with NaN / None and their
status, so every figure can say how many it left out; nothing is filled in.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from jurist.core.judgment import (
    JUDGMENT_TYPES,
    ChecklistJudgment,
    Judgment,
    PairwiseJudgment,
    PointwiseJudgment,
)
from jurist.core.lazy import lazy
from jurist.meta.errors import MetaInputError
from jurist.meta.load import Labels, LoadedResults, load_results, ratings_of, read_labels
from jurist.meta.options import Inputs, parse_scale, rubric_scales
from jurist.stats.arrays import FloatArray

pd = lazy("pandas")

ScoreKind = Literal["parsed", "expected"]

_VERDICT_SPELLINGS = {
    "a": "A",
    "b": "B",
    "tie": "tie",
    "draw": "tie",
    "a>b": "A",
    "b>a": "B",
    "a=b": "tie",
}
_TOP_LEVEL_FIELDS = set().union(*(t.model_fields for t in JUDGMENT_TYPES)) - {
    "metadata",
    "labels",
    "criteria",
    "checklist",
    "pair",
}


# ---------------------------------------------------------------- joined results


def _numbers(ratings: list[Any], where: tuple[Path | str, int | None, str]) -> list[float]:
    out = []
    for rating in ratings:
        if rating is None:
            out.append(math.nan)
        elif isinstance(rating, float):
            out.append(rating)
        else:
            raise MetaInputError(*where, f"label {rating!r} is not a number")
    return out


def normalise_verdict(value: Any, where: tuple[Path | str, int | None, str]) -> str | None:
    """'A', 'B' or 'tie' from the usual spellings; None for no label."""
    if value is None:
        return None
    if isinstance(value, str):
        verdict = _VERDICT_SPELLINGS.get(value.strip().lower())
        if verdict is not None:
            return verdict
    raise MetaInputError(*where, f"{value!r} is not a pairwise preference (A, B or tie)")


def majority_verdict(verdicts: Sequence[str]) -> str | None:
    """The most common verdict; a split vote between A and B counts as a tie."""
    if not verdicts:
        return None
    counts = Counter(verdicts).most_common()
    if len(counts) > 1 and counts[0][1] == counts[1][1]:
        return "tie"
    return counts[0][0]


@dataclass(frozen=True)
class CriterionData:
    """One criterion's scores next to the human ratings, one entry per judged item.

    `status` is the criterion's own status ('missing' when the judgment has no such
    criterion); `score` / `expected` are NaN unless it is ok. `human` is the mean of the
    item's ratings; `annotators` is (raters, items) with NaN where a rater gave none.
    """

    criterion: str
    label_field: str | None
    scale: tuple[float, ...] | None
    scale_source: str
    status: NDArray[np.object_]
    score: FloatArray
    expected: FloatArray
    human: FloatArray
    annotators: FloatArray
    annotator_names: tuple[str, ...] | None
    lengths: FloatArray

    def values(self, kind: ScoreKind) -> FloatArray:
        return self.score if kind == "parsed" else self.expected


@dataclass(frozen=True)
class PairData:
    """Verdicts for each judged pair next to the human preference (None = missing)."""

    label_field: str | None
    status: NDArray[np.object_]
    verdict: NDArray[np.object_]
    verdict_ab: NDArray[np.object_]
    verdict_ba: NDArray[np.object_]
    p_a: FloatArray
    label: NDArray[np.object_]
    length_a: FloatArray
    length_b: FloatArray


@dataclass
class Results:
    """Judgments from one results file with the human labels they are measured against."""

    path: str
    judgments: list[Judgment]
    lines: list[int | None]
    labels: Labels | None = None
    join: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------ construction

    @classmethod
    def load(
        cls, source: str | Path, labels: Labels | None = None, *, store: str | Path | None = None
    ) -> Results:
        """Results from a results file, an output folder or a run id, joined with `labels`."""
        return cls.from_loaded(load_results(source, store), labels)

    @classmethod
    def from_loaded(cls, loaded: LoadedResults, labels: Labels | None = None) -> Results:
        results = cls(loaded.source, loaded.judgments, loaded.lines, labels)
        modes = sorted({j.mode for j in results.judgments})
        if len(modes) > 1:
            first = {m: results._first_line(m) for m in modes}
            detail = ", ".join(f"{m} (first on line {first[m]})" for m in modes)
            raise MetaInputError(loaded.source, None, "mode", f"mixes judging modes: {detail}")
        results.join = results._join()
        return results

    @classmethod
    def open(cls, inputs: Inputs) -> Results:
        """Results and labels as `inputs` describe them."""
        table = None
        if inputs.labels is not None:
            table = read_labels(
                inputs.labels,
                id_field=inputs.label_id_field,
                fields=list(inputs.label_fields) or None,
                annotator_field=inputs.annotator_field,
            )
        return cls.load(inputs.results, table, store=inputs.store)

    def _first_line(self, mode: str) -> int | None:
        return next(n for n, j in zip(self.lines, self.judgments, strict=True) if j.mode == mode)

    def _join(self) -> dict[str, Any]:
        if self.labels is None:
            n = sum(1 for j in self.judgments if j.labels)
            return {"source": "results", "matched": n, "unlabelled": len(self.judgments) - n}
        ids = {j.item_id for j in self.judgments}
        matched = [i for i in self.labels.ratings if i in ids]
        unmatched = [i for i in self.labels.ratings if i not in ids]
        if not matched:
            example = next(iter(self.labels.ratings))
            raise MetaInputError(
                self.labels.path,
                self.labels.first_line.get(example),
                self.labels.id_field,
                f"label id {example!r} not found in {self.path}, nor any of the other "
                f"{len(self.labels.ratings) - 1} label ids (results ids look like "
                f"{self.judgments[0].item_id!r})",
            )
        return {
            "source": self.labels.path,
            "matched": len(matched),
            "unlabelled": len(ids) - len(matched),
            "label_ids_not_in_results": len(unmatched),
            "examples_not_in_results": unmatched[:5],
        }

    # ------------------------------------------------------------ basics

    @property
    def mode(self) -> str:
        return self.judgments[0].mode

    def __len__(self) -> int:
        return len(self.judgments)

    def status_counts(self) -> dict[str, int]:
        counts = Counter(j.status for j in self.judgments)
        return {s: int(counts.get(s, 0)) for s in ("ok", "parse_error", "failed")}

    def human_ratings(self, index: int) -> tuple[dict[str, list[Any]], dict[str, list[str]]]:
        """Field -> ratings for one judgment, from the labels file or the results line."""
        j = self.judgments[index]
        if self.labels is not None:
            return (
                self.labels.ratings.get(j.item_id, {}),
                self.labels.annotators.get(j.item_id, {}),
            )
        where = self.path, self.lines[index]
        ratings = {k: ratings_of(v, (*where, f"labels.{k}")) for k, v in j.labels.items()}
        # Loaders that keep per-annotator lists name the annotators in metadata.
        ids = j.metadata.get("annotator_ids")
        names: dict[str, list[str]] = {}
        if isinstance(ids, list):
            for k, v in j.labels.items():
                if isinstance(v, list) and len(v) == len(ids):
                    names[k] = [str(i) for i in ids]
        return ratings, names

    def label_fields(self) -> list[str]:
        if self.labels is not None:
            return list(self.labels.fields)
        seen: dict[str, None] = {}
        for j in self.judgments:
            for k in j.labels:
                seen.setdefault(k)
        return list(seen)

    def _where(self, index: int, name: str) -> tuple[str, int | None, str]:
        if self.labels is not None:
            item_id = self.judgments[index].item_id
            return self.labels.path, self.labels.first_line.get(item_id), name
        return self.path, self.lines[index], f"labels.{name}"

    def field(self, name: str) -> NDArray[np.object_]:
        """A grouping field per judgment: metadata first, then top-level judgment fields.

        `metadata.NAME` and `labels.NAME` are accepted too. Judgments without the field
        get None; a field no judgment has is an error that lists the ones that exist.
        """
        if name.startswith("labels."):
            key = name.removeprefix("labels.")
            values: list[Any] = []
            for i in range(len(self)):
                ratings = self.human_ratings(i)[0].get(key, [])
                values.append(ratings[0] if len(ratings) == 1 else None)
        else:
            key = name.removeprefix("metadata.")
            values = []
            for j in self.judgments:
                if key in j.metadata:
                    values.append(j.metadata[key])
                elif key in _TOP_LEVEL_FIELDS and name == key:
                    values.append(getattr(j, key, None))
                else:
                    values.append(None)
        if all(v is None for v in values):
            meta = sorted({k for j in self.judgments for k in j.metadata})
            raise MetaInputError(
                self.path,
                None,
                name,
                f"no judgment has this field (metadata fields: {', '.join(meta) or '-'})",
            )
        out = np.empty(len(values), dtype=object)
        for i, v in enumerate(values):
            out[i] = v if v is None or isinstance(v, str | int | float | bool) else json.dumps(v)
        return out

    # ------------------------------------------------------------ pointwise

    def criteria(self) -> list[str]:
        if self.mode == "checklist":
            return ["checklist"]
        seen: dict[str, None] = {}
        for j in self.judgments:
            for cid in _criteria_of(j):
                seen.setdefault(cid)
        return list(seen)

    def criterion_map(
        self, explicit: Mapping[str, str] | None = None, label_fields: Sequence[str] = ()
    ) -> dict[str, str | None]:
        """criterion -> label field: explicit pairs, then equal names (ignoring case), then
        the only criterion with the only label field (or the only one asked for)."""
        criteria = self.criteria()
        fields = self.label_fields()
        explicit = dict(explicit or {})
        if not explicit and len(criteria) == 1 and len(label_fields) == 1:
            explicit = {criteria[0]: label_fields[0]}
        for cid, name in explicit.items():
            if cid not in criteria:
                raise MetaInputError(
                    self.path, None, cid, f"--map names no criterion (have: {', '.join(criteria)})"
                )
            if name not in fields:
                source = self.labels.path if self.labels else self.path
                raise MetaInputError(
                    source, None, name, f"--map names no label field (have: {', '.join(fields)})"
                )
        lower = {f.lower(): f for f in fields}
        out: dict[str, str | None] = {}
        for cid in criteria:
            out[cid] = explicit.get(cid) or lower.get(cid.lower())
        if len(criteria) == 1 and out[criteria[0]] is None and len(fields) == 1:
            out[criteria[0]] = fields[0]
        return out

    def criterion(
        self,
        criterion: str,
        label_field: str | None,
        scale: Sequence[float] | None = None,
        scale_source: str = "given",
    ) -> CriterionData:
        n = len(self)
        status = np.empty(n, dtype=object)
        score = np.full(n, np.nan)
        expected = np.full(n, np.nan)
        human = np.full(n, np.nan)
        per_item: list[list[float]] = []
        names: list[list[str]] = []
        for i, j in enumerate(self.judgments):
            if isinstance(j, ChecklistJudgment) and criterion == "checklist":
                status[i] = j.status
                if j.status == "ok" and j.checklist_score is not None:
                    score[i] = j.checklist_score
                    if j.checklist_expected is not None:
                        expected[i] = j.checklist_expected
            else:
                cs = _criteria_of(j).get(criterion)
                status[i] = "missing" if cs is None else cs.status
                if cs is not None and cs.status == "ok" and cs.score is not None:
                    score[i] = cs.score
                    if cs.expected is not None:
                        expected[i] = cs.expected
            values: list[float] = []
            who: list[str] = []
            if label_field is not None:
                ratings, annotators = self.human_ratings(i)
                values = _numbers(ratings.get(label_field, []), self._where(i, label_field))
                who = annotators.get(label_field, [])
                finite = [v for v in values if not math.isnan(v)]
                if finite:
                    human[i] = float(np.mean(finite))
            per_item.append(values)
            names.append(who)
        annotators, annotator_names = _annotator_matrix(per_item, names)
        if scale is None:
            scale, scale_source = self._scale(criterion, score, annotators)
        lengths = np.asarray(
            [np.nan if j.response_chars is None else j.response_chars for j in self.judgments],
            dtype=np.float64,
        )
        return CriterionData(
            criterion=criterion,
            label_field=label_field,
            scale=None if scale is None else tuple(float(p) for p in sorted(scale)),
            scale_source=scale_source,
            status=status,
            score=score,
            expected=expected,
            human=human,
            annotators=annotators,
            annotator_names=annotator_names,
            lengths=lengths,
        )

    def _scale(
        self, criterion: str, score: FloatArray, annotators: FloatArray
    ) -> tuple[list[float] | None, str]:
        """The criterion's scale points: from the score distributions the judge reported
        (they list every point), else the span of the integer values seen."""
        points: set[float] = set()
        for j in self.judgments:
            cs = _criteria_of(j).get(criterion)
            if cs is not None and cs.distribution:
                for key in cs.distribution:
                    try:
                        points.add(float(key))
                    except ValueError:
                        continue
        if len(points) >= 2:
            return sorted(points), "judge score distributions"
        seen = np.concatenate([score, annotators.ravel()])
        seen = seen[~np.isnan(seen)]
        if seen.size == 0 or not np.all(np.isclose(score[~np.isnan(score)] % 1, 0)):
            return None, "none (continuous scores)"
        low, high = math.floor(seen.min()), math.ceil(seen.max())
        if high <= low:
            return None, "none (a single value)"
        return [float(p) for p in range(low, high + 1)], "inferred from the values seen"

    # ------------------------------------------------------------ pairwise

    def pair_label_field(self, requested: str | None = None) -> str | None:
        fields = self.label_fields()
        if requested is not None:
            if requested not in fields:
                source = self.labels.path if self.labels else self.path
                raise MetaInputError(
                    source, None, requested, f"no such label field (have: {', '.join(fields)})"
                )
            return requested
        if "preference" in fields:
            return "preference"
        return fields[0] if len(fields) == 1 else None

    def pairs(self, label_field: str | None = None) -> PairData:
        n = len(self)
        status = np.empty(n, dtype=object)
        verdict = np.empty(n, dtype=object)
        ab = np.empty(n, dtype=object)
        ba = np.empty(n, dtype=object)
        label = np.empty(n, dtype=object)
        p_a = np.full(n, np.nan)
        len_a = np.full(n, np.nan)
        len_b = np.full(n, np.nan)
        for i, j in enumerate(self.judgments):
            pair = j.pair if isinstance(j, PairwiseJudgment) else None
            status[i] = j.status
            ok = j.status == "ok" and pair is not None
            verdict[i] = pair.verdict if pair is not None and ok else None
            ab[i] = pair.verdict_ab if pair is not None and ok else None
            ba[i] = pair.verdict_ba if pair is not None and ok else None
            if pair is not None and ok and pair.p_a is not None:
                p_a[i] = pair.p_a
            if j.response_chars is not None:
                len_a[i] = j.response_chars
            if isinstance(j, PairwiseJudgment) and j.response_b_chars is not None:
                len_b[i] = j.response_b_chars
            label[i] = None
            if label_field is not None:
                where = self._where(i, label_field)
                ratings = self.human_ratings(i)[0].get(label_field, [])
                votes = [normalise_verdict(r, where) for r in ratings if r is not None]
                label[i] = majority_verdict([v for v in votes if v is not None])
        return PairData(label_field, status, verdict, ab, ba, p_a, label, len_a, len_b)

    # ------------------------------------------------------------ frames

    def to_frame(self, mapping: Mapping[str, str] | None = None) -> Any:
        """Tidy table: one row per (item, criterion) for pointwise and checklist results,
        one row per pair for pairwise ones; metadata columns are prefixed `metadata.`."""
        meta_keys = sorted({k for j in self.judgments for k in j.metadata})
        base = pd.DataFrame(
            {
                "item_id": [j.item_id for j in self.judgments],
                "index": [j.index for j in self.judgments],
                "status": [j.status for j in self.judgments],
                **{f"metadata.{k}": self.field(f"metadata.{k}") for k in meta_keys},
            }
        )
        if self.mode == "pairwise":
            p = self.pairs(self.pair_label_field())
            return base.assign(
                verdict=p.verdict,
                verdict_ab=p.verdict_ab,
                verdict_ba=p.verdict_ba,
                p_a=p.p_a,
                label=p.label,
                response_chars=p.length_a,
                response_b_chars=p.length_b,
            )
        frames = []
        for cid, label_field in self.criterion_map(mapping).items():
            data = self.criterion(cid, label_field)
            frames.append(
                base.assign(
                    criterion=cid,
                    criterion_status=data.status,
                    score=data.score,
                    expected=data.expected,
                    human=data.human,
                    n_ratings=(~np.isnan(data.annotators)).sum(axis=0),
                    response_chars=data.lengths,
                )
            )
        return pd.concat(frames, ignore_index=True)


def _annotator_matrix(
    per_item: list[list[float]], names: list[list[str]]
) -> tuple[FloatArray, tuple[str, ...] | None]:
    """(raters, items): by annotator name when known, else by the order ratings came in."""
    n = len(per_item)
    if any(names) and all(len(w) == len(v) for w, v in zip(names, per_item, strict=True)):
        order = sorted({w for who in names for w in who})
        row = {w: k for k, w in enumerate(order)}
        out = np.full((len(order), n), np.nan)
        for i, (values, who) in enumerate(zip(per_item, names, strict=True)):
            for v, w in zip(values, who, strict=True):
                out[row[w], i] = v
        return out, tuple(order)
    m = max((len(v) for v in per_item), default=0)
    out = np.full((max(m, 1), n), np.nan)
    for i, values in enumerate(per_item):
        out[: len(values), i] = values
    return out, None


def _criteria_of(judgment: Judgment) -> Mapping[str, Any]:
    return judgment.criteria if isinstance(judgment, PointwiseJudgment) else {}


def criterion_data(
    results: Results,
    mapping: Mapping[str, str] | None = None,
    scale: Sequence[float] | None = None,
    scales: Mapping[str, Sequence[float]] | None = None,
    label_fields: Sequence[str] = (),
) -> list[CriterionData]:
    """Every criterion with its label field and scale: `scale` for all, else the rubric's
    per-criterion `scales`, else the one the data shows."""
    out = []
    for cid, label_field in results.criterion_map(mapping, label_fields).items():
        given = parse_scale(scale) or parse_scale((scales or {}).get(cid))
        source = "--scale" if scale is not None else "rubric"
        out.append(results.criterion(cid, label_field, given, source))
    return out


def inputs_criteria(results: Results, inputs: Inputs) -> list[CriterionData]:
    """criterion_data with the mapping, scale and rubric that `inputs` name."""
    scales = rubric_scales(inputs.rubric) if inputs.rubric else None
    return criterion_data(results, inputs.mapping, inputs.scale, scales, inputs.label_fields)
