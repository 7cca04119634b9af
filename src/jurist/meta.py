"""Meta-evaluation: how far a judge is from people, which biases it shows, and how models
compare once it has graded them.

`read_results` and `read_labels` turn results.jsonl (one Judgment a line) and an optional
labels file into a `Results`, which hands out tidy arrays per criterion or per pair; the
report functions return plain, JSON-ready dicts built from `jurist.stats`. Nothing here
prints. Every figure carries its n, and items that failed or could not be parsed are
counted and left out, never filled in: an imputed score would look like agreement.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from pydantic import ValidationError

from jurist import stats as S
from jurist.judgment import Judgment
from jurist.stats.bootstrap import FloatArray, clean

ScoreKind = Literal["parsed", "expected"]
VERDICTS: tuple[str, str, str] = ("A", "B", "tie")
MISSING_GROUP = "(missing)"

_VERDICT_SPELLINGS = {
    "a": "A",
    "b": "B",
    "tie": "tie",
    "draw": "tie",
    "a>b": "A",
    "b>a": "B",
    "a=b": "tie",
}


class MetaInputError(ValueError):
    """Bad input for a meta-evaluation; the message names the file, line and field."""

    def __init__(self, path: str | Path, line: int | None, field: str | None, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.problem = problem
        where = self.path
        if line:
            where += f" line {line}"
        if field:
            where += f", field {field!r}"
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Settings:
    """Bootstrap settings shared by every figure of one report."""

    n_resamples: int = 1000
    seed: int = 0
    confidence: float = 0.95

    def kw(self) -> dict[str, Any]:
        return {"n_resamples": self.n_resamples, "seed": self.seed, "confidence": self.confidence}

    def to_dict(self) -> dict[str, Any]:
        return {"resamples": self.n_resamples, "seed": self.seed, "confidence": self.confidence}


# ---------------------------------------------------------------- reading results


def read_results(path: str | Path) -> list[tuple[int, Judgment]]:
    """(line number, Judgment) for every non-blank line of a results.jsonl."""
    path = Path(path)
    if not path.is_file():
        raise MetaInputError(path, None, None, "file not found")
    out: list[tuple[int, Judgment]] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                problem = f"not valid JSON ({error.msg} at column {error.colno})"
                raise MetaInputError(path, number, None, problem) from None
            if not isinstance(record, dict):
                problem = f"expected a JSON object, got {type(record).__name__}"
                raise MetaInputError(path, number, None, problem)
            try:
                judgment = Judgment.model_validate(record)
            except ValidationError as error:
                first = error.errors()[0]
                name = ".".join(str(part) for part in first["loc"]) or None
                raise MetaInputError(path, number, name, first["msg"]) from None
            if judgment.item_id in seen:
                first_line = seen[judgment.item_id]
                problem = f"duplicate item_id {judgment.item_id!r} (first on line {first_line})"
                raise MetaInputError(path, number, "item_id", problem)
            seen[judgment.item_id] = number
            out.append((number, judgment))
    if not out:
        raise MetaInputError(path, None, None, "no judgments in the file")
    return out


# ---------------------------------------------------------------- reading labels


@dataclass(frozen=True)
class Labels:
    """Human ratings per item id and field, several per item when several people rated it.

    `annotators` holds who gave each rating when the file names annotators; otherwise
    ratings are kept in file order.
    """

    path: str
    id_field: str
    fields: tuple[str, ...]
    ratings: dict[str, dict[str, list[Any]]]
    annotators: dict[str, dict[str, list[str]]]
    first_line: dict[str, int]


def _label_records(path: Path) -> Iterable[tuple[int, Any]]:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter="\t" if suffix == ".tsv" else ",")
            # Line 1 is the header, so rows are numbered as an editor shows them.
            for number, row in enumerate(reader, start=2):
                if None in row:
                    raise MetaInputError(path, number, None, "more cells than header columns")
                yield number, row
        return
    text = path.read_text(encoding="utf-8")
    if suffix == ".json" and text.lstrip().startswith("["):
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            problem = f"not valid JSON ({error.msg} at column {error.colno})"
            raise MetaInputError(path, error.lineno, None, problem) from None
        yield from ((index, record) for index, record in enumerate(document, start=1))
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as error:
            problem = f"not valid JSON ({error.msg} at column {error.colno})"
            raise MetaInputError(path, number, None, problem) from None


def _label_id(value: Any) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip() if isinstance(value, str) else str(value)


def _one_rating(value: Any, where: tuple[Path | str, int | None, str]) -> Any:
    """A number, a verdict-like string, or None (no rating); anything else is an error."""
    if value is None:
        return None
    if isinstance(value, bool | dict | list):
        raise MetaInputError(*where, f"expected a number or a label, got {value!r}")
    if isinstance(value, int | float):
        return None if math.isnan(value) else float(value)
    if isinstance(value, str):
        text = value.strip()
        if not text or text.lower() in ("na", "nan", "null", "none", "n/a"):
            return None
        try:
            return float(text)
        except ValueError:
            return text
    raise MetaInputError(*where, f"expected a number or a label, got {type(value).__name__}")


def ratings_of(value: Any, where: tuple[Path | str, int | None, str]) -> list[Any]:
    """One label value as a list of ratings: a list is several annotators, None is none."""
    if isinstance(value, list):
        return [_one_rating(v, where) for v in value]
    rating = _one_rating(value, where)
    return [] if rating is None else [rating]


def read_labels(
    path: str | Path,
    *,
    id_field: str = "id",
    fields: Sequence[str] | None = None,
    annotator_field: str | None = None,
) -> Labels:
    """Read a JSONL, JSON-list, CSV or TSV file of human labels keyed by `id_field`.

    Several annotators per item may come as a list value or as several rows with the same
    id; with `annotator_field` each rating remembers who gave it. `fields` defaults to
    every column but the id and annotator columns.
    """
    path = Path(path)
    if not path.is_file():
        raise MetaInputError(path, None, None, "labels file not found")
    wanted = list(fields) if fields else None
    ratings: dict[str, dict[str, list[Any]]] = {}
    annotators: dict[str, dict[str, list[str]]] = {}
    first_line: dict[str, int] = {}
    seen_fields: dict[str, None] = {}
    n_records = 0
    for number, record in _label_records(path):
        n_records += 1
        if not isinstance(record, Mapping):
            problem = f"expected an object, got {type(record).__name__}"
            raise MetaInputError(path, number, None, problem)
        if id_field not in record:
            raise MetaInputError(
                path, number, id_field, f"missing (fields here: {', '.join(map(str, record))})"
            )
        item_id = _label_id(record[id_field])
        if item_id is None:
            raise MetaInputError(path, number, id_field, "empty id")
        who: str | None = None
        if annotator_field is not None:
            if annotator_field not in record or _label_id(record[annotator_field]) is None:
                raise MetaInputError(path, number, annotator_field, "missing annotator")
            who = _label_id(record[annotator_field])
        first_line.setdefault(item_id, number)
        names = wanted or [k for k in record if k not in (id_field, annotator_field)]
        for name in names:
            if name not in record:
                continue
            seen_fields.setdefault(name)
            values = ratings_of(record[name], (path, number, name))
            ratings.setdefault(item_id, {}).setdefault(name, []).extend(values)
            if who is not None:
                annotators.setdefault(item_id, {}).setdefault(name, []).extend([who] * len(values))
    if n_records == 0:
        raise MetaInputError(path, None, None, "no label records in the file")
    for name in wanted or []:
        if name not in seen_fields:
            known = sorted({str(k) for r in ratings.values() for k in r} | set(seen_fields))
            raise MetaInputError(
                path, None, name, f"no such label field (fields seen: {', '.join(known) or '-'})"
            )
    return Labels(
        path=str(path),
        id_field=id_field,
        fields=tuple(wanted or seen_fields),
        ratings=ratings,
        annotators=annotators,
        first_line=first_line,
    )


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
    lines: list[int]
    labels: Labels | None = None
    join: dict[str, Any] = field(default_factory=dict)

    # ------------------------------------------------------------ construction

    @classmethod
    def load(cls, path: str | Path, labels: Labels | None = None) -> Results:
        rows = read_results(path)
        results = cls(str(path), [j for _, j in rows], [n for n, _ in rows], labels)
        modes = sorted({j.mode for j in results.judgments})
        if len(modes) > 1:
            first = {m: next(n for n, j in rows if j.mode == m) for m in modes}
            detail = ", ".join(f"{m} (first on line {first[m]})" for m in modes)
            raise MetaInputError(path, None, "mode", f"mixes judging modes: {detail}")
        results.join = results._join()
        return results

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
            top = set(Judgment.model_fields) - {"metadata", "labels", "criteria", "checklist"}
            values = []
            for j in self.judgments:
                if key in j.metadata:
                    values.append(j.metadata[key])
                elif key in top and name == key:
                    values.append(getattr(j, key))
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
            for cid in j.criteria:
                seen.setdefault(cid)
        return list(seen)

    def criterion_map(self, explicit: Mapping[str, str] | None = None) -> dict[str, str | None]:
        """criterion -> label field: explicit pairs, then equal names (ignoring case), then
        the only criterion with the only label field."""
        criteria = self.criteria()
        fields = self.label_fields()
        explicit = dict(explicit or {})
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
            if criterion == "checklist" and self.mode == "checklist":
                status[i] = j.status
                if j.status == "ok" and j.checklist_score is not None:
                    score[i] = j.checklist_score
                    if j.checklist_expected is not None:
                        expected[i] = j.checklist_expected
            else:
                cs = j.criteria.get(criterion)
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
            cs = j.criteria.get(criterion)
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
            pair = j.pair
            status[i] = j.status
            ok = j.status == "ok" and pair is not None
            verdict[i] = pair.verdict if ok else None
            ab[i] = pair.verdict_ab if ok else None
            ba[i] = pair.verdict_ba if ok else None
            if ok and pair.p_a is not None:
                p_a[i] = pair.p_a
            if j.response_chars is not None:
                len_a[i] = j.response_chars
            if j.response_b_chars is not None:
                len_b[i] = j.response_b_chars
            label[i] = None
            if label_field is not None:
                where = self._where(i, label_field)
                ratings = self.human_ratings(i)[0].get(label_field, [])
                votes = [normalise_verdict(r, where) for r in ratings if r is not None]
                label[i] = majority_verdict([v for v in votes if v is not None])
        return PairData(label_field, status, verdict, ab, ba, p_a, label, len_a, len_b)

    # ------------------------------------------------------------ frames

    def to_frame(self, mapping: Mapping[str, str] | None = None) -> pd.DataFrame:
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


# ---------------------------------------------------------------- agreement figures


def _single_value_note(values: FloatArray) -> str | None:
    finite = values[~np.isnan(values)]
    if finite.size >= 2 and np.unique(finite).size == 1:
        return (
            f"the judge gave every one of the {finite.size} items the same score "
            f"({finite[0]:g}): correlations are undefined and kappa is 0 by construction"
        )
    return None


def score_agreement(
    judge: FloatArray,
    human: FloatArray,
    annotators: FloatArray,
    scale: Sequence[float] | None,
    settings: Settings,
    *,
    full: bool = True,
) -> dict[str, Any]:
    """Correlations, agreement on the scale, kappa, MAE and (with `full`) alpha.

    Correlations, agreement and MAE compare with the annotators' mean; alpha uses each
    rating, so disagreement among annotators shows as a ceiling.
    """
    kw = settings.kw()
    out: dict[str, Any] = {
        "pearson": S.pearson(judge, human, **kw).to_dict(),
        "spearman": S.spearman(judge, human, **kw).to_dict(),
        "kendall": S.kendall(judge, human, **kw).to_dict(),
        "mae": S.mean_absolute_error(judge, human, **kw).to_dict(),
    }
    if scale is not None:
        out["exact"] = S.exact_agreement(judge, human, scale=scale, **kw).to_dict()
        out["within_one"] = S.within_one(judge, human, scale=scale, **kw).to_dict()
        out["kappa"] = S.cohen_kappa(judge, human, scale=scale, **kw).to_dict()
        out["kappa_quadratic"] = S.cohen_kappa(
            judge, human, scale=scale, weights="quadratic", **kw
        ).to_dict()
    if full:
        present = ~np.isnan(judge)
        masked = np.where(present[None, :], annotators, np.nan)
        for level in ("ordinal", "interval"):
            out[f"alpha_{level}"] = S.judge_alpha(judge, masked, level=level, **kw).to_dict()
    note = _single_value_note(judge)
    if note:
        out["note"] = note
    return out


def confusion_on_scale(
    judge: FloatArray, human: FloatArray, scale: Sequence[float]
) -> dict[str, Any]:
    """Human (rows) x judge (columns) counts after snapping both to the scale points."""
    (x, y), n_excluded = _pair(judge, human)
    points = sorted(scale)
    counts = np.zeros((len(points), len(points)), dtype=np.int64)
    if x.size:
        np.add.at(counts, (S.snap(y, points), S.snap(x, points)), 1)
    return {
        "labels": [f"{p:g}" for p in points],
        "counts": counts.tolist(),
        "n": int(x.size),
        "n_excluded": n_excluded,
    }


def _pair(a: FloatArray, b: FloatArray) -> tuple[tuple[FloatArray, FloatArray], int]:
    keep = ~(np.isnan(a) | np.isnan(b))
    return (a[keep], b[keep]), int((~keep).sum())


def jsonable(value: Any) -> Any:
    """The report with NaN and infinities as None, so it is strict JSON."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _status_counts(status: NDArray[np.object_]) -> dict[str, int]:
    counts = Counter(status.tolist())
    return {s: int(counts.get(s, 0)) for s in ("ok", "parse_error", "failed", "missing")}


