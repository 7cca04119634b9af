"""Listwise results measured against humans (`jurist meta`) and turned into games between
models (`jurist compare`).

Human labels come in two shapes, told apart by their values: an integer is the index of the
best response (top-1 accuracy, as in best-of-K benchmarks); a list holds one human score per
response, higher = better (Kendall's tau per item). How often each presentation slot held
the judge's top pick needs no labels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray
from rich.console import RenderableType

from jurist.core.judgment import ListwiseJudgment
from jurist.meta.errors import MetaInputError
from jurist.meta.figures import Figure, Part, Section, StatusCounts
from jurist.meta.join import PairData, Results
from jurist.meta.options import Settings
from jurist.meta.text import est, line, status_text
from jurist.stats.compare import mean_estimate
from jurist.stats.proportion import proportion_estimate
from jurist.stats.ranking import mean_kendall_tau, slot_bias, top1_accuracy


class SlotBiasFigure(Section):
    """Top-pick rate per presentation slot for lists of one length."""

    n_responses: int
    top_rate: list[Figure]
    counts: list[int]
    chi2: float | None
    p_value: float | None
    sentence: str


class ListwiseAgreement(Part):
    """The judge's rankings against human labels, and its slot bias."""

    _OPTIONAL = frozenset({"top1", "kendall", "best_field", "ranking_field", "note"})

    n_items: int
    status: StatusCounts
    top_consistency: Figure
    top_tied: Figure
    slot_bias: dict[str, SlotBiasFigure]
    best_field: str | None = None
    top1: Figure | None = None
    ranking_field: str | None = None
    kendall: Figure | None = None
    note: str | None = None

    def render(self, name: str = "") -> list[RenderableType]:
        out: list[RenderableType] = [line(f"[bold]listwise[/]: {status_text(self.status)}")]
        if self.top1 is not None:
            out.append(line(f"  top-1 accuracy vs {self.best_field}: {est(self.top1)}"))
        if self.kendall is not None:
            out.append(
                line(
                    f"  Kendall tau-b vs {self.ranking_field} (mean per item): {est(self.kendall)}"
                )
            )
        out.append(line(f"  top pick agreed across orders: {est(self.top_consistency)}"))
        out.append(line(f"  top tied after pooling: {est(self.top_tied)}"))
        out += [line(f"  {n} responses: {bias.sentence}") for n, bias in self.slot_bias.items()]
        if self.note:
            out.append(line(f"  [yellow]{self.note}[/]"))
        return out


def _listwise(results: Results) -> list[ListwiseJudgment]:
    return [j for j in results.judgments if isinstance(j, ListwiseJudgment)]


def _label_values(results: Results, field: str) -> list[Any]:
    """The field's value per judgment as written (a list stays one value)."""
    values = []
    for judgment in results.judgments:
        if results.labels is not None:
            ratings = results.labels.ratings.get(judgment.item_id, {}).get(field, [])
            values.append(None if not ratings else ratings[0] if len(ratings) == 1 else ratings)
        else:
            values.append(judgment.labels.get(field))
    return values


def _label_kind(results: Results, field: str, values: list[Any]) -> str:
    """'best' for index labels, 'scores' for per-response lists, checked on every row."""
    kinds = set()
    for i, value in enumerate(values):
        if value is None:
            continue
        judgment = results.judgments[i]
        where = (results.path, results.lines[i], f"labels.{field}")
        if isinstance(value, list):
            if len(value) != judgment.n_responses or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in value
            ):
                raise MetaInputError(
                    *where,
                    f"a ranking label needs {judgment.n_responses} numbers (one per response)",
                )
            kinds.add("scores")
        elif isinstance(value, int | float) and not isinstance(value, bool) and value == int(value):
            if not 0 <= int(value) < judgment.n_responses:
                raise MetaInputError(
                    *where, f"best response {value} is not in 0..{judgment.n_responses - 1}"
                )
            kinds.add("best")
        else:
            raise MetaInputError(
                *where, f"{value!r} is neither a response index nor a list of scores"
            )
    if len(kinds) > 1:
        raise MetaInputError(results.path, None, f"labels.{field}", "mixes indices and lists")
    return kinds.pop() if kinds else "none"


