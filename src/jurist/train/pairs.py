"""Preference pairs from the judge's own rationales (self-rationalization).

The judge answers each training item several times (temperature > 0, a distinct seed per
sample) through a `JudgeSession`, the same cached layers that grade; the answer closest to
the human label becomes `chosen`, the furthest `rejected`. The pair's `prompt` is the very
text the judge sees at grade time, taken from the judge's own request, so what is trained is
what is judged.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from jurist.backends import Backend, CallPolicy
from jurist.backends.hf import chat_prompt
from jurist.core.completion import Request
from jurist.core.data import DataError, Item, iter_jsonl, open_text, read_json_document
from jurist.core.errors import ConfigError, InputError
from jurist.core.judgment import Judgment, PairwiseJudgment, PointwiseJudgment
from jurist.core.rubric import Criterion, Rubric
from jurist.judges import JudgeOptions, make_judge
from jurist.judges.answering import SamplingOptions
from jurist.session import JudgeSession, JudgeSetup
from jurist.store import Store

PAIR_KEY = "ab"  # pairwise samples are drawn in the original order only
VERDICT_POSITION = {"A": 0.0, "tie": 0.5, "B": 1.0}


@dataclass(frozen=True)
class Candidate:
    """One sampled judgment: its value (score or verdict), the raw answer and rationale."""

    value: float | str
    text: str
    rationale: str | None = None
    seed: int = 0
    confidence: float | None = None  # the judge's probability of its own value, when known


@dataclass(frozen=True)
class Choice:
    """A curated pair before it is tied to a prompt; `margin` is how much further from the
    label the rejected answer is than the chosen one."""

    chosen: Candidate
    rejected: Candidate
    margin: float


def position(value: float | str) -> float:
    """Where a value lies on a line: scores as they are, verdicts A < tie < B."""
    if isinstance(value, str):
        if value not in VERDICT_POSITION:
            raise ValueError(f"unknown verdict {value!r}; expected A, B or tie")
        return VERDICT_POSITION[value]
    return float(value)


def curate(candidates: Sequence[Candidate], label: float | str | None) -> Choice | None:
    """chosen = the first sample at the label (nearest when none is), rejected = the first
    furthest from it; None when there is no label or no sample is further than another
    (all equal), since such a pair teaches nothing."""
    if label is None or len(candidates) < 2:
        return None
    target = position(label)
    distances = [abs(position(c.value) - target) for c in candidates]
    near = min(range(len(candidates)), key=lambda i: distances[i])
    far = max(range(len(candidates)), key=lambda i: distances[i])
    margin = distances[far] - distances[near]
    if margin <= 0 or candidates[near].text == candidates[far].text:
        return None
    return Choice(candidates[near], candidates[far], round(margin, 6))


@dataclass(frozen=True)
class Unit:
    """One item and criterion (or one pair order) with its grade-time prompt and samples."""

    item: Item
    key: str
    prompt: str
    candidates: tuple[Candidate, ...]
    label: float | str | None
    parse_errors: int = 0


class PreferencePair(BaseModel):
    """One row of the DPO data set; the extra columns say where it came from."""

    prompt: str
    chosen: str
    rejected: str
    item_id: str
    key: str
    chosen_value: float | str
    rejected_value: float | str
    label: float | str | None
    margin: float
    source: str  # "label" or "meta-judge"
    group: str | None = None


class PairYield(BaseModel):
    """How many units gave a usable pair and why the others did not."""

    units: int = 0
    items: int = 0
    items_with_pair: int = 0
    pairs: int = 0
    from_labels: int = 0
    from_meta_judge: int = 0
    no_label: int = 0
    all_equal: int = 0
    too_few_parsed: int = 0
    parse_errors: int = 0
    samples: int = 0
    margins: dict[str, int] = {}

    def render(self) -> str:
        margins = ", ".join(f"{k}: {v}" for k, v in sorted(self.margins.items(), key=_num)) or "-"
        share = self.items_with_pair / self.items if self.items else math.nan
        return "\n".join(
            [
                f"pairs: {self.pairs} from {self.units} item-criterion units "
                f"({self.from_labels} by label, {self.from_meta_judge} by meta-judging)",
                f"items with a usable pair: {self.items_with_pair} of {self.items} ({share:.0%})",
                f"no pair: {self.all_equal} all samples equal, {self.no_label} without a label, "
                f"{self.too_few_parsed} with fewer than 2 parsed samples",
                f"samples: {self.samples}, parse errors: {self.parse_errors}",
                f"margin distribution (|label - rejected| - |label - chosen|): {margins}",
            ]
        )


def _num(entry: tuple[str, int]) -> float:
    return float(entry[0])


@dataclass
class PairSet:
    pairs: list[PreferencePair]
    report: PairYield
    units: list[Unit] = field(default_factory=list)


# --- the grade-time prompt -----------------------------------------------------------------


TURN_END = "<end_of_turn>"


def prompt_text(request: Request, tokenizer: Any = None, model_type: str = "gemma3") -> str:
    """The text the model reads for a request, built by the transformers backend's own
    function: its tokenizer's chat template, or Gemma's turn format without one."""
    return chat_prompt(tokenizer, model_type, request.messages)


def chat_answer(text: str) -> str:
    """A model answer as a training target: the text and the end of its turn, so the
    trained judge learns to stop where grade-time generation stops."""
    return text if text.endswith(TURN_END) else text + TURN_END


def grade_prompts(judge: Any, item: Item) -> dict[str, str]:
    """Each call key's grade-time prompt, built by the judge itself."""
    return {call.key: prompt_text(call.request) for call in judge.calls(item)}


