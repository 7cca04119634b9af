"""White-box estimators in `tune` and in profiles: LAGER layer weights and a ridge probe.

With an `hf:` judge every answer carries each layer's log-probabilities of the score
points and the key of its hidden state on disk; `with_learned` turns them into the learned
estimators cross-validation fits per fold (the fitting code is `whitebox.learned`, which
`jurist calibrate` runs too). A profile that chose one keeps the fitted weights or head
with the model's identity: `learned_score` applies it to a graded answer, and
`check_learned` refuses a judge that is not that model.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, replace
from typing import Any

import numpy as np

from jurist.core.errors import ConfigError
from jurist.core.judgment import CriterionScore, Judgment, PointwiseJudgment
from jurist.core.rubric import Rubric
from jurist.stats.arrays import FloatArray
from jurist.tune.cv import Sample
from jurist.whitebox.cache import HiddenCache
from jurist.whitebox.lager import LagerWeights
from jurist.whitebox.learned import LagerEstimator, Learned, ProbeEstimator
from jurist.whitebox.loading import resolve_model_path
from jurist.whitebox.probe import Probe

__all__ = ["check_learned", "learned_record", "learned_score", "model_identity", "with_learned"]

_WEIGHT_SUFFIXES = {".safetensors", ".bin", ".gguf"}


def model_identity(judge: str | None) -> str | None:
    """The white-box model an `hf:` judge runs, as its name and its weight files' sizes
    (a profile moved to another machine still matches the same weights); None for a judge
    that is not white-box."""
    kind, _, target = (judge or "").partition(":")
    if kind != "hf":
        return None
    path = resolve_model_path(target or None)
    files = [path] if path.is_file() else sorted(
        f for f in path.iterdir() if f.suffix in _WEIGHT_SUFFIXES
    )  # fmt: skip
    digest = hashlib.sha256()
    for file in files:
        digest.update(f"{file.name}|{file.stat().st_size}\n".encode())
    return f"{path.name}#{digest.hexdigest()[:12]}"


def _scores(found: Sequence[Judgment], criterion: str) -> list[CriterionScore | None]:
    out: list[CriterionScore | None] = []
    for judgment in found:
        score = (
            judgment.criteria.get(criterion) if isinstance(judgment, PointwiseJudgment) else None
        )
        out.append(score if score is not None and score.status == "ok" else None)
    return out


def _layer_array(scores: Sequence[CriterionScore | None], k: int) -> FloatArray | None:
    """(items, layers, points) log-probabilities; NaN rows where an answer has none."""
    rows = [None if s is None else s.extras.get("layer_logprobs") for s in scores]
    shapes = {np.shape(r) for r in rows if r is not None}
    if len(shapes) != 1 or next(iter(shapes))[-1:] != (k,):
        return None
    (shape,) = shapes
    return np.stack([np.full(shape, np.nan) if r is None else np.asarray(r, float) for r in rows])


def _hidden_array(scores: Sequence[CriterionScore | None], cache: HiddenCache) -> Any:
    """(items, layers + 1, hidden) float32 states from the disk cache; NaN rows where an
    answer has none. None when no answer has one."""
    read = [cache.get(str(s.extras["hidden_key"])) if s and s.extras.get("hidden_key") else None
            for s in scores]  # fmt: skip
    states = [None if found is None else found["last"] for found in read]
    shapes = {s.shape for s in states if s is not None}
    if len(shapes) != 1:
        return None
    (shape,) = shapes
    blank = np.full(shape, np.nan, dtype=np.float32)
    return np.stack([blank if s is None else s for s in states])


def with_learned(
    sample: Sample,
    rubric: Rubric,
    judged: Mapping[str, Sequence[Judgment]],
    judge: str | None,
    cache: HiddenCache | None = None,
) -> Sample:
    """`sample` with LAGER and probe estimators for every reading and criterion whose
    answers carry the white-box readings (unchanged for any other judge)."""
    if model_identity(judge) is None:
        return sample
    cache = cache or HiddenCache()
    points = {c.id: tuple(float(p) for p in c.points) for c in rubric.criteria}
    codes = sample.group_codes()
    learned: dict[str, dict[str, dict[str, Learned]]] = {}
    # Readings that differ only in samples ask the same prompts: one set of fits serves all.
    shared: dict[tuple[str, tuple[str, ...]], dict[str, Learned]] = {}
    for reading, found in judged.items():
        for c in sample.criteria:
            scores, labels = _scores(found, c), sample.labels[c]
            keys = tuple(str(s.extras.get("hidden_key", "")) if s else "" for s in scores)
            if (c, keys) not in shared or not any(keys):
                here: dict[str, Learned] = {}
                layers = _layer_array(scores, len(points[c]))
                if layers is not None:
                    here["lager"] = LagerEstimator(layers, labels, points[c])
                hidden = _hidden_array(scores, cache)
                if hidden is not None:
                    here["probe"] = ProbeEstimator(hidden, labels, codes)
                shared[(c, keys)] = here
            if shared[(c, keys)]:
                learned.setdefault(reading, {})[c] = shared[(c, keys)]
    return replace(sample, learned=learned)


def _short(values: Iterable[float]) -> list[float]:
    return [float(f"{v:.7g}") for v in values]


def learned_record(
    fitted: LagerWeights | Probe | None, judge: str | None, points: Sequence[float]
) -> dict[str, Any] | None:
    """What a profile keeps of a fitted estimator to apply it when grading."""
    model = model_identity(judge)
    if isinstance(fitted, LagerWeights):
        return {"kind": "lager", "model": model, "lens": fitted.lens,
                "points": list(points), "weights": _short(fitted.weights),
                "fitted_on": fitted.fitted_on}  # fmt: skip
    if isinstance(fitted, Probe):
        head = asdict(fitted)
        for name in ("mean", "scale", "coef"):
            head[name] = _short(head[name])
        return {"kind": "probe", "model": model, "head": head}
    return None


def learned_score(
    record: Mapping[str, Any], score: CriterionScore, cache: HiddenCache | None = None
) -> float:
    """The estimate a profile's fitted estimator reads off a graded answer (NaN when the
    answer lacks the readings it needs: not from this white-box judge). A probe reads the
    hidden state the `hf` backend kept on disk (`cache`: where, default its own)."""
    if record.get("kind") == "lager":
        rows = score.extras.get("layer_logprobs")
        weights = record["weights"]
        if not rows or len(rows) != len(weights):
            return math.nan
        lager = LagerWeights(tuple(weights), record.get("lens", "norm"))
        return float(lager.expected(np.asarray([rows], float), record["points"])[0])
    key = score.extras.get("hidden_key")
    states = (cache or HiddenCache()).get(str(key)) if key else None
    if states is None:
        return math.nan
    head = record["head"]
    probe = Probe(**{**head, **{k: tuple(head[k]) for k in ("mean", "scale", "coef")}})
    if probe.layer >= len(states["last"]) or len(probe.coef) != states["last"].shape[-1]:
        return math.nan
    return float(probe.predict(states["last"][probe.layer][None, :])[0])


def check_learned(records: Iterable[Mapping[str, Any] | None], judge: str | None) -> None:
    """Refuse to apply fitted white-box estimators with any judge but their model."""
    wanted = {str(r.get("model")) for r in records if r}
    if not wanted:
        return
    found = model_identity(judge)
    if found is None or found not in wanted:
        raise ConfigError(
            f"this profile reads LAGER / probe estimators fitted on the white-box model "
            f"{', '.join(sorted(wanted))}, not {found or judge or 'local'}: grade with "
            "--judge hf: and that model, or tune one for this judge (jurist tune), or "
            "--profile none"
        )
