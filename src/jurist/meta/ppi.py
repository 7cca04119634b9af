"""Few labels, many items: prediction-powered inference (PPI++, Angelopoulos et al. 2023).

When people labelled a random sample of a run and the judge scored every item, the mean
of the labels alone is unbiased but wide, and the mean of the judge's scores is narrow
but carries the judge's bias. PPI++ uses the judge on every item and corrects it by its
error on the labelled sample, with a tuned weight λ̂ in [0, 1] (0: labels only), so its
interval covers the people's mean and is never much wider than the labels-only one.
The statistics are `ppi-python`'s (`ppi_mean_ci`, `ppi_mean_power`), imported only
when a figure is computed.

Valid when the labelled items are a random draw from the run's items; a sample chosen
by hand (the hard items, the first ones) is not.
"""

from __future__ import annotations

import importlib.util
import math
import warnings
from types import ModuleType
from typing import Any

import numpy as np
from rich.console import RenderableType
from rich.table import Table

from jurist.core.errors import ConfigError
from jurist.core.lazy import lazy
from jurist.meta.figures import Figure, Part, Section
from jurist.meta.join import CriterionData, ScoreKind
from jurist.meta.text import est, line
from jurist.stats.arrays import FloatArray

sps = lazy("scipy.stats")

INSTALL_HINT = "pip install 'jurist[tune]' (ppi-python)"
MIN_LABELLED = 10  # fewer labelled items make the CLT interval PPI relies on a guess


def ppi_module() -> ModuleType:
    """`ppi_py`, or a one-line error saying how to install it."""
    try:
        import ppi_py
    except ImportError as exc:
        raise ConfigError(f"prediction-powered inference needs ppi-python: {INSTALL_HINT}") from exc
    return ppi_py


def ppi_available() -> bool:
    """Whether ppi-python is installed (reports leave PPI out with a note when not)."""
    return importlib.util.find_spec("ppi_py") is not None


class LabelAdvice(Section):
    """How many labelled items (more of the run's items, drawn at random) would narrow the
    PPI interval to `factor` of its width, from ppi-python's power analysis. `reachable`
    is false when even labelling every item would not: the run needs more items."""

    _OPTIONAL = frozenset({"note"})

    factor: float
    width: float
    labelled: int
    labelled_needed: int | None
    more_labels: int | None
    reachable: bool
    ppi_corr: float | None
    note: str | None = None


class PPIFigures(Section):
    """One quantity three ways: labels only (unbiased, wide), judge only (narrow, biased
    by the judge's errors), and PPI++ (both, corrected); λ̂ is the weight PPI++ gave the
    judge."""

    _OPTIONAL = frozenset({"advice"})

    labels_only: Figure
    judge_only: Figure
    ppi: Figure
    lhat: float | None
    advice: LabelAdvice | None = None


def _z(confidence: float) -> float:
    return float(sps.norm.ppf(0.5 + confidence / 2))


def _clt(values: FloatArray, confidence: float) -> Figure:
    """Mean with its normal interval, the form the three figures share."""
    n = int(values.size)
    if n < 2:
        return Figure(value=float(values.mean()) if n else None, n=n, confidence=confidence)
    mean, se = float(values.mean()), float(values.std() / math.sqrt(n))
    return Figure(
        value=mean,
        low=mean - _z(confidence) * se,
        high=mean + _z(confidence) * se,
        n=n,
        se=se,
        confidence=confidence,
    )


def tuned_lambda(y: FloatArray, yhat: FloatArray, yhat_unlabelled: FloatArray) -> float:
    """PPI++'s weight for the judge on a mean: Cov(Y, Ŷ) / ((1 + n/N) Var(Ŷ)), clipped to
    [0, 1], as `ppi_mean_ci` computes it when it tunes λ itself."""
    n, big_n = y.size, yhat_unlabelled.size
    spread = float(np.var(np.concatenate([yhat, yhat_unlabelled]), ddof=1))
    if spread == 0.0:
        return 0.0
    cov = float(np.mean((y - y.mean()) * (yhat - yhat.mean())))
    return float(np.clip(cov / ((1 + n / big_n) * spread), 0.0, 1.0))