def listwise_agreement(
    results: Results, settings: Settings, label_fields: list[str] | None = None
) -> ListwiseAgreement:
    """Top-1 accuracy and Kendall's tau against the label fields (all, unless given), top-pick
    consistency across orders, and the slot bias per list length."""
    judgments = _listwise(results)
    fields = label_fields or results.label_fields()
    figures: dict[str, Any] = {}
    for field in fields:
        values = _label_values(results, field)
        kind = _label_kind(results, field, values)
        scores = [j.scores if j.status == "ok" else None for j in judgments]
        if kind == "best" and "top1" not in figures:
            estimate = top1_accuracy(scores, values, confidence=settings.confidence)
            figures.update(best_field=field, top1=Figure.of(estimate))
        elif kind == "scores" and "kendall" not in figures:
            estimate = mean_kendall_tau(scores, values, **settings.kw())
            figures.update(ranking_field=field, kendall=Figure.of(estimate))
    consistency = [j.top_consistency for j in judgments if j.top_consistency is not None]
    slots: dict[int, list[int]] = {}
    for j in judgments:
        for order in j.orders:
            if order.ranking:
                slots.setdefault(j.n_responses, []).append(order.shown.index(order.ranking[0]))
    bias = {}
    for n, tops in sorted(slots.items()):
        found = slot_bias(tops, n, confidence=settings.confidence)
        data = found.to_dict()
        bias[str(n)] = SlotBiasFigure(
            n_responses=n,
            top_rate=[Figure.model_validate(r) for r in data["top_rate"]],
            counts=list(found.counts),
            chi2=data["chi2"],
            p_value=data["p_value"],
            sentence=data["sentence"],
        )
    tied = [float(j.top_tied) for j in judgments if j.top_tied is not None]
    note = None
    if "top1" not in figures and "kendall" not in figures:
        note = "no human label found: pass --label-field (a best index or per-response scores)"
    return ListwiseAgreement(
        n_items=len(judgments),
        status=results.status_counts(),
        top_consistency=Figure.of(mean_estimate(consistency, confidence=settings.confidence)),
        top_tied=Figure.of(proportion_estimate(tied, confidence=settings.confidence)),
        slot_bias=bias,
        note=note,
        **figures,
    )


def listwise_games(
    results: Results, by: str
) -> tuple[NDArray[np.object_], NDArray[np.object_], PairData]:
    """Every pair of responses in every item as a game between the models that wrote them
    (metadata `by`: one name per response); the pooled scores decide it, equal scores tie.
    Items that failed give games without a verdict, so they are counted, not dropped."""
    model_a: list[Any] = []
    model_b: list[Any] = []
    verdicts: list[Any] = []
    statuses: list[Any] = []
    len_a: list[float] = []
    len_b: list[float] = []
    for i, j in enumerate(_listwise(results)):
        names = j.metadata.get(by)
        if not isinstance(names, list) or len(names) != j.n_responses:
            raise MetaInputError(
                results.path,
                results.lines[i],
                f"metadata.{by}",
                f"needs a list of {j.n_responses} model names, one per response "
                "(carry it with --keep-field)",
            )
        lengths = j.responses_chars or [float("nan")] * j.n_responses
        for a in range(j.n_responses):
            for b in range(a + 1, j.n_responses):
                model_a.append(None if names[a] is None else str(names[a]))
                model_b.append(None if names[b] is None else str(names[b]))
                statuses.append(j.status)
                len_a.append(float(lengths[a]))
                len_b.append(float(lengths[b]))
                if j.status != "ok" or j.scores is None:
                    verdicts.append(None)
                elif round(j.scores[a], 9) == round(j.scores[b], 9):
                    verdicts.append("tie")
                else:
                    verdicts.append("A" if j.scores[a] > j.scores[b] else "B")
    n = len(verdicts)
    none = np.full(n, None, dtype=object)
    data = PairData(
        label_field=None,
        status=np.asarray(statuses, dtype=object),
        verdict=np.asarray(verdicts, dtype=object),
        verdict_ab=none,
        verdict_ba=none,
        p_a=np.full(n, np.nan),
        label=none,
        length_a=np.asarray(len_a),
        length_b=np.asarray(len_b),
    )
    return np.asarray(model_a, dtype=object), np.asarray(model_b, dtype=object), data