def _group_keys(values: NDArray[np.object_]) -> list[Any]:
    return sorted(set(values.tolist()), key=lambda k: (k is None, str(k)))


def _group_name(key: Any) -> str:
    return MISSING_GROUP if key is None else str(key)


def criterion_report(
    data: CriterionData, settings: Settings, *, by: NDArray[np.object_] | None = None
) -> dict[str, Any]:
    """Agreement of one criterion with its human label, parsed and expected side by side."""
    counts = _status_counts(data.status)
    ok = data.status == "ok"
    labelled = ~np.isnan(data.human)
    report: dict[str, Any] = {
        "criterion": data.criterion,
        "label_field": data.label_field,
        "scale": None if data.scale is None else list(data.scale),
        "scale_source": data.scale_source,
        "n_items": len(data.status),
        "status": counts,
        "unlabelled": int((~labelled).sum()),
        "n_scored_and_labelled": int((ok & labelled & ~np.isnan(data.score)).sum()),
        "annotators": int(data.annotators.shape[0]) if labelled.any() else 0,
        "annotator_names": None if data.annotator_names is None else list(data.annotator_names),
        "max_ratings_per_item": int((~np.isnan(data.annotators)).sum(axis=0).max(initial=0)),
        "has_expected": bool((~np.isnan(data.expected)).any()),
    }
    if data.label_field is None or not labelled.any():
        report["note"] = "no human label for this criterion"
        return report
    kinds: list[ScoreKind] = ["parsed", "expected"] if report["has_expected"] else ["parsed"]
    for kind in kinds:
        report[kind] = score_agreement(
            data.values(kind), data.human, data.annotators, data.scale, settings
        )
    if data.scale is not None:
        report["confusion"] = confusion_on_scale(data.score, data.human, data.scale)
    if by is not None:
        groups: dict[str, Any] = {}
        for key in _group_keys(by):
            mask = by == key
            entry: dict[str, Any] = {
                "n_items": int(mask.sum()),
                "status": _status_counts(data.status[mask]),
            }
            for kind in kinds:
                entry[kind] = score_agreement(
                    data.values(kind)[mask],
                    data.human[mask],
                    data.annotators[:, mask],
                    data.scale,
                    settings,
                    full=False,
                )
            groups[_group_name(key)] = entry
        report["groups"] = groups
    return report