def label_advice(
    y: FloatArray, yhat: FloatArray, n_items: int, *, se: float, width: float, factor: float = 0.5
) -> LabelAdvice:
    """The labelled sample size that would narrow the interval to `factor` of its width.

    The width goes as 1 / sqrt(effective n), so the target effective n is today's over
    factor²; `ppi_mean_power` gives the cheapest (n labelled, N judged) pair that reaches
    it with n + N no more than the run's items, judge scores costing next to nothing.
    """
    ppi = ppi_module()
    labelled = int(y.size)
    se_labels = float(y.std() / math.sqrt(labelled))
    none = LabelAdvice(
        factor=factor,
        width=width,
        labelled=labelled,
        labelled_needed=None,
        more_labels=None,
        reachable=False,
        ppi_corr=None,
    )
    if se <= 0 or se_labels <= 0 or float(yhat.std()) == 0.0:
        note = "labels or judge scores are constant on the labelled items: no advice"
        return none.model_copy(update={"note": note})
    effective_now = labelled * (se_labels / se) ** 2
    target = math.ceil(effective_now / factor**2)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            pair = ppi.ppi_mean_power(
                y, yhat, cost_Y=1.0, cost_Yhat=1e-6, effective_n=target, n_max=n_items
            )
    except ValueError as exc:  # a correlation of ±1 leaves nothing to plan
        return none.model_copy(update={"note": f"no advice: {exc}"})
    reachable = target <= n_items and int(pair["effective_n"]) >= target - 1
    needed = min(max(int(pair["n"]), labelled), n_items)
    return LabelAdvice(
        factor=factor,
        width=width,
        labelled=labelled,
        labelled_needed=needed if reachable else None,
        more_labels=needed - labelled if reachable else None,
        reachable=reachable,
        ppi_corr=float(pair["ppi_corr"]),
        note=None if reachable else f"needs an effective n of {target}; the run has {n_items}",
    )


def ppi_mean(
    y: FloatArray,
    yhat: FloatArray,
    yhat_unlabelled: FloatArray,
    *,
    confidence: float = 0.95,
    narrow_to: float | None = 0.5,
) -> PPIFigures:
    """The mean of the people's labels over every item: labels only, judge only and PPI++
    (`ppi_mean_ci` with λ tuned), each with its interval at `confidence`.

    `y` and `yhat` are the labelled items' labels and judge scores, `yhat_unlabelled` the
    judge's scores on the rest. With `narrow_to`, advice on the labels that would narrow
    the PPI interval to that share of its width.
    """
    ppi = ppi_module()
    y, yhat, rest = (np.asarray(a, dtype=np.float64) for a in (y, yhat, yhat_unlabelled))
    n_items = y.size + rest.size
    alpha = 1 - confidence
    lam = tuned_lambda(y, yhat, rest)
    value = float(np.ravel(ppi.ppi_mean_pointestimate(y, yhat, rest, lam=lam))[0])
    interval = ppi.ppi_mean_ci(y, yhat, rest, alpha=alpha, lam=lam)
    low, high = (float(np.ravel(b)[0]) for b in interval)
    se = (high - low) / (2 * _z(confidence))
    advice = None
    if narrow_to is not None:
        advice = label_advice(y, yhat, n_items, se=se, width=high - low, factor=narrow_to)
    return PPIFigures(
        labels_only=_clt(y, confidence),
        judge_only=_clt(np.concatenate([yhat, rest]), confidence),
        ppi=Figure(value=value, low=low, high=high, n=n_items, se=se, confidence=confidence),
        lhat=lam,
        advice=advice,
    )


