"""The figures each report draws: judge-vs-human scatter, histograms and confusion heat
maps for agreement; scale use and position bias for the audit; forest plots of model
differences or ratings for the comparison."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jurist.meta import plots
from jurist.meta.agreement import confusion_on_scale
from jurist.meta.agreement_report import AgreementReport
from jurist.meta.audit_report import AuditReport
from jurist.meta.compare_report import CompareReport
from jurist.meta.join import CriterionData
from jurist.meta.options import PlotOptions
from jurist.stats.arrays import FloatArray


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _histograms(data: CriterionData, scores: dict[str, FloatArray], path: Path, what: str) -> Path:
    return plots.score_histograms(scores, path, scale=data.scale, title=f"{data.criterion}: {what}")


def _forest(
    rows: list[tuple[str, float, float, float]], path: Path, title: str, xlabel: str
) -> list[Path]:
    """A forest plot of the rows, or nothing when no row has an interval."""
    return [plots.forest_plot(rows, path, title=title, xlabel=xlabel)] if rows else []


def agreement_plots(
    report: AgreementReport, criteria: list[CriterionData], to: PlotOptions
) -> list[Path]:
    """Judge-vs-human scatter (parsed and expected), score histograms and confusion heat
    maps for every labelled criterion, or the verdict confusion for pairs."""
    out, suffix = to.folder, to.format
    if report.pairwise is not None:
        cm = report.pairwise.confusion
        if cm is None:
            return []
        path = out / f"confusion.{suffix}"
        return [
            plots.confusion_heatmap(
                np.asarray(cm.counts), path, row_labels=cm.labels, col_labels=cm.labels
            )
        ]
    paths: list[Path] = []
    for data in criteria:
        if data.label_field is None or np.isnan(data.human).all():
            continue
        name = _safe(data.criterion)
        for kind, values in (("parsed", data.score), ("expected", data.expected)):
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
        paths.append(_histograms(data, histograms, out / f"hist_{name}.{suffix}", "distribution"))
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


def audit_plots(report: AuditReport, criteria: list[CriterionData], to: PlotOptions) -> list[Path]:
    """Score histograms (scale use) for pointwise results; for pairs, a forest plot of
    the first-slot rate minus 0.5, overall and per group."""
    out, suffix = to.folder, to.format
    pair = report.pairwise
    if pair is not None:
        rows = [("all pairs", pair), *(pair.groups or {}).items()]
        position = []
        for name, entry in rows:
            e = entry.position.first_slot_rate
            if e.value is None or e.low is None or e.high is None:
                continue
            label = f"{name} (n={e.n})"
            position.append((label, e.value - 0.5, e.low - 0.5, e.high - 0.5))
        return _forest(
            position,
            out / f"position_bias.{suffix}",
            "Position bias: first-slot rate − 0.5",
            "first-slot rate − 0.5 (95% CI; > 0 favours first)",
        )
    paths: list[Path] = []
    for data in criteria:
        if data.scale is None:
            continue
        histograms = {"judge (parsed)": data.score}
        if not np.isnan(data.human).all():
            histograms["human"] = data.human
        path = out / f"scale_use_{_safe(data.criterion)}.{suffix}"
        paths.append(_histograms(data, histograms, path, "scale use"))
    return paths


def compare_plots(
    report: CompareReport, criteria: list[CriterionData], to: PlotOptions
) -> list[Path]:
    """Forest plot of model differences (pointwise) or of ratings against the baseline;
    `criteria` is unused, as the report holds all it needs."""
    out, suffix = to.folder, to.format
    pair = report.pairwise
    if pair is not None:
        base = pair.bradley_terry.base
        rows = [
            (f"{m} − {pair.baseline} (n={e.n})", e.value - base, e.low - base, e.high - base)
            for m, e in pair.bradley_terry.ratings.items()
            if m != pair.baseline
            and e.value is not None
            and e.low is not None
            and e.high is not None
        ]
        return _forest(
            rows,
            out / f"forest_ratings.{suffix}",
            "Bradley-Terry rating vs baseline",
            "rating difference (Elo scale, CI)",
        )
    paths: list[Path] = []
    for cid, entry in (report.criteria or {}).items():
        rows = [
            (f"{d.name_x} − {d.name_y} (n={d.n})", d.value, d.low, d.high)
            for d in entry.differences
            if d.value is not None and d.low is not None and d.high is not None
        ]
        paths += _forest(
            rows,
            out / f"forest_{_safe(cid)}.{suffix}",
            f"{cid}: paired differences between models ({report.score})",
            f"difference in mean score ({1 - report.alpha:.0%} CI)",
        )
    return paths