def pair_report(
    data: PairData, settings: Settings, *, by: NDArray[np.object_] | None = None
) -> dict[str, Any]:
    """Pairwise accuracy (ties excluded and as half), kappa on {A, B, tie}, position
    consistency and the confusion matrix."""
    report = _pair_figures(data, np.ones(len(data.status), dtype=bool), settings)
    report["label_field"] = data.label_field
    if by is not None:
        report["groups"] = {
            _group_name(key): _pair_figures(data, by == key, settings) for key in _group_keys(by)
        }
    return report


def _pair_figures(data: PairData, mask: NDArray[np.bool_], settings: Settings) -> dict[str, Any]:
    kw = settings.kw()
    verdict, label = data.verdict[mask], data.label[mask]
    status = data.status[mask]
    out: dict[str, Any] = {
        "n_items": int(mask.sum()),
        "status": _status_counts(status),
        "unlabelled": int(sum(v is None for v in label.tolist())),
        "verdicts": _verdict_counts(verdict),
        "labels": _verdict_counts(label),
        "position_consistency": S.position_consistency(
            data.verdict_ab[mask], data.verdict_ba[mask], **kw
        ).to_dict(),
    }
    if any(v is not None for v in label.tolist()):
        out["accuracy_excluding_ties"] = S.pairwise_accuracy(
            verdict, label, ties="exclude", **kw
        ).to_dict()
        out["accuracy_ties_half"] = S.pairwise_accuracy(verdict, label, ties="half", **kw).to_dict()
        out["kappa"] = S.pairwise_kappa(verdict, label, **kw).to_dict()
        # What a judge asked in one order only would have reported: the gap to the merged
        # accuracy is what position bias was hiding.
        out["accuracy_original_order_only"] = S.pairwise_accuracy(
            data.verdict_ab[mask], label, ties="exclude", **kw
        ).to_dict()
        out["confusion"] = S.pairwise_confusion(verdict, label).to_dict()
    return out