# --- sampling ------------------------------------------------------------------------------


def _varied_options() -> JudgeOptions:
    # Short answers at a temperature that varies them: N different rationales per unit.
    return JudgeOptions(temperature=0.8, seed=1, max_tokens=160, rationale_chars=300)


def _patient_calls() -> CallPolicy:
    # No per-call timeout: a local model on a busy CPU is slow, not broken, and a call
    # abandoned half-way would be paid again.
    return CallPolicy(concurrency=4, timeout=None)


@dataclass(frozen=True)
class SamplingSettings:
    """`samples` judgments per unit, one per seed: `options.seed`, then 7919 further each
    time, at `options.temperature`. `calls` and `per_call` (re-asks of an unparseable
    answer) are how each sample is asked."""

    samples: int = field(
        default=4, metadata={"help": "Judgments sampled per item and criterion.", "min": 2}
    )
    options: JudgeOptions = field(default_factory=_varied_options)
    calls: CallPolicy = field(default_factory=_patient_calls)
    per_call: SamplingOptions = field(default_factory=lambda: SamplingOptions(parse_retries=1))

    def with_options(self, **changes: Any) -> SamplingSettings:
        """These settings with some judge options changed (temperature, seed, max_tokens...)."""
        return replace(self, options=replace(self.options, **changes))

    @property
    def seeds(self) -> list[int]:
        return [self.options.seed + 7919 * n for n in range(self.samples)]

    def setup(
        self, judge: str | None, mode: str, *, parse_retries: int | None = None
    ) -> JudgeSetup:
        """The setup a sampling (or grading) session of `judge` starts from."""
        per_call = self.per_call
        if parse_retries is not None:
            per_call = replace(per_call, parse_retries=parse_retries)
        return JudgeSetup(
            judge=judge, mode=mode, options=self.options, calls=self.calls, sampling=per_call
        )


def _options(
    mode: str, settings: SamplingSettings, seed: int, temperature: float, logprobs: bool = False
) -> JudgeOptions:
    # Score-token probabilities are read only where a method needs them (best-of-N): a
    # white-box backend pays for them with every layer's hidden states.
    return replace(
        settings.options,
        temperature=temperature,
        seed=seed,
        both_orders=mode != "pairwise",
        want_logprobs=logprobs,
    )


def judge_options(mode: str, settings: SamplingSettings) -> JudgeOptions:
    """The greedy options the trained judge is graded with (same prompt as the samples),
    reading the score distribution too: the loop reports expected scores beside parsed."""
    return _options(mode, settings, settings.options.seed, 0.0, logprobs=True)


