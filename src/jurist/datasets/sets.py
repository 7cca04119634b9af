"""Loaders for public human-labelled benchmarks, so judges can be measured against people.

Every loader yields `Item`s whose `labels` hold the human (or ground-truth) judgments and
whose `metadata` holds what a breakdown needs (system, scenario, bias type, annotators).
JSONL sources stream line by line; JSON documents have to be parsed whole. A malformed
source raises `DataError` naming the file, the row and the field, so a corrupted copy is
found at once instead of silently skewing an agreement figure.

Pairwise items carry `preference` in {"A", "B", "tie"}: "A" means `response` is better.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Literal

from jurist.core.data import (
    DataError,
    Item,
    Message,
    iter_jsonl,
    open_text,
    read_json_document,
    undecodable_row_error,
)
from jurist.core.rubric import Rubric, load_rubric

DATA_ENV = "JURIST_DATA"
PRESETS_DIR = Path(__file__).resolve().parents[1] / "presets"
_REPO_ROOT = Path(__file__).resolve().parents[3]

SUMMEVAL_CRITERIA = ("coherence", "consistency", "fluency", "relevance")
LLMRUBRIC_QUESTIONS = tuple(f"Q{number}" for number in range(9))

Loader = Callable[[Path, int | None], Iterator[Item]]


class DatasetNotFoundError(FileNotFoundError):
    """The benchmark data is not where we looked; the message says where and how to point to it."""


@dataclass(frozen=True)
class Preset:
    """A benchmark bundled with the rubric and judging mode its labels were collected under."""

    name: str
    mode: Literal["pointwise", "pairwise"]
    loader: Loader
    rubric_path: Path
    labels: tuple[str, ...]
    description: str

    def load(self, data_dir: str | Path | None = None, limit: int | None = None) -> Iterator[Item]:
        return self.loader(resolve_data_dir(data_dir), limit)

    def load_rubric(self) -> Rubric:
        return load_rubric(self.rubric_path)


# --- locating data -------------------------------------------------------------------------


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """Find the shared data folder: the argument, then $JURIST_DATA, then ../shared/data."""
    hint = (
        f"pass data_dir=... or set {DATA_ENV} to the folder that holds the benchmark "
        "folders (summeval/, autoj/, judgebench/, evalbiasbench/, llm-rubric/, hhh/)"
    )
    if data_dir is not None or os.environ.get(DATA_ENV):
        chosen = Path(data_dir if data_dir is not None else os.environ[DATA_ENV])
        source = "data_dir" if data_dir is not None else f"${DATA_ENV}"
        if not chosen.exists():
            raise DatasetNotFoundError(
                f"data folder {chosen} (from {source}) does not exist; {hint}"
            )
        return chosen
    candidates = [Path.cwd() / ".." / "shared" / "data", _REPO_ROOT / ".." / "shared" / "data"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    tried = ", ".join(str(candidate.resolve()) for candidate in candidates)
    raise DatasetNotFoundError(f"no benchmark data folder found (tried {tried}); {hint}")


def _locate(data_dir: str | Path, folder: str, filename: str) -> Path:
    """Accept the shared data root, the benchmark's own folder, or the file itself."""
    data_dir = Path(data_dir)
    if data_dir.is_file():
        return data_dir
    candidates = [data_dir / folder / filename, data_dir / filename]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    tried = ", ".join(str(candidate) for candidate in candidates)
    raise DatasetNotFoundError(
        f"{filename} not found (tried {tried}); point data_dir (or ${DATA_ENV}) at the "
        f"shared data folder or at the {folder}/ folder"
    )


def _check_limit(limit: int | None) -> None:
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0 or None, got {limit}")


def _limited(items: Iterable[Item], limit: int | None) -> Iterator[Item]:
    return islice(items, limit)


# --- reading rows with located errors ------------------------------------------------------