def _verdict_counts(values: NDArray[np.object_]) -> dict[str, int]:
    counts = Counter(v for v in values.tolist() if v is not None)
    return {v: int(counts.get(v, 0)) for v in VERDICTS}


def _header(results: Results, command: str, settings: Settings) -> dict[str, Any]:
    return {
        "command": command,
        "results": results.path,
        "mode": results.mode,
        "judges": sorted({j.judge for j in results.judgments}),
        "rubric": sorted({j.rubric for j in results.judgments}),
        "n_items": len(results),
        "status": results.status_counts(),
        "labels": results.join,
        "settings": settings.to_dict(),
    }


def _parse_scale(scale: Sequence[float] | None) -> list[float] | None:
    if scale is None:
        return None
    points = sorted({float(p) for p in scale})
    if len(points) < 2:
        raise ValueError(f"a scale needs at least two points, got {list(scale)}")
    return points


def rubric_scales(path: str | Path) -> dict[str, list[float]]:
    """criterion -> scale points from a rubric file."""
    from jurist.rubric import load_rubric

    rubric = load_rubric(path)
    return {c.id: [float(p) for p in c.points] for c in rubric.criteria}


def _criterion_data(
    results: Results,
    mapping: Mapping[str, str] | None,
    scale: Sequence[float] | None,
    scales: Mapping[str, Sequence[float]] | None,
) -> list[CriterionData]:
    out = []
    for cid, label_field in results.criterion_map(mapping).items():
        given = _parse_scale(scale) or _parse_scale((scales or {}).get(cid))
        source = "--scale" if scale is not None else "rubric"
        out.append(results.criterion(cid, label_field, given, source))
    return out


def meta_report(
    results: Results,
    *,
    mapping: Mapping[str, str] | None = None,
    label_field: str | None = None,
    by: str | None = None,
    scale: Sequence[float] | None = None,
    scales: Mapping[str, Sequence[float]] | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """How far the judge is from the human labels, per criterion or for pairs.

    `by` breaks every figure down by a metadata field; `by="criterion"` is the
    per-criterion layout pointwise reports have anyway.
    """
    settings = settings or Settings()
    report = _header(results, "meta", settings)
    report["by"] = by
    group_by = None if by in (None, "criterion") else results.field(by)
    if results.mode == "pairwise":
        if by == "criterion":
            raise ValueError("--by criterion needs pointwise results; these are pairwise")
        field_name = results.pair_label_field(label_field)
        data = results.pairs(field_name)
        report["pairwise"] = pair_report(data, settings, by=group_by)
        if field_name is None:
            report["pairwise"]["note"] = (
                "no human preference label found; pass --label-field or a labels file"
            )
        return jsonable(report)
    report["criteria"] = {
        d.criterion: criterion_report(d, settings, by=group_by)
        for d in _criterion_data(results, mapping, scale, scales)
    }
    return jsonable(report)


# ---------------------------------------------------------------- audit


def _families(values: NDArray[np.object_], family: str) -> NDArray[np.object_]:
    needle = family.lower()
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values.tolist()):
        out[i] = None if v is None else (family if needle in str(v).lower() else "other")
    return out


def _preference_for_a(data: PairData) -> tuple[FloatArray, str]:
    """The judge's lean towards A: P(A) from token probabilities when every judged pair
    has it, else 1 / 0.5 / 0 from the verdict."""
    verdict_pref = S.verdict_preference(data.verdict)
    judged = ~np.isnan(verdict_pref)
    if judged.any() and not np.isnan(data.p_a[judged]).any():
        return np.where(judged, data.p_a, np.nan), "p_a"
    return verdict_pref, "verdict"


def _label_preference(data: PairData) -> FloatArray | None:
    if all(v is None for v in data.label.tolist()):
        return None
    return S.verdict_preference(data.label)


