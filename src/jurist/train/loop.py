"""The self-rationalization loop: judge -> pairs -> DPO -> meta-evaluate -> next round.

Training and held-out items are split by a group field (a document id), so no held-out
document is ever seen in training. Every stage records its result in `state.json` the
moment it is finished; a killed loop started again skips the finished stages (and the
judge's calls are cached), so it continues where it stopped.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from jurist.core.data import Item
from jurist.core.errors import InputError
from jurist.core.judgment import PairwiseJudgment, PointwiseJudgment
from jurist.core.rubric import Rubric
from jurist.session import JudgeSession
from jurist.store import Store
from jurist.train.dpo import DPOSettings, train_dpo
from jurist.train.lora import HF_PREFIX
from jurist.train.metrics import EXPECTED, LoopReport, Scores, build_report
from jurist.train.pairs import (
    PAIR_KEY,
    SamplingSettings,
    asample,
    curate_units,
    judge_options,
    label_of,
    position,
    write_pairs,
)
from jurist.train.sft import train_sft

STATE_FILE = "state.json"
BASELINES = ("self-consistency", "best-of-n", "sft")


@dataclass(frozen=True)
class LoopSettings:
    iterations: int = field(
        default=2, metadata={"help": "Rounds of judge -> pairs -> DPO.", "min": 1}
    )
    split_by: str = field(
        default="doc_id", metadata={"help": "Group field: no group on both sides."}
    )
    holdout: float = field(default=0.5, metadata={"help": "Share of groups held out."})
    split_seed: int = 0
    mode: str = "pointwise"
    base_model: str = "embedded"
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    dpo: DPOSettings = field(default_factory=DPOSettings)
    min_margin: float = 0.0
    baselines: tuple[str, ...] = BASELINES
    label_fields: Mapping[str, str] = field(default_factory=dict)
    n_resamples: int = 1000


def split_items(
    items: Sequence[Item], split_by: str, holdout: float, seed: int = 0
) -> tuple[list[Item], list[Item]]:
    """(train, held-out) with every value of `split_by` on one side only; the field is
    looked up in the item's metadata, then its labels."""
    if not 0 < holdout < 1:
        raise ValueError(f"holdout must lie between 0 and 1, got {holdout}")
    groups: list[str] = []
    for row, item in enumerate(items, start=1):
        value = item.metadata.get(split_by, item.labels.get(split_by))
        if value is None:
            raise InputError("items", row, split_by, f"item {item.id!r} has no {split_by!r}")
        groups.append(str(value))
    distinct = sorted(set(groups))
    if len(distinct) < 2:
        raise InputError("items", 0, split_by, "a split needs at least two groups")
    random.Random(seed).shuffle(distinct)
    count = min(len(distinct) - 1, max(1, round(holdout * len(distinct))))
    held = set(distinct[:count])
    train = [item for item, group in zip(items, groups, strict=True) if group not in held]
    test = [item for item, group in zip(items, groups, strict=True) if group in held]
    return train, test


class LoopState:
    """Finished stages and their results, written atomically after each stage.

    `fingerprint` names what the stages were computed from; a state file made from
    something else is refused rather than continued, since its finished stages would be
    mixed into a loop they do not belong to. A file without one is adopted."""

    def __init__(self, path: Path, fingerprint: str | None = None) -> None:
        self.path = path
        self.fingerprint = fingerprint
        self.done: dict[str, Any] = {}
        if path.exists():
            saved = json.loads(path.read_text())
            made_from = saved.get("fingerprint")
            if fingerprint and made_from and made_from != fingerprint:
                raise InputError(
                    f"{path}: this loop was started with other items, rubric or settings "
                    f"(fingerprint {made_from}, now {fingerprint}); continue it with the "
                    "same ones, or use another work folder"
                )
            self.done = saved["done"]

    def run(self, stage: str, work: Callable[[], Any], log: Callable[[str], None]) -> Any:
        if stage in self.done:
            log(f"{stage}: finished before, skipped")
            return self.done[stage]
        started = time.perf_counter()
        result = work()
        result["wall_s"] = round(time.perf_counter() - started, 2)
        self.done[stage] = result
        partial = self.path.with_suffix(".tmp")
        saved = {"fingerprint": self.fingerprint, "done": self.done}
        partial.write_text(json.dumps(saved, indent=1, default=str))
        partial.replace(self.path)
        log(f"{stage}: done in {result['wall_s']:.0f} s")
        return result


def loop_fingerprint(rubric: Rubric, items: Sequence[Item], settings: LoopSettings) -> str:
    """What finished stages depend on: the items, the rubric and the settings, except
    those a continued loop may change (more iterations, other baselines, resamples)."""
    fixed = {
        k: v
        for k, v in asdict(settings).items()
        if k not in ("iterations", "baselines", "n_resamples")
    }
    payload = {
        "settings": fixed,
        "rubric": rubric.model_dump(mode="json"),
        "items": [item.model_dump(mode="json") for item in items],
    }
    canonical = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _keys(rubric: Rubric, mode: str) -> list[str]:
    return [PAIR_KEY] if mode == "pairwise" else [c.id for c in rubric.criteria]


