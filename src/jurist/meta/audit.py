"""Judge biases (`jurist audit`): position, verbosity (raw and with the human label held
fixed), self-preference, and how the scale is used."""

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
    status_counts,
    verdict_counts,
)
from jurist.meta.audit_report import (
    AuditReport,
    CriterionAudit,
    CriterionAuditGroup,
    PairAudit,
    PairSelfPreference,
    ScaleUseFigure,
    SelfPreferenceFigure,
)
from jurist.meta.figures import DifferenceFigure, Figure, VerbosityFigure
from jurist.meta.join import CriterionData, PairData, Results, ScoreKind, criterion_data
from jurist.meta.options import Settings
from jurist.stats.arrays import FloatArray
from jurist.stats.proportion import proportion_estimate
from jurist.stats.results import clean


def families(values: NDArray[np.object_], family: str) -> NDArray[np.object_]:
    """`family` where the model name contains it (any case), 'other' elsewhere."""
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


def _self_pick(verdicts: NDArray[np.object_], self_slot: NDArray[np.object_]) -> FloatArray:
    out = np.full(len(verdicts), np.nan)
    for i, (v, slot) in enumerate(zip(verdicts.tolist(), self_slot.tolist(), strict=True)):
        if v is None or slot is None:
            continue
        out[i] = 0.5 if v == "tie" else float(v == slot)
    return out


def _pair_audit(data: PairData, mask: NDArray[np.bool_], settings: Settings) -> PairAudit:
    kw = settings.kw()
    pref, pref_source = _preference_for_a(data)
    labelled = not all(v is None for v in data.label.tolist())
    labels = data.label[mask] if labelled else None
    human_pref = S.verdict_preference(data.label)[mask] if labelled else None
    verdicts = verdict_counts(data.verdict[mask])
    judged = sum(verdicts.values())
    position = S.position_bias(data.verdict_ab[mask], data.verdict_ba[mask], **kw)
    verbosity = S.verbosity_bias(
        pref[mask], (data.length_a - data.length_b)[mask], labels=human_pref, **kw
    )
    longer = S.longer_preference(
        data.verdict[mask], data.length_a[mask], data.length_b[mask], labels=labels, **kw
    )
    accuracy = None
    if labels is not None:
        accuracy = S.pairwise_accuracy(data.verdict[mask], labels, ties="exclude", **kw)
    return PairAudit.model_validate(
        {
            "n_items": int(mask.sum()),
            "status": status_counts(data.status[mask]),
            "position": position.to_dict(),
            "verbosity": {
                "preference": pref_source,
                "preference_vs_length_difference": verbosity.to_dict(),
                "longer_preferred": longer.to_dict(),
            },
            "verdicts": verdicts,
            "tie_rate": clean(verdicts["tie"] / judged) if judged else None,
            "accuracy_excluding_ties": None if accuracy is None else accuracy.to_dict(),
        }
    )


def _pair_self_preference(
    results: Results, data: PairData, family: str, model_field: str, alpha: float
) -> PairSelfPreference:
    """How often the judge picks its own family's response in mixed pairs, against how
    often people do on the same pairs (paired), or against 0.5 without labels."""
    fam_a = families(results.field(f"{model_field}_a"), family)
    fam_b = families(results.field(f"{model_field}_b"), family)
    slot = np.empty(len(fam_a), dtype=object)
    for i, (a, b) in enumerate(zip(fam_a.tolist(), fam_b.tolist(), strict=True)):
        slot[i] = (
            "A" if a == family and b == "other" else "B" if b == family and a == "other" else None
        )
    judge = _self_pick(data.verdict, slot)
    out = PairSelfPreference(
        judge_family=family,
        mixed_pairs=int(sum(s is not None for s in slot.tolist())),
        judge_self_rate=Figure.of(proportion_estimate(judge, confidence=1 - alpha)),
    )
    if all(v is None for v in data.label.tolist()):
        return out
    human = _self_pick(data.label, slot)
    difference = S.paired_difference(
        judge, human, name_x="judge", name_y="human", unit="pairs", alpha=alpha
    )
    return out.model_copy(
        update={
            "human_self_rate": Figure.of(proportion_estimate(human, confidence=1 - alpha)),
            "judge_minus_human": DifferenceFigure.model_validate(difference.to_dict()),
        }
    )