def label_of(item: Item, key: str, label_fields: Mapping[str, str], mode: str, row: int = 0) -> Any:
    """The human label for a criterion (or the pair): `label_fields` maps a criterion id
    (or 'pair') to a label name; by default the criterion's own id, or 'preference'."""
    name = (
        label_fields.get(key)
        or label_fields.get("*")
        or ("preference" if mode == "pairwise" else key)
    )
    value = item.labels.get(name)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if mode == "pairwise":
        if value not in VERDICT_POSITION:
            raise InputError("items", row, name, f"item {item.id!r}: {value!r} is not A, B or tie")
        return str(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InputError(
            "items", row, name, f"item {item.id!r}: {value!r} is not a number"
        ) from None


def candidate_from(judgment: Judgment, key: str, seed: int) -> Candidate | None:
    """The sample a judgment gives for `key`, or None where it has no parsed value."""
    if isinstance(judgment, PointwiseJudgment):
        score = judgment.criteria.get(key)
        if score is None or score.status != "ok" or score.score is None or not score.raw:
            return None
        confidence = (score.distribution or {}).get(str(int(score.score)))
        return Candidate(score.score, score.raw, score.rationale, seed, confidence)
    if isinstance(judgment, PairwiseJudgment):
        pair = judgment.pair
        if pair is None or pair.verdict_ab is None or not pair.raw_ab:
            return None
        confidence = (pair.distribution_ab or {}).get(pair.verdict_ab)
        return Candidate(pair.verdict_ab, pair.raw_ab, pair.rationale_ab, seed, confidence)
    raise ConfigError("training pairs need pointwise or pairwise judging")


def _keys(rubric: Rubric, mode: str) -> list[str]:
    if mode == "pairwise":
        return [PAIR_KEY]
    if mode != "pointwise":
        raise ConfigError(f"training pairs need pointwise or pairwise judging, not {mode!r}")
    return [c.id for c in rubric.criteria]


JudgeLike = str | Backend | JudgeSession


def _root(judge: JudgeLike, setup: JudgeSetup, store: Store | str | Path | None) -> JudgeSession:
    """A session of `judge`: a spec or a backend (lent), in `setup`'s terms."""
    if isinstance(judge, JudgeSession):
        return judge
    if isinstance(judge, str):
        return JudgeSession(setup=replace(setup, judge=judge), store=store)
    return JudgeSession(setup=setup, store=store, backend=judge)


async def asample(
    rubric: Rubric,
    items: Sequence[Item],
    *,
    judge: JudgeLike,
    mode: str = "pointwise",
    settings: SamplingSettings | None = None,
    store: Store | str | Path | None = None,
    label_fields: Mapping[str, str] | None = None,
    temperature: float | None = None,
    logprobs: bool = False,
) -> list[Unit]:
    """N judgments per item and criterion, one session pass per seed so every sample
    keeps its own raw answer and rationale; all calls are cached by the store. `judge`: a
    spec or a backend (a session on `store` is opened and closed here), or an open session
    whose stack is shared (its owner closes it)."""
    settings = settings or SamplingSettings()
    label_fields = label_fields or {}
    heat = settings.options.temperature if temperature is None else temperature
    keys = _keys(rubric, mode)
    root = _root(judge, settings.setup(None, mode), store)
    found: dict[tuple[int, str], list[Candidate]] = {}
    errors: Counter[tuple[int, str]] = Counter()
    try:
        for seed in settings.seeds:
            options = _options(mode, settings, seed, heat, logprobs)
            session = root.with_options(
                options, rubric=rubric, mode=mode, sampling=settings.per_call
            )
            for judgment in await session.ajudge(items):
                for key in keys:
                    candidate = candidate_from(judgment, key, seed)
                    if candidate is None:
                        errors[(judgment.index, key)] += 1
                    else:
                        found.setdefault((judgment.index, key), []).append(candidate)
    finally:
        if root is not judge:
            await root.aclose()
    prompter = make_judge(mode, rubric, _options(mode, settings, settings.seeds[0], heat))
    units = []
    for index, item in enumerate(items):
        prompts = grade_prompts(prompter, item)
        for key in keys:
            units.append(
                Unit(
                    item,
                    key,
                    prompts[key],
                    tuple(found.get((index, key), [])),
                    label_of(item, key, label_fields, mode, index + 1),
                    errors[(index, key)],
                )
            )
    return units


def sample(rubric: Rubric, items: Sequence[Item], **options: Any) -> list[Unit]:
    """`asample` for code that is not async."""
    return asyncio.run(asample(rubric, items, **options))


# --- meta-judging --------------------------------------------------------------------------


def meta_rubric(criterion: Criterion | None) -> Rubric:
    """A rubric that asks which of two judgments of the same response is the better one."""
    about = f' on "{criterion.id}": {criterion.question}' if criterion else ""
    return Rubric(
        name="judgment-quality",
        description="Compare two evaluations of the same response.",
        criteria=[
            Criterion(
                id="judgment",
                question=(
                    f"Which evaluation judges the response more accurately{about} Prefer the "
                    "one whose rationale names real strengths and weaknesses of the response "
                    "and whose verdict follows from its rationale."
                ),
                scale={1: "inaccurate or unsupported", 5: "accurate and well supported"},
            )
        ],
    )


async def ameta_choose(
    units: Sequence[Unit],
    rubric: Rubric,
    *,
    judge: JudgeLike,
    store: Store | str | Path | None = None,
) -> dict[int, Choice]:
    """For units without a label: the judge compares its two most different answers (both
    orders); the one it prefers consistently is chosen, a tie or a flip gives no pair.
    `judge` as for `asample`."""
    asks: list[tuple[int, Candidate, Candidate, Item]] = []
    for number, unit in enumerate(units):
        if unit.label is not None or len(unit.candidates) < 2:
            continue
        ordered = sorted(unit.candidates, key=lambda c: position(c.value))
        low, high = ordered[0], ordered[-1]
        if position(low.value) == position(high.value):
            continue
        item = Item(
            id=f"{unit.item.id}#{unit.key}",
            input=unit.prompt,
            response=low.text,
            response_b=high.text,
        )
        asks.append((number, low, high, item))
    if not asks:
        return {}
    criteria = {c.id: c for c in rubric.criteria}
    chosen: dict[int, Choice] = {}
    meta = JudgeSetup(
        mode="pairwise",
        options=JudgeOptions(max_tokens=200, rationale_chars=300),
        calls=CallPolicy(timeout=None),
    )
    root = _root(judge, meta, store)
    session = root.with_options(
        meta.options,
        rubric=meta_rubric(criteria.get(units[asks[0][0]].key)),
        mode="pairwise",
        sampling=meta.sampling,
    )
    try:
        judgments = await session.ajudge([ask[3] for ask in asks])
    finally:
        if root is not judge:
            await root.aclose()
    for (number, low, high, _), judgment in zip(asks, judgments, strict=True):
        verdict = (
            judgment.pair.verdict
            if isinstance(judgment, PairwiseJudgment) and judgment.pair
            else None
        )
        if verdict == "A":
            chosen[number] = Choice(low, high, abs(position(high.value) - position(low.value)))
        elif verdict == "B":
            chosen[number] = Choice(high, low, abs(position(high.value) - position(low.value)))
    return chosen


# --- curation and the data set --------------------------------------------------------------


def curate_units(
    units: Sequence[Unit],
    *,
    group_by: str | None = None,
    min_margin: float = 0.0,
    meta_choices: Mapping[int, Choice] | None = None,
) -> PairSet:
    """Pairs from sampled units, with the yield report; `min_margin` drops pairs whose
    answers are too close to the label to tell apart."""
    report = PairYield(units=len(units))
    meta_choices = meta_choices or {}
    pairs: list[PreferencePair] = []
    items_with_pair: set[str] = set()
    margins: Counter[str] = Counter()
    for number, unit in enumerate(units):
        report.samples += len(unit.candidates) + unit.parse_errors
        report.parse_errors += unit.parse_errors
        if len(unit.candidates) < 2:
            report.too_few_parsed += 1
            continue
        source = "label"
        choice = curate(unit.candidates, unit.label)
        if unit.label is None:
            choice = meta_choices.get(number)
            source = "meta-judge"
            if choice is None:
                report.no_label += 1
                continue
        if choice is None or choice.margin < min_margin:
            report.all_equal += 1
            continue
        margins[f"{choice.margin:g}"] += 1
        items_with_pair.add(unit.item.id)
        if source == "label":
            report.from_labels += 1
        else:
            report.from_meta_judge += 1
        group = unit.item.metadata.get(group_by) if group_by else None
        pairs.append(
            PreferencePair(
                prompt=unit.prompt,
                chosen=chat_answer(choice.chosen.text),
                rejected=chat_answer(choice.rejected.text),
                item_id=unit.item.id,
                key=unit.key,
                chosen_value=choice.chosen.value,
                rejected_value=choice.rejected.value,
                label=unit.label,
                margin=choice.margin,
                source=source,
                group=None if group is None else str(group),
            )
        )
    report.items = len({unit.item.id for unit in units})
    report.items_with_pair = len(items_with_pair)
    report.pairs = len(pairs)
    report.margins = dict(margins)
    return PairSet(pairs, report, list(units))


def build_pairs(
    rubric: Rubric,
    items: Iterable[Item],
    *,
    judge: str | Backend,
    mode: str = "pointwise",
    settings: SamplingSettings | None = None,
    store: Store | str | Path | None = None,
    label_fields: Mapping[str, str] | None = None,
    meta_judge: bool = False,
    group_by: str | None = None,
    min_margin: float = 0.0,
) -> PairSet:
    """Sample, (optionally) meta-judge the unlabelled units, and curate."""
    listed = list(items)
    settings = settings or SamplingSettings()

    async def run() -> PairSet:
        async with _root(judge, settings.setup(None, mode), store) as root:
            units = await asample(
                rubric,
                listed,
                judge=root,
                mode=mode,
                settings=settings,
                label_fields=label_fields,
            )
            meta = await ameta_choose(units, rubric, judge=root) if meta_judge else {}
        return curate_units(units, group_by=group_by, min_margin=min_margin, meta_choices=meta)

    return asyncio.run(run())


DATASET_COLUMNS = ("prompt", "chosen", "rejected")


def write_pairs(pairs: Sequence[PreferencePair], path: str | Path) -> Path:
    """A `datasets`-loadable file: Parquet for `.parquet`, JSON lines otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [_row(pair) for pair in pairs]
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        with path.open("w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def _row(pair: PreferencePair) -> dict[str, Any]:
    # Values as text: a column may mix scores and verdicts only as strings.
    row = pair.model_dump()
    for name in ("chosen_value", "rejected_value", "label"):
        row[name] = None if row[name] is None else str(row[name])
    return row


def _first_character(path: Path) -> str:
    """The file's first non-blank character ('' for a blank file): '[' is a JSON document."""
    with open_text(path) as handle:
        for line in handle:
            text = line.lstrip("\ufeff").lstrip()
            if text:
                return text[0]
    return ""


def _pair_records(path: Path) -> Iterable[tuple[int, Any]]:
    """(line or record number, parsed record) of a pairs file; what cannot be read at all
    is a DataError naming the file and line."""
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            rows = pq.read_table(path).to_pylist()
        except (pa.ArrowException, OSError) as error:
            raise DataError(
                str(path), None, None, f"not a readable Parquet file ({error})"
            ) from None
        return enumerate(rows, start=1)
    if _first_character(path) == "[":
        document, _ = read_json_document(path)
        return enumerate(document, start=1)
    return iter_jsonl(path)


def _read_pairs(path: Path) -> list[dict[str, Any]]:
    """Every pair of the file as a dict, checked before any training library sees it, so a
    bad file is one line naming the file, line and column rather than a parser's traceback."""
    rows: list[dict[str, Any]] = []
    for number, record in _pair_records(path):
        if isinstance(record, DataError):
            raise record
        if not isinstance(record, dict):
            problem = f"a pair must be a JSON object, got {type(record).__name__}"
            raise DataError(str(path), number, None, problem)
        rows.append(record)
    if not rows:
        raise DataError(
            str(path), None, None, "no pairs in the file (write some with `jurist train pairs`)"
        )
    columns = {name for row in rows for name in row}
    for column in DATASET_COLUMNS:
        if column not in columns:
            raise InputError(
                str(path),
                0,
                column,
                "missing column (a pairs file needs prompt, chosen and rejected)",
            )
    for number, row in enumerate(rows, start=1):
        for column in DATASET_COLUMNS:
            if not isinstance(row.get(column), str) or not row[column]:
                raise InputError(str(path), number, column, "expected non-empty text")
    return rows


def load_pairs(path: str | Path) -> Any:
    """The pairs file (JSON lines, a JSON list, or Parquet) as a `datasets.Dataset`; a file
    that is empty, not JSON, or without the DPO columns is an InputError naming the file,
    the line and the column."""
    from datasets import Dataset

    path = Path(path)
    if not path.exists():
        raise InputError(str(path), 0, None, "file not found")
    return Dataset.from_list(_read_pairs(path))