@dataclass(frozen=True)
class _Row:
    """One source record plus where it came from, so every complaint can say file/row/field."""

    path: str
    number: int
    record: Mapping[str, Any]
    prefix: str = ""

    def error(self, field: str | None, problem: str) -> DataError:
        name = f"{self.prefix}{field}" if field is not None else (self.prefix.rstrip(".") or None)
        return DataError(self.path, self.number, name, problem)

    def get(self, field: str) -> Any:
        if field not in self.record:
            raise self.error(field, "missing")
        return self.record[field]

    def text(self, field: str, *, non_empty: bool = False) -> str:
        value = self.get(field)
        if not isinstance(value, str):
            raise self.error(field, f"expected text, got {_kind(value)}")
        if non_empty and not value.strip():
            raise self.error(field, "empty")
        return value

    def optional_text(self, field: str) -> str | None:
        value = self.record.get(field)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.error(field, f"expected text, got {_kind(value)}")
        return value

    def score(self, field: str, low: float, high: float) -> float:
        value = self.get(field)
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise self.error(field, f"expected a number, got {value!r}")
        if not low <= value <= high:
            raise self.error(field, f"score {value!r} is outside [{low}, {high}]")
        return float(value)

    def choice(self, field: str, mapping: Mapping[Any, str]) -> str:
        value = self.get(field)
        if isinstance(value, bool) or value not in mapping:
            allowed = ", ".join(repr(key) for key in mapping)
            raise self.error(field, f"expected one of {allowed}, got {value!r}")
        return mapping[value]

    def nested(self, field: str) -> _Row:
        value = self.get(field)
        if not isinstance(value, Mapping):
            raise self.error(field, f"expected an object, got {_kind(value)}")
        return _Row(self.path, self.number, value, f"{self.prefix}{field}.")


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _row(path: Path, number: int, record: Any) -> _Row:
    if not isinstance(record, Mapping):
        raise DataError(
            str(path), number, None, f"a record must be a JSON object, got {_kind(record)}"
        )
    return _Row(str(path), number, record)


def _read_json(path: Path) -> Any:
    document, _ = read_json_document(path)
    return document


def _json_list(path: Path) -> list[Any]:
    document = _read_json(path)
    if not isinstance(document, list):
        raise DataError(
            str(path), 0, None, f"expected a JSON list of records, got {_kind(document)}"
        )
    return document


def _jsonl(path: Path) -> Iterator[_Row]:
    for number, record in iter_jsonl(path):
        if isinstance(record, DataError):
            raise record
        yield _row(path, number, record)