class PPIBlock(Part):
    """A criterion's run-level mean (and pass rate at `pass_threshold`) from the labelled
    sample and the judge's `score` on every item."""

    _OPTIONAL = frozenset({"mean", "pass_rate", "pass_threshold", "note"})

    score: ScoreKind
    n_labelled: int
    n_unlabelled: int
    n_excluded: int
    mean: PPIFigures | None = None
    pass_rate: PPIFigures | None = None
    pass_threshold: float | None = None
    note: str | None = None

    def render(self, name: str = "") -> list[RenderableType]:
        head = (
            f"  run-level estimate ({self.score} score): {self.n_labelled} labelled, "
            f"{self.n_unlabelled} judged only, {self.n_excluded} left out"
        )
        if self.mean is None:
            return [line(f"{head}; {self.note or 'no PPI figures'}")]
        table = Table(title=f"{name} over every item: labels + judge (PPI++)", title_justify="left")
        table.add_column("estimate (95% CI)")
        table.add_column("mean", justify="right")
        blocks = {"mean": self.mean}
        if self.pass_rate is not None:
            table.add_column(f"pass rate (≥ {self.pass_threshold:g})", justify="right")
            blocks["pass"] = self.pass_rate
        for label, key in (
            ("labels only", "labels_only"),
            ("judge only (biased)", "judge_only"),
            ("PPI++", "ppi"),
        ):
            table.add_row(label, *(est(getattr(b, key)) for b in blocks.values()))
        table.add_row("λ̂ (weight on the judge)", *(f"{b.lhat:.2f}" for b in blocks.values()))
        out: list[RenderableType] = [table, line(head)]
        advice = self.mean.advice
        if advice is not None:
            out.append(line(f"  {_advice_text(advice)}"))
        if self.note:
            out.append(line(f"  [yellow]{self.note}[/]"))
        return out


def _advice_text(advice: LabelAdvice) -> str:
    share = f"{advice.factor:.0%}"
    if advice.reachable and advice.more_labels is not None:
        return (
            f"to narrow the PPI interval to {share} of its width ({advice.width:.3f}): "
            f"label {advice.more_labels} more items at random ({advice.labelled_needed} in all)"
        )
    return f"the PPI interval cannot narrow to {share} within this run: {advice.note}"


def _credits(data: CriterionData, kind: ScoreKind, threshold: float | None) -> tuple[Any, Any]:
    """Judge scores and human labels, or with `threshold` whether each reaches it."""
    judge, human = data.values(kind), data.human
    if threshold is None:
        return judge, human
    with np.errstate(invalid="ignore"):
        return (
            np.where(np.isnan(judge), np.nan, (judge >= threshold).astype(float)),
            np.where(np.isnan(human), np.nan, (human >= threshold).astype(float)),
        )


def criterion_ppi(
    data: CriterionData,
    *,
    pass_threshold: float | None = None,
    confidence: float = 0.95,
    narrow_to: float | None = 0.5,
) -> PPIBlock | None:
    """PPI figures for one criterion, or None unless some items are labelled and some are
    not. Uses the expected score when the judge wrote one (it carries more signal than the
    parsed one), else the parsed score; items the judge did not score are left out, as if
    they were not in the run."""
    kind: ScoreKind = "expected" if bool((~np.isnan(data.expected)).any()) else "parsed"
    scored = ~np.isnan(data.values(kind))
    labelled = ~np.isnan(data.human)
    n_lab, n_rest = int((scored & labelled).sum()), int((scored & ~labelled).sum())
    if data.label_field is None or n_lab == 0 or n_rest == 0:
        return None
    block = PPIBlock(
        score=kind,
        n_labelled=n_lab,
        n_unlabelled=n_rest,
        n_excluded=int((~scored).sum()),
        pass_threshold=pass_threshold,
    )
    if n_lab < MIN_LABELLED:
        return block.model_copy(update={"note": f"needs at least {MIN_LABELLED} labelled items"})
    if not ppi_available():
        return block.model_copy(update={"note": f"PPI figures need ppi-python: {INSTALL_HINT}"})
    figures: dict[str, PPIFigures] = {}
    for key, threshold in (("mean", None), ("pass_rate", pass_threshold)):
        if key == "pass_rate" and threshold is None:
            continue
        judge, human = _credits(data, kind, threshold)
        figures[key] = ppi_mean(
            human[scored & labelled],
            judge[scored & labelled],
            judge[scored & ~labelled],
            confidence=confidence,
            narrow_to=narrow_to if key == "mean" else None,
        )
    return block.model_copy(update=figures)