def _value(judgment: Any, key: str) -> float | None:
    if isinstance(judgment, PointwiseJudgment):
        score = judgment.criteria.get(key)
        return score.score if score is not None and score.status == "ok" else None
    if isinstance(judgment, PairwiseJudgment) and judgment.pair and judgment.pair.verdict:
        return position(judgment.pair.verdict)
    return None


def expected_reading(judgment: Any, key: str) -> float | None:
    """The same judgment read from the score distribution: the expected score, or for a
    pair the expected position (A = 0, B = 1). A tiny judge often writes one score for
    everything, and then only this reading can rank the items."""
    if isinstance(judgment, PointwiseJudgment):
        score = judgment.criteria.get(key)
        return score.expected if score is not None and score.status == "ok" else None
    if isinstance(judgment, PairwiseJudgment) and judgment.pair and judgment.pair.p_a is not None:
        return 1.0 - judgment.pair.p_a
    return None


def with_expected_rows(methods: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each greedy method followed by its expected-score reading, where the judge gave one;
    stage results written before that reading existed simply have none."""
    rows: dict[str, dict[str, Any]] = {}
    for name, result in methods.items():
        rows[name] = dict(result)
        expected = result.get("expected")
        if expected and any(v is not None for per in expected.values() for v in per.values()):
            rows[name + EXPECTED] = {
                "scores": expected,
                "parse_errors": _missing(expected),
                "calls_per_item": result.get("calls_per_item", 1),
                "wall_s": result.get("wall_s"),
            }
    return rows


class SelfRationalizationLoop:
    def __init__(
        self,
        rubric: Rubric,
        items: Sequence[Item],
        workdir: str | Path,
        settings: LoopSettings | None = None,
        log: Callable[[str], None] = print,
    ) -> None:
        self.rubric = rubric
        self.settings = settings or LoopSettings()
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log = log
        self.state = LoopState(
            self.workdir / STATE_FILE, loop_fingerprint(rubric, items, self.settings)
        )
        self.store = Store(self.workdir / "calls.sqlite")
        s = self.settings
        self.train_items, self.test_items = split_items(items, s.split_by, s.holdout, s.split_seed)
        self.keys = _keys(rubric, s.mode)

    # ---------------------------------------------------------------- stages

    def _model_dir(self, name: str) -> Path:
        # The folder's name is the transformers backend's cache identity: make it unique.
        digest = hashlib.sha256(
            json.dumps(
                [name, asdict(self.settings.dpo), self.settings.sampling.options.seed], default=str
            ).encode()
        ).hexdigest()[:8]
        return self.workdir / "models" / f"{name}-{digest}"

    def _labels(self) -> Scores:
        s = self.settings
        return {
            item.id: {k: _as_float(label_of(item, k, s.label_fields, s.mode)) for k in self.keys}
            for item in self.test_items
        }

    async def _greedy(self, model: str) -> dict[str, Any]:
        s = self.settings
        setup = s.sampling.setup(model, s.mode, parse_retries=0)
        session = JudgeSession(
            self.rubric,
            setup.with_changes(options=judge_options(s.mode, s.sampling)),
            store=self.store,
        )
        try:
            judgments = await session.ajudge(self.test_items)
        finally:
            await session.aclose()
        scores = {j.item_id: {k: _value(j, k) for k in self.keys} for j in judgments}
        expected = {j.item_id: {k: expected_reading(j, k) for k in self.keys} for j in judgments}
        return {
            "scores": scores,
            "expected": expected,
            "parse_errors": _missing(scores),
            "calls_per_item": 1,
        }

    def evaluate(self, model: str) -> dict[str, Any]:
        return asyncio.run(self._greedy(model))

    def sample_baselines(self) -> dict[str, Any]:
        """Self-consistency (mean of N samples) and best-of-N (the sample whose own score
        the judge gave the highest probability) from the same N base-model samples."""
        s = self.settings
        units = asyncio.run(
            asample(
                self.rubric,
                self.test_items,
                judge=self._base(),
                mode=s.mode,
                settings=s.sampling,
                store=self.store,
                label_fields=s.label_fields,
                logprobs=True,
            )
        )
        consistency: Scores = {}
        best: Scores = {}
        for unit in units:
            values = [position(c.value) for c in unit.candidates]
            mean = sum(values) / len(values) if values else None
            rated = [c for c in unit.candidates if c.confidence is not None]
            top = max(rated, key=lambda c: c.confidence or 0.0) if rated else None
            consistency.setdefault(unit.item.id, {})[unit.key] = mean
            best.setdefault(unit.item.id, {})[unit.key] = position(top.value) if top else None
        calls = s.sampling.samples
        return {
            "self-consistency": {
                "scores": consistency,
                "parse_errors": _missing(consistency),
                "calls_per_item": calls,
            },
            "best-of-n": {"scores": best, "parse_errors": _missing(best), "calls_per_item": calls},
        }

    def pairs(self, round_number: int, model: str) -> dict[str, Any]:
        s = self.settings
        units = asyncio.run(
            asample(
                self.rubric,
                self.train_items,
                judge=model,
                mode=s.mode,
                settings=s.sampling,
                store=self.store,
                label_fields=s.label_fields,
            )
        )
        pair_set = curate_units(units, group_by=s.split_by, min_margin=s.min_margin)
        path = write_pairs(pair_set.pairs, self.workdir / f"round{round_number}" / "pairs.jsonl")
        self.log(pair_set.report.render())
        return {
            "path": str(path),
            "pairs": len(pair_set.pairs),
            "report": pair_set.report.model_dump(),
        }

    def _base(self) -> str:
        return HF_PREFIX + self.settings.base_model

    # ---------------------------------------------------------------- the loop

    def run(self) -> LoopReport:
        s = self.settings
        state = self.state
        methods: dict[str, dict[str, Any]] = {}
        rounds: list[dict[str, Any]] = []
        methods["base"] = state.run(
            "round0:evaluate", lambda: self.evaluate(self._base()), self.log
        )
        rounds.append(
            {
                "round": 0,
                "method": "base",
                "pairs": 0,
                "train_loss": None,
                "wall_s": methods["base"]["wall_s"],
            }
        )
        model = self._base()
        first_pairs: str | None = None
        for r in range(1, s.iterations + 1):
            current = model
            made = state.run(f"round{r}:pairs", partial(self.pairs, r, current), self.log)
            first_pairs = first_pairs or made["path"]
            out = self._model_dir(f"dpo-round{r}")
            dpo = partial(self._train_dpo, made["path"], current, out, made["pairs"])
            trained = state.run(f"round{r}:dpo", dpo, self.log)
            model = HF_PREFIX + trained["model_dir"] if trained["model_dir"] else current
            scored = state.run(f"round{r}:evaluate", partial(self.evaluate, model), self.log)
            methods[f"round {r}"] = scored
            rounds.append(
                {
                    "round": r,
                    "method": f"round {r}",
                    "pairs": made["pairs"],
                    "train_loss": trained.get("train_loss"),
                    "wall_s": made["wall_s"] + trained["wall_s"] + scored["wall_s"],
                }
            )
        if {"self-consistency", "best-of-n"} & set(s.baselines):
            sampled = state.run("baseline:samples", self.sample_baselines, self.log)
            for name in ("self-consistency", "best-of-n"):
                if name in s.baselines:
                    methods[name] = {**sampled[name], "wall_s": sampled["wall_s"]}
        if "sft" in s.baselines and first_pairs is not None:
            pairs_path = first_pairs
            out = self._model_dir("sft")
            tuned = state.run(
                "baseline:sft-train", lambda: self._train_sft(pairs_path, out), self.log
            )
            if tuned["model_dir"]:
                methods["sft"] = state.run(
                    "baseline:sft-evaluate",
                    lambda: self.evaluate(HF_PREFIX + tuned["model_dir"]),
                    self.log,
                )
        report = build_report(
            self.rubric,
            s.mode,
            self._labels(),
            with_expected_rows(methods),
            rounds,
            n_resamples=s.n_resamples,
        )
        (self.workdir / "report.json").write_text(report.model_dump_json(indent=1))
        report.plot(self.workdir / "agreement_per_round.png")
        return report

    def _train_dpo(self, pairs: str, model: str, out: Path, count: int) -> dict[str, Any]:
        if count == 0:
            self.log("no usable pairs: the model is kept as it is for this round")
            return {"model_dir": None, "train_loss": None}
        result = train_dpo(pairs, out, model=model, settings=self.settings.dpo)
        return {
            "model_dir": str(result.model_dir),
            "train_loss": result.train_loss,
            "steps": result.steps,
        }

    def _train_sft(self, pairs: str, out: Path) -> dict[str, Any]:
        if not _has_rows(pairs):
            return {"model_dir": None, "train_loss": None}
        result = train_sft(pairs, out, model=self._base(), settings=self.settings.dpo.train)
        return {"model_dir": str(result.model_dir), "train_loss": result.train_loss}


def _has_rows(path: str) -> bool:
    return Path(path).exists() and Path(path).stat().st_size > 0


def _as_float(value: Any) -> float | None:
    if value is None:
        return None
    return position(value)


def _missing(scores: Scores) -> int:
    return sum(
        1
        for per in scores.values()
        for v in per.values()
        if v is None or (isinstance(v, float) and math.isnan(v))
    )


def run_loop(
    rubric: Rubric,
    items: Sequence[Item],
    workdir: str | Path,
    settings: LoopSettings | None = None,
    log: Callable[[str], None] = print,
) -> LoopReport:
    """Run (or continue) the loop in `workdir` and return its report."""
    loop = SelfRationalizationLoop(rubric, items, workdir, settings, log)
    try:
        return loop.run()
    finally:
        loop.store.close()