class _UniqueIds:
    """Duplicate ids would silently merge two items' results downstream."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def check(self, row: _Row, item_id: str, field: str) -> str:
        if item_id in self._seen:
            raise row.error(field, f"duplicate id {item_id!r}")
        self._seen.add(item_id)
        return item_id


# --- SummEval ------------------------------------------------------------------------------


def load_summeval(data_dir: str | Path, limit: int | None = None) -> Iterator[Item]:
    """SummEval: one pointwise item per (document, system) summary with expert mean scores.

    input = the source article, response = the summary, reference = the first human
    reference; labels = {coherence, consistency, fluency, relevance} as floats in [1, 5].
    """
    _check_limit(limit)
    path = _locate(data_dir, "summeval", "summeval_bartscore.json")
    return _limited(_iter_summeval(path), limit)


def _iter_summeval(path: Path) -> Iterator[Item]:
    ids = _UniqueIds()
    for number, record in enumerate(_json_list(path), start=1):
        row = _row(path, number, record)
        doc_id = row.text("doc_id", non_empty=True)
        system_id = row.text("system_id", non_empty=True)
        scores = row.nested("scores")
        labels = {name: scores.score(name, 1, 5) for name in SUMMEVAL_CRITERIA}
        yield Item(
            id=ids.check(row, f"{doc_id}/{system_id}", "doc_id"),
            input=row.text("source", non_empty=True),
            response=row.text("summary"),
            reference=_first_reference(row),
            labels=labels,
            metadata={"doc_id": doc_id, "system_id": system_id, "prompt_id": doc_id},
        )


def _first_reference(row: _Row) -> str | None:
    references = row.record.get("references")
    if references is None:
        return row.optional_text("reference")
    if not isinstance(references, list):
        raise row.error("references", f"expected a list of texts, got {_kind(references)}")
    if not references:
        return row.optional_text("reference")
    if not isinstance(references[0], str):
        raise row.error("references[0]", f"expected text, got {_kind(references[0])}")
    return references[0]


# --- Auto-J --------------------------------------------------------------------------------

_AUTOJ_LABELS = {0: "A", 1: "B", 2: "tie"}


def load_autoj(data_dir: str | Path, limit: int | None = None) -> Iterator[Item]:
    """Auto-J pairwise test set: human preference between two responses, ties included.

    Ids are `autoj/<line number>`, stable as long as the file is not reordered.
    """
    _check_limit(limit)
    path = _locate(data_dir, "autoj", "autoj_pairwise.json")
    return _limited(_iter_autoj(path), limit)


def _iter_autoj(path: Path) -> Iterator[Item]:
    for row in _jsonl(path):
        yield Item(
            id=f"autoj/{row.number}",
            input=row.text("prompt", non_empty=True),
            # One source response is empty on purpose (the label prefers the other one).
            response=row.text("response 1"),
            response_b=row.text("response 2"),
            labels={"preference": row.choice("label", _AUTOJ_LABELS)},
            metadata={"scenario": row.text("scenario")},
        )


# --- JudgeBench ----------------------------------------------------------------------------

_JUDGEBENCH_LABELS = {"A>B": "A", "B>A": "B"}


def load_judgebench(data_dir: str | Path, limit: int | None = None) -> Iterator[Item]:
    """JudgeBench: pairs where one response is objectively correct (GPT-4o and Claude sets)."""
    _check_limit(limit)
    paths = _judgebench_files(Path(data_dir))
    return _limited(_iter_judgebench(paths), limit)


def _judgebench_files(data_dir: Path) -> list[Path]:
    if data_dir.is_file():
        return [data_dir]
    for folder in (data_dir / "judgebench", data_dir):
        paths = sorted(folder.glob("*judgebench*.jsonl")) if folder.is_dir() else []
        if paths:
            return paths
    raise DatasetNotFoundError(
        f"no JudgeBench *.jsonl files under {data_dir / 'judgebench'} or {data_dir}; point "
        f"data_dir (or ${DATA_ENV}) at the shared data folder or at the judgebench/ folder"
    )


def _iter_judgebench(paths: list[Path]) -> Iterator[Item]:
    ids = _UniqueIds()
    for path in paths:
        for row in _jsonl(path):
            yield Item(
                id=ids.check(row, row.text("pair_id", non_empty=True), "pair_id"),
                input=row.text("question", non_empty=True),
                response=row.text("response_A"),
                response_b=row.text("response_B"),
                labels={"preference": row.choice("label", _JUDGEBENCH_LABELS)},
                metadata={
                    "source": row.text("source"),
                    "response_model": row.text("response_model"),
                    "original_id": str(row.get("original_id")),
                },
            )


# --- EvalBiasBench -------------------------------------------------------------------------

_BIASBENCH_LABELS = {1: "A", 2: "B"}


def load_evalbiasbench(
    data_dir: str | Path, limit: int | None = None, *, balance: bool = True
) -> Iterator[Item]:
    """EvalBiasBench: pairs built to trip judges on one bias each (length, concreteness, ...).

    Every source label is 1 (the first response is the better one), so a judge that always
    answers "A" would look perfect. With `balance` the two responses are swapped on odd
    record indices (0-based, file order) and `metadata["swapped"]` says so; pass
    `balance=False` for the file's own order.
    """
    _check_limit(limit)
    path = _locate(data_dir, "evalbiasbench", "biasbench.json")
    return _limited(_iter_evalbiasbench(path, balance), limit)


def _biasbench_records(path: Path) -> Iterator[tuple[int, Any]]:
    """The file is an object of lists keyed by bias type (the published README says a list)."""
    document = _read_json(path)
    if isinstance(document, list):
        groups: Iterable[Any] = [document]
    elif isinstance(document, dict):
        groups = document.values()
    else:
        raise DataError(str(path), 0, None, f"expected an object of lists, got {_kind(document)}")
    number = 0
    for group in groups:
        if not isinstance(group, list):
            raise DataError(str(path), number + 1, None, f"expected a list, got {_kind(group)}")
        for record in group:
            number += 1
            yield number, record


def _iter_evalbiasbench(path: Path, balance: bool) -> Iterator[Item]:
    for number, record in _biasbench_records(path):
        row = _row(path, number, record)
        better = row.choice("label", _BIASBENCH_LABELS)
        first, second = row.text("response1"), row.text("response2")
        swapped = balance and (number - 1) % 2 == 1
        if swapped:
            first, second = second, first
            better = "B" if better == "A" else "A"
        yield Item(
            id=f"evalbiasbench/{number}",
            input=row.text("instruction", non_empty=True),
            response=first,
            response_b=second,
            labels={"preference": better},
            metadata={"bias": row.text("bias"), "swapped": swapped},
        )


# --- LLM-Rubric ----------------------------------------------------------------------------


def load_llmrubric(
    data_dir: str | Path, limit: int | None = None, *, na_as_none: bool = True
) -> Iterator[Item]:
    """LLM-Rubric real conversations: whole dialogues rated per annotator on Q0..Q8.

    The whole dialogue is what is judged, so `input` is the full conversation as chat
    messages (it opens with the assistant's greeting and ends with an assistant turn) and
    `response` is None. `reference` holds the search results the assistant was grounded in
    (None for dialogue system 0, which had none); the citation questions need it.

    `labels[q]` lists one score per annotator, in the TSV's row order, matching
    `metadata["annotator_ids"]`. Scores are 1-4; the TSV's 0 means "not applicable" (the
    citation questions on dialogues without citations) and the authors' evaluation drops
    it, so it becomes None unless `na_as_none=False`.
    """
    _check_limit(limit)
    dialogues = _locate(data_dir, "llm-rubric", "real_data.json")
    judgments = _locate(dialogues.parent, "llm-rubric", "human_judges_real_convs_FIXED_ANON.tsv")
    return _limited(_iter_llmrubric(dialogues, judgments, na_as_none), limit)


@dataclass
class _Annotations:
    dialogue_system: int | None
    annotator_ids: list[str]
    scores: dict[str, list[int | None]]


def _read_llmrubric_judgments(path: Path, na_as_none: bool) -> dict[str, tuple[int, _Annotations]]:
    """text_id -> (first TSV row, annotations); the TSV is small, the join needs all of it."""
    needed = ("text_id", "annotator_id", "dialogue_system", *LLMRUBRIC_QUESTIONS)
    joined: dict[str, tuple[int, _Annotations]] = {}
    with open_text(path, newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        for column in needed:
            if column not in (reader.fieldnames or []):
                raise DataError(str(path), 1, column, "column missing from the header")
        # Row 1 is the header, so data rows are numbered as a spreadsheet shows them.
        for number, record in enumerate(reader, start=2):
            row = _Row(str(path), number, record)
            if None in record:
                raise row.error(None, "more cells than header columns")
            located = undecodable_row_error(path, number, record, handle.encoding)
            if located is not None:
                raise located
            text_id = row.text("text_id", non_empty=True).strip()
            system = _tsv_int(row, "dialogue_system", 0, 2**31)
            _, annotations = joined.setdefault(
                text_id, (number, _Annotations(system, [], {q: [] for q in LLMRUBRIC_QUESTIONS}))
            )
            if annotations.dialogue_system != system:
                raise row.error(
                    "dialogue_system",
                    f"{system} differs from {annotations.dialogue_system} in an earlier row "
                    f"for text_id {text_id!r}",
                )
            annotations.annotator_ids.append(row.text("annotator_id", non_empty=True).strip())
            for question in LLMRUBRIC_QUESTIONS:
                score = _tsv_int(row, question, 0, 4)
                annotations.scores[question].append(None if na_as_none and score == 0 else score)
    return joined


def _tsv_int(row: _Row, field: str, low: int, high: int) -> int:
    raw = row.record.get(field)
    if raw is None or not str(raw).strip():
        raise row.error(field, "missing")
    try:
        value = float(raw)
    except ValueError:
        raise row.error(field, f"expected an integer, got {raw!r}") from None
    if not value.is_integer() or not low <= value <= high:
        raise row.error(field, f"expected an integer in [{low}, {high}], got {raw!r}")
    return int(value)


def _messages(row: _Row) -> list[Message]:
    turns = row.get("messages")
    if not isinstance(turns, list) or not turns:
        raise row.error("messages", "expected a non-empty list of chat turns")
    messages = []
    for index, turn in enumerate(turns):
        if not isinstance(turn, Mapping):
            raise row.error(f"messages[{index}]", f"expected an object, got {_kind(turn)}")
        role = _Row(row.path, row.number, turn, f"messages[{index}].")
        messages.append(
            Message(role=role.text("role", non_empty=True), content=role.text("content"))
        )
    return messages


def _iter_llmrubric(dialogues: Path, judgments: Path, na_as_none: bool) -> Iterator[Item]:
    annotations_by_id = _read_llmrubric_judgments(judgments, na_as_none)
    records = _json_list(dialogues)
    known = {record.get("_id") for record in records if isinstance(record, Mapping)}
    for text_id, (number, _) in annotations_by_id.items():
        if text_id not in known:
            raise DataError(
                str(judgments), number, "text_id", f"no dialogue {text_id!r} in {dialogues}"
            )
    ids = _UniqueIds()
    for number, record in enumerate(records, start=1):
        row = _row(dialogues, number, record)
        dialogue_id = ids.check(row, row.text("_id", non_empty=True), "_id")
        messages = _messages(row)
        _, annotations = annotations_by_id.get(
            dialogue_id, (0, _Annotations(None, [], {q: [] for q in LLMRUBRIC_QUESTIONS}))
        )
        yield Item(
            id=dialogue_id,
            input=messages,
            response=None,
            reference=row.optional_text("ref"),
            labels={question: list(scores) for question, scores in annotations.scores.items()},
            metadata={
                "dialogue_system": annotations.dialogue_system,
                "annotator_ids": list(annotations.annotator_ids),
                "topic": row.optional_text("topic"),
                "turns": len(messages),
            },
        )


# --- HHH alignment -------------------------------------------------------------------------

_INSTRUCTION_MARK = "###The instruction to evaluate:"
_RESPONSE_MARK = "###Response to evaluate:"
_RUBRIC_MARK = "###Score Rubrics:"
_FEEDBACK_MARK = "###Feedback:"


def load_hhh(
    data_dir: str | Path, limit: int | None = None, *, balance: bool = True
) -> Iterator[Item]:
    """HHH alignment: human chosen vs rejected responses, taken out of Prometheus prompts.

    Each record holds two complete grading prompts; the instruction and the response are
    cut out of them. To avoid position leakage the chosen response is A on even record
    indices (0-based) and B on odd ones (`balance=False`: always A).
    """
    _check_limit(limit)
    path = _locate(data_dir, "hhh", "hhh_alignment_eval.json")
    return _limited(_iter_hhh(path, balance), limit)


def split_prometheus_prompt(prompt: str) -> tuple[str, str, str]:
    """(instruction, response, score rubric) from an absolute-grading Prometheus prompt.

    Raises ValueError naming the first marker that is missing.
    """
    parts = []
    rest = prompt
    for mark in (_INSTRUCTION_MARK, _RESPONSE_MARK, _RUBRIC_MARK):
        if mark not in rest:
            raise ValueError(f"no {mark!r} marker")
        before, rest = rest.split(mark, 1)
        parts.append(before)
    rubric = rest.split(_FEEDBACK_MARK, 1)[0]
    _, instruction, response = parts
    return instruction.strip(), response.strip(), rubric.strip()


def _iter_hhh(path: Path, balance: bool) -> Iterator[Item]:
    for index, record in enumerate(_json_list(path)):
        row = _row(path, index + 1, record)
        pieces = {}
        for field in ("chosen_instruction", "rejected_instruction"):
            prompt = row.text(field)
            try:
                pieces[field] = split_prometheus_prompt(prompt)
            except ValueError as error:
                raise row.error(field, str(error)) from None
        instruction, chosen, rubric = pieces["chosen_instruction"]
        other_instruction, rejected, _ = pieces["rejected_instruction"]
        if other_instruction != instruction:
            raise row.error(
                "rejected_instruction", "its instruction differs from chosen_instruction's"
            )
        chosen_first = not balance or index % 2 == 0
        yield Item(
            id=f"hhh/{index + 1}",
            input=instruction,
            response=chosen if chosen_first else rejected,
            response_b=rejected if chosen_first else chosen,
            labels={"preference": "A" if chosen_first else "B"},
            metadata={"source": row.text("source"), "score_rubric": rubric},
        )


# --- registry ------------------------------------------------------------------------------

PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="summeval",
            mode="pointwise",
            loader=load_summeval,
            rubric_path=PRESETS_DIR / "summeval.yaml",
            labels=SUMMEVAL_CRITERIA,
            description="SummEval: 1,600 CNN/DailyMail summaries from 16 systems, expert means "
            "(1-5) for coherence, consistency, fluency and relevance.",
        ),
        Preset(
            name="autoj",
            mode="pairwise",
            loader=load_autoj,
            rubric_path=PRESETS_DIR / "pairwise_general.yaml",
            labels=("preference",),
            description="Auto-J: 1,392 response pairs over 58 real-user scenarios, human "
            "preference A / B / tie.",
        ),
        Preset(
            name="judgebench",
            mode="pairwise",
            loader=load_judgebench,
            rubric_path=PRESETS_DIR / "judgebench.yaml",
            labels=("preference",),
            description="JudgeBench: 620 hard reasoning, maths, coding and knowledge pairs with "
            "an objectively correct response (A / B).",
        ),
        Preset(
            name="evalbiasbench",
            mode="pairwise",
            loader=load_evalbiasbench,
            rubric_path=PRESETS_DIR / "pairwise_general.yaml",
            labels=("preference",),
            description="EvalBiasBench: 80 pairs in 6 bias types that mislead judges (length, "
            "concreteness, empty reference, ...); positions balanced.",
        ),
        Preset(
            name="llmrubric",
            mode="pointwise",
            loader=load_llmrubric,
            rubric_path=PRESETS_DIR / "llmrubric.yaml",
            labels=LLMRUBRIC_QUESTIONS,
            description="LLM-Rubric: 223 information-seeking dialogues, per-annotator 1-4 "
            "answers to 9 rubric questions (Q0 overall satisfaction).",
        ),
        Preset(
            name="hhh",
            mode="pairwise",
            loader=load_hhh,
            rubric_path=PRESETS_DIR / "pairwise_general.yaml",
            labels=("preference",),
            description="HHH alignment: 221 chosen / rejected pairs (helpful, harmless, "
            "honest, other); positions balanced.",
        ),
    )
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known presets: {', '.join(sorted(PRESETS))}")
    return PRESETS[name]


def load_preset(
    name: str, data_dir: str | Path | None = None, limit: int | None = None
) -> Iterator[Item]:
    """Stream a preset's items; `data_dir` is the shared data folder (see resolve_data_dir)."""
    return get_preset(name).load(data_dir, limit)
