"""Agreement between judge and humans (`jurist meta`): correlations, agreement on the
scale, kappa, alpha and MAE per criterion; accuracy, kappa and consistency for pairs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from jurist import stats as S
from jurist.meta._common import (
    group_keys,
    group_name,
    header,
    jsonable,
    single_value_note,
    status_counts,
    verdict_counts,
)
from jurist.meta.agreement_report import (
    AgreementGroup,
    AgreementReport,
    CriterionAgreement,
    PairAgreement,
    ScoreAgreement,
)
from jurist.meta.estimators import EstimatorsBlock, criterion_estimators, estimator_groups
from jurist.meta.figures import AlphaBlock, Confusion, Figure
from jurist.meta.join import CriterionData, PairData, Results, ScoreKind, criterion_data
from jurist.meta.listwise import listwise_agreement
from jurist.meta.options import Settings
from jurist.stats.arrays import FloatArray


def score_agreement(
    judge: FloatArray,
    human: FloatArray,
    annotators: FloatArray,
    scale: Sequence[float] | None,
    settings: Settings,
    *,
    full: bool = True,
) -> ScoreAgreement:
    """Correlations, agreement on the scale, kappa, MAE and (with `full`) alpha.

    Correlations, agreement and MAE compare with the annotators' mean; alpha uses each
    rating, so disagreement among annotators shows as a ceiling.
    """
    kw = settings.kw()
    out: dict[str, Any] = {
        "pearson": Figure.of(S.pearson(judge, human, **kw)),
        "spearman": Figure.of(S.spearman(judge, human, **kw)),
        "kendall": Figure.of(S.kendall(judge, human, **kw)),
        "mae": Figure.of(S.mean_absolute_error(judge, human, **kw)),
        "note": single_value_note(judge),
    }
    if scale is not None:
        out["exact"] = Figure.of(S.exact_agreement(judge, human, scale=scale, **kw))
        out["within_one"] = Figure.of(S.within_one(judge, human, scale=scale, **kw))
        out["kappa"] = Figure.of(S.cohen_kappa(judge, human, scale=scale, **kw))
        out["kappa_quadratic"] = Figure.of(
            S.cohen_kappa(judge, human, scale=scale, weights="quadratic", **kw)
        )
    if full:
        present = ~np.isnan(judge)
        masked = np.where(present[None, :], annotators, np.nan)
        for level in ("ordinal", "interval"):
            alpha = S.judge_alpha(judge, masked, level=level, **kw)
            out[f"alpha_{level}"] = AlphaBlock.model_validate(alpha.to_dict())
    return ScoreAgreement(**out)


def confusion_on_scale(
    judge: FloatArray, human: FloatArray, scale: Sequence[float]
) -> dict[str, Any]:
    """Human (rows) x judge (columns) counts after snapping both to the scale points."""
    keep = ~(np.isnan(judge) | np.isnan(human))
    x, y = judge[keep], human[keep]
    points = sorted(scale)
    counts = np.zeros((len(points), len(points)), dtype=np.int64)
    if x.size:
        np.add.at(counts, (S.snap(y, points), S.snap(x, points)), 1)
    return {
        "labels": [f"{p:g}" for p in points],
        "counts": counts.tolist(),
        "n": int(x.size),
        "n_excluded": int((~keep).sum()),
    }


def criterion_agreement(
    data: CriterionData,
    settings: Settings,
    *,
    by: NDArray[np.object_] | None = None,
    estimators: EstimatorsBlock | None = None,
) -> CriterionAgreement:
    """Agreement of one criterion with its human label, parsed and expected side by side
    (and, when a white-box judge wrote them, every estimator with paired differences)."""
    ok = data.status == "ok"
    labelled = ~np.isnan(data.human)
    has_expected = bool((~np.isnan(data.expected)).any())
    report = CriterionAgreement(
        criterion=data.criterion,
        label_field=data.label_field,
        scale=None if data.scale is None else list(data.scale),
        scale_source=data.scale_source,
        n_items=len(data.status),
        status=status_counts(data.status),
        unlabelled=int((~labelled).sum()),
        n_scored_and_labelled=int((ok & labelled & ~np.isnan(data.score)).sum()),
        annotators=int(data.annotators.shape[0]) if labelled.any() else 0,
        annotator_names=None if data.annotator_names is None else list(data.annotator_names),
        max_ratings_per_item=int((~np.isnan(data.annotators)).sum(axis=0).max(initial=0)),
        has_expected=has_expected,
    )
    if data.label_field is None or not labelled.any():
        return report.model_copy(update={"note": "no human label for this criterion"})
    kinds: list[ScoreKind] = ["parsed", "expected"] if has_expected else ["parsed"]
    update: dict[str, Any] = {
        kind: score_agreement(data.values(kind), data.human, data.annotators, data.scale, settings)
        for kind in kinds
    }
    if data.scale is not None:
        update["confusion"] = Confusion(**confusion_on_scale(data.score, data.human, data.scale))
    update["estimators"] = estimators
    if by is not None:
        groups = {}
        for key in group_keys(by):
            mask = by == key
            blocks = {
                kind: score_agreement(
                    data.values(kind)[mask],
                    data.human[mask],
                    data.annotators[:, mask],
                    data.scale,
                    settings,
                    full=False,
                )
                for kind in kinds
            }
            groups[group_name(key)] = AgreementGroup(
                n_items=int(mask.sum()), status=status_counts(data.status[mask]), **blocks
            )
        update["groups"] = groups
    return report.model_copy(update=update)


def pair_agreement(
    data: PairData, settings: Settings, *, by: NDArray[np.object_] | None = None
) -> PairAgreement:
    """Pairwise accuracy (ties excluded and as half), kappa on {A, B, tie}, position
    consistency and the confusion matrix."""
    report = _pair_figures(data, np.ones(len(data.status), dtype=bool), settings)
    groups = None
    if by is not None:
        groups = {group_name(k): _pair_figures(data, by == k, settings) for k in group_keys(by)}
    return report.model_copy(update={"label_field": data.label_field, "groups": groups})


def _pair_figures(data: PairData, mask: NDArray[np.bool_], settings: Settings) -> PairAgreement:
    kw = settings.kw()
    verdict, label = data.verdict[mask], data.label[mask]
    out: dict[str, Any] = {
        "n_items": int(mask.sum()),
        "status": status_counts(data.status[mask]),
        "unlabelled": int(sum(v is None for v in label.tolist())),
        "verdicts": verdict_counts(verdict),
        "labels": verdict_counts(label),
        "position_consistency": Figure.of(
            S.position_consistency(data.verdict_ab[mask], data.verdict_ba[mask], **kw)
        ),
    }
    if any(v is not None for v in label.tolist()):
        out["accuracy_excluding_ties"] = Figure.of(
            S.pairwise_accuracy(verdict, label, ties="exclude", **kw)
        )
        out["accuracy_ties_half"] = Figure.of(
            S.pairwise_accuracy(verdict, label, ties="half", **kw)
        )
        out["kappa"] = Figure.of(S.pairwise_kappa(verdict, label, **kw))
        # What a judge asked in one order only would have reported: the gap to the merged
        # accuracy is what position bias was hiding.
        out["accuracy_original_order_only"] = Figure.of(
            S.pairwise_accuracy(data.verdict_ab[mask], label, ties="exclude", **kw)
        )
        out["confusion"] = Confusion(**S.pairwise_confusion(verdict, label).to_dict())
    return PairAgreement(**out)


def agreement_report(
    results: Results,
    *,
    mapping: Mapping[str, str] | None = None,
    label_field: str | None = None,
    by: str | None = None,
    scale: Sequence[float] | None = None,
    scales: Mapping[str, Sequence[float]] | None = None,
    settings: Settings | None = None,
    label_fields: Sequence[str] = (),
    within: str | None = None,
) -> AgreementReport:
    """How far the judge is from the human labels, per criterion or for pairs.

    `by` breaks every figure down by a metadata field; `by="criterion"` is the
    per-criterion layout pointwise reports have anyway. `label_field` is the pairwise
    preference field; `label_fields` lets a single criterion take a single label field.
    `within` names the field (e.g. doc_id) whose groups the white-box estimators' table
    resamples and ranks within; without it each item is its own group.
    """
    settings = settings or Settings()
    head = header(results, "meta", settings)
    group_by = None if by in (None, "criterion") else results.field(by)
    if results.mode == "listwise":
        listed = [label_field] if label_field else list(label_fields) or None
        return AgreementReport(
            **head, by=by, listwise=listwise_agreement(results, settings, listed)
        )
    if results.mode == "pairwise":
        if by == "criterion":
            raise ValueError("--by criterion needs pointwise results; these are pairwise")
        field_name = results.pair_label_field(label_field)
        pair = pair_agreement(results.pairs(field_name), settings, by=group_by)
        if field_name is None:
            note = "no human preference label found; pass --label-field or a labels file"
            pair = pair.model_copy(update={"note": note})
        return AgreementReport(**head, by=by, pairwise=pair)
    groups = estimator_groups(results, within)
    criteria = {}
    for d in criterion_data(results, mapping, scale, scales, label_fields):
        compared = criterion_estimators(results, d, groups, settings)
        block = None if compared is None else EstimatorsBlock.of(compared, within)
        criteria[d.criterion] = criterion_agreement(d, settings, by=group_by, estimators=block)
    return AgreementReport(**head, by=by, criteria=criteria)


def meta_report(results: Results, **options: Any) -> dict[str, Any]:
    """`agreement_report` as JSON-ready data (what `jurist meta --format json` prints)."""
    return jsonable(agreement_report(results, **options).to_dict())