def _criterion_audit(
    data: CriterionData,
    settings: Settings,
    prompts: NDArray[np.object_] | None,
    own_family: tuple[NDArray[np.object_], str] | None,
    group_by: NDArray[np.object_] | None,
    alpha: float,
) -> CriterionAudit:
    kw = settings.kw()
    human = None if np.isnan(data.human).all() else data.human
    scale_use = None
    if data.scale is not None:
        between = "two responses to the same prompt" if prompts is not None else "any two items"
        use = S.scale_use(data.score, data.scale, groups=prompts).to_dict()
        scale_use = ScaleUseFigure(**use, tie_rate_between=between)
    kinds: list[ScoreKind] = ["parsed"]
    if not np.isnan(data.expected).all():
        kinds.append("expected")
    verbosity = {
        kind: VerbosityFigure.model_validate(
            S.verbosity_bias(data.values(kind), data.lengths, labels=human, **kw).to_dict()
        )
        for kind in kinds
    }
    self_preference = None
    if own_family is not None:
        family_of, family = own_family
        own = S.self_preference(
            data.score,
            family_of,
            family,
            human=human,
            alpha=alpha,
            n_resamples=settings.n_resamples,
            seed=settings.seed,
        )
        self_preference = SelfPreferenceFigure.model_validate(own.to_dict())
    groups = None
    if group_by is not None:
        groups = {}
        for key in group_keys(group_by):
            mask = group_by == key
            use_in = None if data.scale is None else S.scale_use(data.score[mask], data.scale)
            verb = S.verbosity_bias(
                data.score[mask],
                data.lengths[mask],
                labels=None if human is None else human[mask],
                **kw,
            )
            groups[group_name(key)] = CriterionAuditGroup.model_validate(
                {
                    "n_items": int(mask.sum()),
                    "status": status_counts(data.status[mask]),
                    "scale_use": None if use_in is None else use_in.to_dict(),
                    "verbosity": verb.to_dict(),
                }
            )
    return CriterionAudit(
        label_field=data.label_field,
        status=status_counts(data.status),
        scale=None if data.scale is None else list(data.scale),
        scale_use=scale_use,
        verbosity=verbosity,
        self_preference=self_preference,
        groups=groups,
    )


def bias_report(
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
    label_fields: Sequence[str] = (),
) -> AuditReport:
    """Position, verbosity and self-preference biases and how the scale is used.

    Verbosity is reported raw and, where human labels exist, with the label held fixed:
    longer answers may really be better, and only the remainder is the judge's bias.
    """
    settings = settings or Settings()
    head = header(results, "audit", settings)
    group_by = None if by is None else results.field(by)
    if (judge_family is None) != (model_field is None):
        raise ValueError("--judge-family and --model-field go together")
    if results.mode == "pairwise":
        data = results.pairs(results.pair_label_field(label_field))
        pair = _pair_audit(data, np.ones(len(results), dtype=bool), settings)
        update: dict[str, Any] = {}
        if group_by is not None:
            update["groups"] = {
                group_name(key): _pair_audit(data, group_by == key, settings)
                for key in group_keys(group_by)
            }
        if judge_family is not None and model_field is not None:
            update["self_preference"] = _pair_self_preference(
                results, data, judge_family, model_field, alpha
            )
        return AuditReport(**head, by=by, pairwise=pair.model_copy(update=update))
    prompts = None if prompt_field is None else results.field(prompt_field)
    own_family = None
    if judge_family is not None and model_field is not None:
        own_family = (families(results.field(model_field), judge_family), judge_family)
    criteria = {
        data.criterion: _criterion_audit(data, settings, prompts, own_family, group_by, alpha)
        for data in criterion_data(results, mapping, scale, scales, label_fields)
    }
    return AuditReport(**head, by=by, criteria=criteria)


def audit_report(results: Results, **options: Any) -> dict[str, Any]:
    """`bias_report` as JSON-ready data (what `jurist audit --format json` prints)."""
    return jsonable(bias_report(results, **options).to_dict())