def _self_pick(verdicts: NDArray[np.object_], self_slot: NDArray[np.object_]) -> FloatArray:
    out = np.full(len(verdicts), np.nan)
    for i, (v, slot) in enumerate(zip(verdicts.tolist(), self_slot.tolist(), strict=True)):
        if v is None or slot is None:
            continue
        out[i] = 0.5 if v == "tie" else float(v == slot)
    return out


def _pair_audit(
    data: PairData,
    mask: NDArray[np.bool_],
    settings: Settings,
) -> dict[str, Any]:
    kw = settings.kw()
    pref, pref_source = _preference_for_a(data)
    human_pref = _label_preference(data)
    labels = None if human_pref is None else data.label[mask]
    out: dict[str, Any] = {
        "n_items": int(mask.sum()),
        "status": _status_counts(data.status[mask]),
        "position": S.position_bias(data.verdict_ab[mask], data.verdict_ba[mask], **kw).to_dict(),
        "verbosity": {
            "preference": pref_source,
            "preference_vs_length_difference": S.verbosity_bias(
                pref[mask],
                (data.length_a - data.length_b)[mask],
                labels=None if human_pref is None else human_pref[mask],
                **kw,
            ).to_dict(),
            "longer_preferred": S.longer_preference(
                data.verdict[mask], data.length_a[mask], data.length_b[mask], labels=labels, **kw
            ).to_dict(),
        },
        "verdicts": _verdict_counts(data.verdict[mask]),
    }
    judged = sum(out["verdicts"].values())
    out["tie_rate"] = clean(out["verdicts"]["tie"] / judged) if judged else None
    if labels is not None:
        out["accuracy_excluding_ties"] = S.pairwise_accuracy(
            data.verdict[mask], labels, ties="exclude", **kw
        ).to_dict()
    return out


