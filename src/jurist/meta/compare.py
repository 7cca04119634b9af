"""Models compared under the judge (`jurist compare`): per-model means with
prompt-clustered SEs and paired differences, or Bradley-Terry ratings, win rates and
length-controlled win rates for pairs; says in words when a difference is not significant."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jurist import stats as S
from jurist.meta._common import header, jsonable, single_value_note, status_counts
from jurist.meta.compare_report import (
    CompareReport,
    LengthControlledFigure,
    ModelComparison,
    PairComparison,
    RatingsFigure,
    SystemLevel,
)
from jurist.meta.figures import DifferenceFigure, Figure
from jurist.meta.join import PairData, Results, ScoreKind, criterion_data
from jurist.meta.listwise import listwise_games
from jurist.meta.options import Settings
from jurist.stats.arrays import FloatArray
from jurist.stats.multiple import holm


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


def _difference(
    values: FloatArray,
    names: NDArray[np.object_],
    prompts: NDArray[np.object_],
    x: str,
    y: str,
    alpha: float,
) -> DifferenceFigure:
    """A paired difference, saying so in words when it cannot be tested."""
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
    return DifferenceFigure.model_validate(diff)


def with_holm(diffs: list[DifferenceFigure], alpha: float) -> list[DifferenceFigure]:
    """Each testable difference with its Holm-adjusted p-value over all testable ones."""
    tested = [k for k, d in enumerate(diffs) if d.p_value is not None and d.n >= 2]
    adjusted = dict(zip(tested, holm([diffs[k].p_value or 0.0 for k in tested]), strict=True))
    return [
        d.model_copy(
            update={
                "p_holm": adjusted.get(k),
                "significant_holm": k in adjusted and adjusted[k] < alpha,
            }
        )
        for k, d in enumerate(diffs)
    ]


def _model_comparison(
    values: FloatArray,
    score: ScoreKind,
    human: FloatArray,
    status: NDArray[np.object_],
    models: NDArray[np.object_],
    prompts: NDArray[np.object_] | None,
    baseline: str | None,
    all_pairs: bool,
    alpha: float,
    settings: Settings,
) -> ModelComparison:
    keep = np.asarray([m is not None for m in models.tolist()])
    names = np.asarray([str(m) for m in models.tolist()], dtype=object)
    kept_prompts = None if prompts is None else prompts[keep]
    means = S.model_means(
        values[keep], names[keep], prompts=kept_prompts, confidence=settings.confidence
    )
    ranking = _ranked(means)
    entry: dict[str, Any] = {
        "score": score,
        "alpha": alpha,
        "n_items": int(keep.sum()),
        "status": status_counts(status),
        "means": {m: Figure.of(means[m]) for m in ranking},
        "ranking": ranking,
        "score_note": single_value_note(values),
    }
    if not np.isnan(human).all():
        human_means = S.model_means(
            human[keep], names[keep], prompts=kept_prompts, confidence=settings.confidence
        )
        entry["human_means"] = {m: Figure.of(human_means[m]) for m in ranking}
        judge_side = np.asarray([means[m].value for m in ranking])
        human_side = np.asarray([human_means[m].value for m in ranking])
        entry["system_level"] = SystemLevel(
            spearman=Figure.of(S.spearman(judge_side, human_side, **settings.kw())),
            kendall=Figure.of(S.kendall(judge_side, human_side, **settings.kw())),
        )
    if prompts is None:
        entry["differences"] = []
        entry["note"] = "no prompt field: pass --prompt-field so differences are paired on prompts"
        return ModelComparison(**entry)
    diffs = with_holm(
        [
            _difference(values[keep], names[keep], prompts[keep], x, y, alpha)
            for x, y in _pairs_to_compare(ranking, baseline, all_pairs)
        ],
        alpha,
    )
    tested = [d for d in diffs if d.p_holm is not None]
    entry["differences"] = diffs
    entry["multiple_comparisons"] = (
        f"{sum(d.significant for d in tested)} of {len(tested)} differences "
        f"significant at α={alpha:g}; {sum(bool(d.significant_holm) for d in tested)} "
        f"after Holm's correction for {len(tested)} comparisons"
    )
    return ModelComparison(**entry)


def _compare_pairs(
    results: Results,
    field_a: str,
    field_b: str,
    baseline: str | None,
    alpha: float,
    settings: Settings,
) -> PairComparison:
    model_a = results.field(field_a)
    model_b = results.field(field_b)
    data = results.pairs(results.pair_label_field())
    return compare_games(
        model_a, model_b, data, [field_a, field_b], len(results), baseline, alpha, settings
    )


def compare_games(
    model_a: NDArray[np.object_],
    model_b: NDArray[np.object_],
    data: PairData,
    fields: list[str],
    n_pairs: int,
    baseline: str | None,
    alpha: float,
    settings: Settings,
) -> PairComparison:
    """Ratings, win rates and length-controlled win rates from games between named models
    (pairwise verdicts, or the pairs a listwise ranking implies)."""
    named = [str(m) for m in [*model_a.tolist(), *model_b.tolist()] if m is not None]
    known = sorted(set(named))
    if baseline is None:
        played = Counter(named)
        baseline = max(known, key=lambda m: (played[m], m)) if known else None
    elif baseline not in known:
        raise ValueError(f"baseline {baseline!r} played no games (models: {', '.join(known)})")
    kw = settings.kw()
    unnamed = np.asarray([a is None or b is None for a, b in zip(model_a, model_b, strict=True)])
    verdicts = np.where(unnamed, None, data.verdict)
    ratings = S.bradley_terry(model_a, model_b, verdicts, anchor=baseline, **kw)
    human = None
    if not all(v is None for v in data.label.tolist()):
        labels = np.where(unnamed, None, data.label)
        human_ratings = S.bradley_terry(model_a, model_b, labels, anchor=baseline, **kw)
        human = RatingsFigure.model_validate(human_ratings.to_dict())
    length_controlled = {}
    for model in known:
        if model == baseline:
            continue
        pref, len_model, len_base = _games_against(model, str(baseline), model_a, model_b, data)
        if pref.size == 0:
            continue
        result = S.length_controlled_win_rate(pref, len_model, len_base, **kw)
        length_controlled[model] = LengthControlledFigure.model_validate(
            {**result.to_dict(), "sentence": result.sentence(model, str(baseline))}
        )
    sentences = []
    for model, estimate in ratings.ranked():
        if model == baseline:
            continue
        gap = estimate.value - ratings.base
        low, high = estimate.low - ratings.base, estimate.high - ratings.base
        significant = math.isfinite(low) and (low > 0 or high < 0)
        verdict = "significant" if significant else "not significant"
        sentences.append(
            f"{model} vs {baseline}: {gap:+.0f} rating points [{low:+.0f}, {high:+.0f}], "
            f"n={estimate.n} games: {verdict} at α={alpha:g}"
        )
    return PairComparison(
        fields_naming_models=fields,
        baseline=baseline,
        n_pairs=n_pairs,
        status=status_counts(data.status),
        bradley_terry=RatingsFigure.model_validate(ratings.to_dict()),
        ranking=[m for m, _ in ratings.ranked()],
        win_rates={
            m: Figure.of(e) for m, e in S.win_rates(model_a, model_b, verdicts, **kw).items()
        },
        pairs_without_model_names=int(unnamed.sum()),
        sentences=sentences,
        human_bradley_terry=human,
        length_controlled=length_controlled,
    )


def _games_against(
    model: str,
    baseline: str,
    model_a: NDArray[np.object_],
    model_b: NDArray[np.object_],
    data: PairData,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The model's preference, its length and the baseline's, in each game they played."""
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
        verdict = np.asarray([data.verdict[i]], dtype=object)
        prefs.append(float(S.verdict_preference(verdict, model_slot=slot)[0]))
        len_model.append(lm)
        len_base.append(lb)
    return np.asarray(prefs), np.asarray(len_model), np.asarray(len_base)