def audit_report(
    results: Results,
    *,
    by: str | None = None,
    judge_family: str | None = None,
    model_field: str | None = None,
    prompt_field: str | None = None,
    mapping: Mapping[str, str] | None = None,
    label_field: str | None = None,
    scale: Sequence[float] | None = None,
    scales: Mapping[str, Sequence[float]] | None = None,
    alpha: float = 0.05,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Position, verbosity and self-preference biases and how the scale is used.

    Verbosity is reported raw and, where human labels exist, with the label held fixed:
    longer answers may really be better, and only the remainder is the judge's bias.
    """
    settings = settings or Settings()
    kw = settings.kw()
    report = _header(results, "audit", settings)
    report["by"] = by
    group_by = None if by is None else results.field(by)
    if (judge_family is None) != (model_field is None):
        raise ValueError("--judge-family and --model-field go together")
    if results.mode == "pairwise":
        data = results.pairs(results.pair_label_field(label_field))
        everything = np.ones(len(results), dtype=bool)
        report["pairwise"] = _pair_audit(data, everything, settings)
        if group_by is not None:
            report["pairwise"]["groups"] = {
                _group_name(key): _pair_audit(data, group_by == key, settings)
                for key in _group_keys(group_by)
            }
        if judge_family is not None and model_field is not None:
            report["pairwise"]["self_preference"] = _pair_self_preference(
                results, data, judge_family, model_field, alpha
            )
        return jsonable(report)
    prompts = None if prompt_field is None else results.field(prompt_field)
    families = None
    if judge_family is not None and model_field is not None:
        families = _families(results.field(model_field), judge_family)
    criteria: dict[str, Any] = {}
    for data in _criterion_data(results, mapping, scale, scales):
        labelled = not np.isnan(data.human).all()
        entry: dict[str, Any] = {
            "label_field": data.label_field,
            "status": _status_counts(data.status),
            "scale": None if data.scale is None else list(data.scale),
        }
        if data.scale is not None:
            entry["scale_use"] = S.scale_use(data.score, data.scale, groups=prompts).to_dict()
            entry["scale_use"]["tie_rate_between"] = (
                "two responses to the same prompt" if prompts is not None else "any two items"
            )
        kinds: list[ScoreKind] = ["parsed"]
        if not np.isnan(data.expected).all():
            kinds.append("expected")
        entry["verbosity"] = {
            kind: S.verbosity_bias(
                data.values(kind),
                data.lengths,
                labels=data.human if labelled else None,
                **kw,
            ).to_dict()
            for kind in kinds
        }
        if families is not None and judge_family is not None:
            entry["self_preference"] = S.self_preference(
                data.score,
                families,
                judge_family,
                human=data.human if labelled else None,
                alpha=alpha,
                n_resamples=settings.n_resamples,
                seed=settings.seed,
            ).to_dict()
        if group_by is not None:
            entry["groups"] = {
                _group_name(key): {
                    "n_items": int((group_by == key).sum()),
                    "status": _status_counts(data.status[group_by == key]),
                    "scale_use": None
                    if data.scale is None
                    else S.scale_use(data.score[group_by == key], data.scale).to_dict(),
                    "verbosity": S.verbosity_bias(
                        data.score[group_by == key],
                        data.lengths[group_by == key],
                        labels=data.human[group_by == key] if labelled else None,
                        **kw,
                    ).to_dict(),
                }
                for key in _group_keys(group_by)
            }
        criteria[data.criterion] = entry
    report["criteria"] = criteria
    return jsonable(report)


def _pair_self_preference(
    results: Results, data: PairData, family: str, model_field: str, alpha: float
) -> dict[str, Any]:
    """How often the judge picks its own family's response in mixed pairs, against how
    often people do on the same pairs (paired), or against 0.5 without labels."""
    fam_a = _families(results.field(f"{model_field}_a"), family)
    fam_b = _families(results.field(f"{model_field}_b"), family)
    slot = np.empty(len(fam_a), dtype=object)
    for i, (a, b) in enumerate(zip(fam_a.tolist(), fam_b.tolist(), strict=True)):
        slot[i] = (
            "A" if a == family and b == "other" else "B" if b == family and a == "other" else None
        )
    judge = _self_pick(data.verdict, slot)
    out: dict[str, Any] = {
        "judge_family": family,
        "mixed_pairs": int(sum(s is not None for s in slot.tolist())),
        "judge_self_rate": S.mean_estimate(judge, confidence=1 - alpha).to_dict(),
    }
    if not all(v is None for v in data.label.tolist()):
        human = _self_pick(data.label, slot)
        out["human_self_rate"] = S.mean_estimate(human, confidence=1 - alpha).to_dict()
        out["judge_minus_human"] = S.paired_difference(
            judge, human, name_x="judge", name_y="human", unit="pairs", alpha=alpha
        ).to_dict()
    return out


# ---------------------------------------------------------------- compare


def _ranked(means: Mapping[str, S.Estimate]) -> list[str]:
    return sorted(
        means, key=lambda m: (-(means[m].value if not math.isnan(means[m].value) else -math.inf), m)
    )


def _pairs_to_compare(
    ranking: list[str], baseline: str | None, all_pairs: bool
) -> list[tuple[str, str]]:
    if all_pairs:
        return [(x, y) for i, x in enumerate(ranking) for y in ranking[i + 1 :]]
    if baseline is not None:
        return [(m, baseline) for m in ranking if m != baseline]
    return list(itertools.pairwise(ranking))


def compare_report(
    results: Results,
    *,
    by: str,
    prompt_field: str | None = None,
    baseline: str | None = None,
    all_pairs: bool = False,
    score: ScoreKind = "parsed",
    mapping: Mapping[str, str] | None = None,
    scale: Sequence[float] | None = None,
    scales: Mapping[str, Sequence[float]] | None = None,
    model_a_field: str | None = None,
    model_b_field: str | None = None,
    alpha: float = 0.05,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Models compared under the judge: pointwise means and paired differences, or
    Bradley-Terry ratings and win rates for pairwise results.

    Differences are taken between neighbours in the ranking by default (is #1 really
    ahead of #2?), against `baseline`, or between all pairs.
    """
    settings = settings or Settings(confidence=1 - alpha)
    report = _header(results, "compare", settings)
    report.update({"by": by, "alpha": alpha})
    if results.mode == "pairwise":
        report["pairwise"] = _compare_pairs(
            results,
            model_a_field or f"{by}_a",
            model_b_field or f"{by}_b",
            baseline,
            alpha,
            settings,
        )
        return jsonable(report)
    models = results.field(by)
    if prompt_field is None and any("prompt_id" in j.metadata for j in results.judgments):
        prompt_field = "prompt_id"
    prompts = None if prompt_field is None else results.field(prompt_field)
    report.update({"prompt_field": prompt_field, "score": score})
    known = {str(m) for m in models.tolist() if m is not None}
    if baseline is not None and baseline not in known:
        raise ValueError(
            f"baseline {baseline!r} is not a value of {by} (have: {', '.join(sorted(known))})"
        )
    criteria: dict[str, Any] = {}
    for data in _criterion_data(results, mapping, scale, scales):
        values = data.values(score)
        keep = np.asarray([m is not None for m in models.tolist()])
        names = np.asarray([str(m) for m in models.tolist()], dtype=object)
        means = S.model_means(
            values[keep],
            names[keep],
            prompts=None if prompts is None else prompts[keep],
            confidence=settings.confidence,
        )
        ranking = _ranked(means)
        entry: dict[str, Any] = {
            "n_items": int(keep.sum()),
            "status": _status_counts(data.status),
            "means": {m: means[m].to_dict() for m in ranking},
            "ranking": ranking,
        }
        if not np.isnan(data.human).all():
            human = S.model_means(
                data.human[keep],
                names[keep],
                prompts=None if prompts is None else prompts[keep],
                confidence=settings.confidence,
            )
            entry["human_means"] = {m: human[m].to_dict() for m in ranking}
            judge_means = np.asarray([means[m].value for m in ranking])
            human_means = np.asarray([human[m].value for m in ranking])
            entry["system_level"] = {
                "spearman": S.spearman(judge_means, human_means, **settings.kw()).to_dict(),
                "kendall": S.kendall(judge_means, human_means, **settings.kw()).to_dict(),
            }
        if prompts is None:
            entry["differences"] = []
            entry["note"] = (
                "no prompt field: pass --prompt-field so differences are paired on prompts"
            )
        else:
            entry["differences"] = _holm(
                [
                    _difference(values[keep], names[keep], prompts[keep], x, y, alpha)
                    for x, y in _pairs_to_compare(ranking, baseline, all_pairs)
                ],
                alpha,
            )
            tested = [d for d in entry["differences"] if d["p_holm"] is not None]
            entry["multiple_comparisons"] = (
                f"{sum(d['significant'] for d in tested)} of {len(tested)} differences "
                f"significant at α={alpha:g}; {sum(d['significant_holm'] for d in tested)} "
                f"after Holm's correction for {len(tested)} comparisons"
            )
        note = _single_value_note(values)
        if note:
            entry["score_note"] = note
        criteria[data.criterion] = entry
    report["criteria"] = criteria
    return jsonable(report)


def _holm(diffs: list[dict[str, Any]], alpha: float) -> list[dict[str, Any]]:
    """Add Holm-adjusted p-values: with many neighbours compared, a few raw p < alpha are
    expected by chance alone."""
    tested = [d for d in diffs if d["p_value"] is not None and d["n"] >= 2]
    order = sorted(range(len(tested)), key=lambda k: tested[k]["p_value"])
    running = 0.0
    for rank, k in enumerate(order):
        running = max(running, min(1.0, (len(tested) - rank) * tested[k]["p_value"]))
        tested[k]["p_holm"] = running
        tested[k]["significant_holm"] = running < alpha
    for d in diffs:
        d.setdefault("p_holm", None)
        d.setdefault("significant_holm", False)
    return diffs


def _difference(
    values: FloatArray,
    names: NDArray[np.object_],
    prompts: NDArray[np.object_],
    x: str,
    y: str,
    alpha: float,
) -> dict[str, Any]:
    """A paired difference as a dict, saying so in words when it cannot be tested."""
    diff = S.compare_models(values, names, prompts, x, y, alpha=alpha).to_dict()
    if diff["n"] < 2 or diff["p_value"] is None:
        value = "-" if diff["value"] is None else f"{diff['value']:.3f}"
        reason = (
            f"only {diff['n']} shared prompt{'s' if diff['n'] != 1 else ''}"
            if diff["n"] < 2
            else "no variation in the paired differences"
        )
        diff["significant"] = False
        diff["sentence"] = (
            f"{x} - {y} = {value}, n={diff['n']} prompts: cannot be tested ({reason})"
        )
    return diff


def _compare_pairs(
    results: Results,
    field_a: str,
    field_b: str,
    baseline: str | None,
    alpha: float,
    settings: Settings,
) -> dict[str, Any]:
    model_a = results.field(field_a)
    model_b = results.field(field_b)
    data = results.pairs(results.pair_label_field())
    known = sorted({str(m) for m in [*model_a.tolist(), *model_b.tolist()] if m is not None})
    if baseline is None:
        played = Counter(str(m) for m in [*model_a.tolist(), *model_b.tolist()] if m is not None)
        baseline = max(known, key=lambda m: (played[m], m)) if known else None
    elif baseline not in known:
        raise ValueError(f"baseline {baseline!r} played no games (models: {', '.join(known)})")
    kw = settings.kw()
    unnamed = np.asarray([a is None or b is None for a, b in zip(model_a, model_b, strict=True)])
    verdicts = np.where(unnamed, None, data.verdict)
    ratings = S.bradley_terry(model_a, model_b, verdicts, anchor=baseline, **kw)
    out: dict[str, Any] = {
        "model_fields": [field_a, field_b],
        "baseline": baseline,
        "n_pairs": len(results),
        "status": _status_counts(data.status),
        "bradley_terry": ratings.to_dict(),
        "ranking": [m for m, _ in ratings.ranked()],
        "win_rates": {
            m: e.to_dict() for m, e in S.win_rates(model_a, model_b, verdicts, **kw).items()
        },
        "pairs_without_model_names": int(unnamed.sum()),
        "sentences": [],
    }
    if not all(v is None for v in data.label.tolist()):
        labels = np.where(unnamed, None, data.label)
        human = S.bradley_terry(model_a, model_b, labels, anchor=baseline, **kw)
        out["human_bradley_terry"] = human.to_dict()
    lc: dict[str, Any] = {}
    for model in known:
        if model == baseline:
            continue
        pref, len_model, len_base = _games_against(model, str(baseline), model_a, model_b, data)
        if pref.size == 0:
            continue
        result = S.length_controlled_win_rate(pref, len_model, len_base, **kw)
        lc[model] = {**result.to_dict(), "sentence": result.sentence(model, str(baseline))}
    out["length_controlled"] = lc
    for model, estimate in ratings.ranked():
        if model == baseline:
            continue
        gap = estimate.value - ratings.base
        low, high = estimate.low - ratings.base, estimate.high - ratings.base
        significant = math.isfinite(low) and (low > 0 or high < 0)
        verdict = "significant" if significant else "not significant"
        out["sentences"].append(
            f"{model} vs {baseline}: {gap:+.0f} rating points [{low:+.0f}, {high:+.0f}], "
            f"n={estimate.n} games: {verdict} at α={alpha:g}"
        )
    return out


def _games_against(
    model: str,
    baseline: str,
    model_a: NDArray[np.object_],
    model_b: NDArray[np.object_],
    data: PairData,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    prefs: list[float] = []
    len_model: list[float] = []
    len_base: list[float] = []
    for i, (a, b) in enumerate(zip(model_a.tolist(), model_b.tolist(), strict=True)):
        if a == model and b == baseline:
            slot, lm, lb = "A", data.length_a[i], data.length_b[i]
        elif a == baseline and b == model:
            slot, lm, lb = "B", data.length_b[i], data.length_a[i]
        else:
            continue
        prefs.append(
            float(
                S.verdict_preference(np.asarray([data.verdict[i]], dtype=object), model_slot=slot)[
                    0
                ]
            )
        )
        len_model.append(lm)
        len_base.append(lb)
    return np.asarray(prefs), np.asarray(len_model), np.asarray(len_base)


# ---------------------------------------------------------------- plots


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def meta_plots(
    results: Results,
    report: Mapping[str, Any],
    out_dir: str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    label_field: str | None = None,
    scale: Sequence[float] | None = None,
    scales: Mapping[str, Sequence[float]] | None = None,
    suffix: str = "png",
) -> list[Path]:
    """Judge-vs-human scatter (parsed and expected), score histograms and confusion heat
    maps for every labelled criterion, or the verdict confusion for pairs."""
    from jurist import plots

    out = Path(out_dir)
    paths: list[Path] = []
    if results.mode == "pairwise":
        pair = report.get("pairwise", {})
        if "confusion" in pair:
            cm = pair["confusion"]
            paths.append(
                plots.confusion_heatmap(
                    np.asarray(cm["counts"]),
                    out / f"confusion.{suffix}",
                    row_labels=cm["labels"],
                    col_labels=cm["labels"],
                )
            )
        return paths
    for data in _criterion_data(results, mapping, scale, scales):
        if data.label_field is None or np.isnan(data.human).all():
            continue
        name = _safe(data.criterion)
        for kind in ("parsed", "expected"):
            values = data.values(kind)  # type: ignore[arg-type]
            if np.isnan(values).all():
                continue
            tag = "" if kind == "parsed" else "_expected"
            paths.append(
                plots.scatter_judge_vs_human(
                    values,
                    data.human,
                    out / f"scatter_{name}{tag}.{suffix}",
                    title=f"{data.criterion}: judge ({kind}) vs human",
                    ylabel=f"judge score ({kind})",
                    xlabel=f"human score ({data.label_field})",
                )
            )
        histograms = {"human": data.human, "judge (parsed)": data.score}
        if not np.isnan(data.expected).all():
            histograms["judge (expected)"] = data.expected
        paths.append(
            plots.score_histograms(
                histograms,
                out / f"hist_{name}.{suffix}",
                scale=data.scale,
                title=f"{data.criterion}: score distribution",
            )
        )
        if data.scale is not None:
            cm = confusion_on_scale(data.score, data.human, data.scale)
            paths.append(
                plots.confusion_heatmap(
                    np.asarray(cm["counts"]),
                    out / f"confusion_{name}.{suffix}",
                    row_labels=cm["labels"],
                    col_labels=cm["labels"],
                    title=f"{data.criterion}: human vs judge (rounded to the scale)",
                )
            )
    return paths


def audit_plots(
    results: Results,
    report: Mapping[str, Any],
    out_dir: str | Path,
    *,
    mapping: Mapping[str, str] | None = None,
    scale: Sequence[float] | None = None,
    scales: Mapping[str, Sequence[float]] | None = None,
    suffix: str = "png",
) -> list[Path]:
    """Score histograms (scale use) for pointwise results; for pairs, a forest plot of
    first-slot rate minus 0.5 and of judge-minus-human longer-preference, per group."""
    from jurist import plots

    out = Path(out_dir)
    paths: list[Path] = []
    if results.mode == "pairwise":
        pair = report["pairwise"]
        rows = [("all pairs", pair)]
        rows += [(str(k), v) for k, v in pair.get("groups", {}).items()]
        position = []
        for name, entry in rows:
            e = entry["position"]["first_slot_rate"]
            if e["value"] is None or e["low"] is None:
                continue
            label = f"{name} (n={e['n']})"
            position.append((label, e["value"] - 0.5, e["low"] - 0.5, e["high"] - 0.5))
        if position:
            paths.append(
                plots.forest_plot(
                    position,
                    out / f"position_bias.{suffix}",
                    title="Position bias: first-slot rate − 0.5",
                    xlabel="first-slot rate − 0.5 (95% CI; > 0 favours first)",
                )
            )
        return paths
    for data in _criterion_data(results, mapping, scale, scales):
        if data.scale is None:
            continue
        histograms = {"judge (parsed)": data.score}
        if not np.isnan(data.human).all():
            histograms["human"] = data.human
        paths.append(
            plots.score_histograms(
                histograms,
                out / f"scale_use_{_safe(data.criterion)}.{suffix}",
                scale=data.scale,
                title=f"{data.criterion}: scale use",
            )
        )
    return paths


def compare_plots(
    report: Mapping[str, Any], out_dir: str | Path, *, suffix: str = "png"
) -> list[Path]:
    """Forest plot of model differences (pointwise) or of ratings against the baseline."""
    from jurist import plots

    out = Path(out_dir)
    paths: list[Path] = []
    if "pairwise" in report:
        pair = report["pairwise"]
        base = pair["bradley_terry"]["base"]
        rows = [
            (
                f"{m} − {pair['baseline']} (n={e['n']})",
                e["value"] - base,
                e["low"] - base,
                e["high"] - base,
            )
            for m, e in pair["bradley_terry"]["ratings"].items()
            if m != pair["baseline"] and e["low"] is not None
        ]
        if rows:
            paths.append(
                plots.forest_plot(
                    rows,
                    out / f"forest_ratings.{suffix}",
                    title="Bradley-Terry rating vs baseline",
                    xlabel="rating difference (Elo scale, CI)",
                )
            )
        return paths
    for cid, entry in report.get("criteria", {}).items():
        diffs = entry.get("differences") or []
        rows = [
            (f"{d['name_x']} − {d['name_y']} (n={d['n']})", d["value"], d["low"], d["high"])
            for d in diffs
            if d["low"] is not None and d["high"] is not None
        ]
        if rows:
            paths.append(
                plots.forest_plot(
                    rows,
                    out / f"forest_{_safe(cid)}.{suffix}",
                    title=f"{cid}: paired differences between models ({report.get('score')})",
                    xlabel=f"difference in mean score ({1 - report.get('alpha', 0.05):.0%} CI)",
                )
            )
    return paths