def model_report(
    results: Results,
    *,
    by: str = "model",
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
    label_fields: Sequence[str] = (),
) -> CompareReport:
    """Models compared under the judge: pointwise means and paired differences, or
    Bradley-Terry ratings and win rates for pairwise results.

    Differences are taken between neighbours in the ranking by default (is #1 really
    ahead of #2?), against `baseline`, or between all pairs.
    """
    settings = settings or Settings(confidence=1 - alpha)
    head = header(results, "compare", settings)
    if results.mode == "listwise":
        model_a, model_b, games = listwise_games(results, by)
        pair = compare_games(
            model_a, model_b, games, [by], int(model_a.size), baseline, alpha, settings
        )
        return CompareReport(**head, by=by, alpha=alpha, pairwise=pair)
    if results.mode == "pairwise":
        pair = _compare_pairs(
            results,
            model_a_field or f"{by}_a",
            model_b_field or f"{by}_b",
            baseline,
            alpha,
            settings,
        )
        return CompareReport(**head, by=by, alpha=alpha, pairwise=pair)
    models = results.field(by)
    if prompt_field is None and any("prompt_id" in j.metadata for j in results.judgments):
        prompt_field = "prompt_id"
    prompts = None if prompt_field is None else results.field(prompt_field)
    known = {str(m) for m in models.tolist() if m is not None}
    if baseline is not None and baseline not in known:
        raise ValueError(
            f"baseline {baseline!r} is not a value of {by} (have: {', '.join(sorted(known))})"
        )
    criteria = {
        data.criterion: _model_comparison(
            data.values(score),
            score,
            data.human,
            data.status,
            models,
            prompts,
            baseline,
            all_pairs,
            alpha,
            settings,
        )
        for data in criterion_data(results, mapping, scale, scales, label_fields)
    }
    return CompareReport(
        **head,
        by=by,
        alpha=alpha,
        prompt_field=prompt_field,
        score=score,
        criteria=criteria,
    )


def compare_report(results: Results, **options: Any) -> dict[str, Any]:
    """`model_report` as JSON-ready data (what `jurist compare --format json` prints)."""
    return jsonable(model_report(results, **options).to_dict())
