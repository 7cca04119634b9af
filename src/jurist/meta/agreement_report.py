"""The agreement report (`jurist meta`): typed, renders itself, exports as JSON."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table

from jurist.meta.escalate import EscalationBlock
from jurist.meta.estimators import EstimatorsBlock
from jurist.meta.figures import AlphaBlock, Confusion, Figure, Part, Report, Section, StatusCounts
from jurist.meta.intervals import IntervalBlock
from jurist.meta.listwise import ListwiseAgreement
from jurist.meta.ppi import PPIBlock
from jurist.meta.text import est, line, scale_text, status_text

_SCORE_ROWS = (
    ("Pearson r", "pearson"),
    ("Spearman ρ", "spearman"),
    ("Kendall τ-b", "kendall"),
    ("exact agreement", "exact"),
    ("within ±1", "within_one"),
    ("Cohen κ", "kappa"),
    ("Cohen κ quadratic", "kappa_quadratic"),
    ("MAE", "mae"),
)
_PAIR_ROWS = (
    ("accuracy, tie labels left out (judge tie = miss)", "accuracy_excluding_ties"),
    ("accuracy, any tie against a decision = ½", "accuracy_ties_half"),
    ("accuracy of the original order alone", "accuracy_original_order_only"),
    ("Cohen κ on A / B / tie", "kappa"),
    ("position consistency", "position_consistency"),
)


class ScoreAgreement(Section):
    """Judge scores of one kind (parsed or expected) against the human mean rating."""

    _OPTIONAL = frozenset(
        {"exact", "within_one", "kappa", "kappa_quadratic", "alpha_ordinal", "alpha_interval"}
        | {"note"}
    )

    pearson: Figure
    spearman: Figure
    kendall: Figure
    mae: Figure
    exact: Figure | None = None
    within_one: Figure | None = None
    kappa: Figure | None = None
    kappa_quadratic: Figure | None = None
    alpha_ordinal: AlphaBlock | None = None
    alpha_interval: AlphaBlock | None = None
    note: str | None = None

    def alpha_rows(self, level: str) -> dict[str, Figure]:
        alpha = self.alpha_ordinal if level == "ordinal" else self.alpha_interval
        if alpha is None:
            return {}
        per = alpha.judge_vs_annotator
        rows: dict[str, Figure] = {}
        if len(per) == 1:
            rows[f"Krippendorff α {level}, judge vs human"] = per[0]
        else:
            values = sorted(e.value for e in per if e.value is not None)
            median = values[len(values) // 2] if values else None
            label = f"α {level}, judge vs each rater (median of {len(per)})"
            rows[label] = Figure(value=median, n=len(values) if values else len(per))
            rows[f"α {level}, judge as one more rater"] = alpha.judge_with_annotators
        if alpha.among_annotators.n:
            rows[f"α {level}, among raters (human ceiling)"] = alpha.among_annotators
        return rows


class AgreementGroup(Section):
    _OPTIONAL = frozenset({"expected"})

    n_items: int
    status: StatusCounts
    parsed: ScoreAgreement
    expected: ScoreAgreement | None = None


class CriterionAgreement(Part):
    """One criterion against its human label, parsed and expected scores side by side."""

    _OPTIONAL = frozenset(
        {"note", "parsed", "expected", "confusion", "groups", "estimators", "ppi", "escalation"}
        | {"intervals"}
    )

    criterion: str
    label_field: str | None
    scale: list[float] | None
    scale_source: str
    n_items: int
    status: StatusCounts
    unlabelled: int
    n_scored_and_labelled: int
    annotators: int
    annotator_names: list[str] | None
    max_ratings_per_item: int
    has_expected: bool
    note: str | None = None
    parsed: ScoreAgreement | None = None
    expected: ScoreAgreement | None = None
    confusion: Confusion | None = None
    groups: dict[str, AgreementGroup] | None = None
    estimators: EstimatorsBlock | None = None
    ppi: PPIBlock | None = None
    escalation: EscalationBlock | None = None
    intervals: IntervalBlock | None = None  # a run graded with a judge profile

    def render(self, name: str = "") -> list[RenderableType]:
        if self.parsed is None:
            return [line(f"[bold]{self.criterion}[/]: {self.note or 'no labels'}")]
        blocks = {"parsed": self.parsed, "expected": self.expected}
        kinds = {k: b for k, b in blocks.items() if b is not None}
        table = Table(
            title=f"{self.criterion} vs human {self.label_field!r} (scale "
            f"{scale_text(self.scale)}, {self.scale_source})",
            title_justify="left",
        )
        table.add_column("figure (95% CI)")
        for kind in kinds:
            table.add_column(f"{kind} score", justify="right")
        for label, key in _SCORE_ROWS:
            if getattr(self.parsed, key) is not None:
                table.add_row(label, *(est(getattr(b, key)) for b in kinds.values()))
        for level in ("ordinal", "interval"):
            rows = [b.alpha_rows(level) for b in kinds.values()]
            for label in dict.fromkeys(label for r in rows for label in r):
                table.add_row(label, *(est(r.get(label)) for r in rows))
        out: list[RenderableType] = [table]
        per_item = self.max_ratings_per_item
        named = f" from {self.annotators} named raters" if self.annotator_names else ""
        out.append(
            line(
                f"  {self.n_items} items, {self.n_scored_and_labelled} scored and labelled; "
                f"{status_text(self.status, self.unlabelled)}; at most {per_item} "
                f"rating{'s' if per_item != 1 else ''} per item{named}"
                + (" (correlations use their mean)" if per_item > 1 else "")
            )
        )
        if per_item <= 1:
            out.append(
                line(
                    "  human ceiling (α among raters) needs two or more ratings per item; "
                    "these labels have one"
                )
            )
        out += [line(f"  [yellow]{k}:[/] {b.note}") for k, b in kinds.items() if b.note]
        if self.estimators is not None:
            out.append(self.estimators.render(self.criterion))
        if self.groups:
            out.append(self._group_table(list(kinds)))
        for added in (self.ppi, self.escalation, self.intervals):
            out += [] if added is None else added.render(self.criterion)
        return out

    def _group_table(self, kinds: list[str]) -> Table:
        table = Table(title=f"{self.criterion} by group", title_justify="left")
        for column in ("group", "n", "ok"):
            table.add_column(column, justify="left" if column == "group" else "right")
        for kind in kinds:
            table.add_column(f"Spearman ({kind})", justify="right")
        table.add_column("exact (parsed)", justify="right")
        table.add_column("MAE (parsed)", justify="right")
        for name, g in (self.groups or {}).items():
            blocks = [g.parsed if k == "parsed" else g.expected for k in kinds]
            table.add_row(
                name,
                str(g.n_items),
                str(g.status["ok"]),
                *(est(b.spearman if b else None, 2, n=False) for b in blocks),
                est(g.parsed.exact, 2, n=False),
                est(g.parsed.mae, 2, n=False),
            )
        return table


class PairAgreement(Part):
    """Pairwise verdicts against the human preference."""

    _OPTIONAL = frozenset(
        {"accuracy_excluding_ties", "accuracy_ties_half", "kappa", "accuracy_original_order_only"}
        | {"confusion", "label_field", "groups", "note", "escalation"}
    )

    n_items: int
    status: StatusCounts
    unlabelled: int
    verdicts: dict[str, int]
    labels: dict[str, int]
    position_consistency: Figure
    accuracy_excluding_ties: Figure | None = None
    accuracy_ties_half: Figure | None = None
    kappa: Figure | None = None
    accuracy_original_order_only: Figure | None = None
    confusion: Confusion | None = None
    label_field: str | None = None
    groups: dict[str, PairAgreement] | None = None
    note: str | None = None
    escalation: EscalationBlock | None = None

    def render(self, name: str = "") -> list[RenderableType]:
        table = Table(title=f"pairwise vs human {self.label_field!r}", title_justify="left")
        table.add_column("figure (95% CI)")
        table.add_column("value", justify="right")
        table.add_column("excluded", justify="right")
        for label, key in _PAIR_ROWS:
            figure: Figure | None = getattr(self, key)
            if figure is not None:
                table.add_row(label, est(figure), str(figure.n_excluded))
        v, lab = self.verdicts, self.labels
        out: list[RenderableType] = [
            table,
            line(
                f"  {self.n_items} pairs; {status_text(self.status, self.unlabelled)}; "
                f"judge A/B/tie {v['A']}/{v['B']}/{v['tie']}, "
                f"human {lab['A']}/{lab['B']}/{lab['tie']}"
            ),
        ]
        if self.note:
            out.append(line(f"  [yellow]{self.note}[/]"))
        if self.confusion is not None:
            out.append(confusion_table(self.confusion, "human label x judge verdict"))
        if self.groups:
            out.append(self._group_table())
        if self.escalation is not None:
            out += self.escalation.render()
        return out

    def _group_table(self) -> Table:
        table = Table(title="by group", title_justify="left")
        columns = ("group", "n", "ok", "acc. (no tie labels)", "acc. (ties ½)", "κ", "consistency")
        for column in columns:
            table.add_column(column, justify="left" if column == "group" else "right")
        for name, g in (self.groups or {}).items():
            table.add_row(
                name,
                str(g.n_items),
                str(g.status["ok"]),
                *(
                    est(f, 2)
                    for f in (
                        g.accuracy_excluding_ties,
                        g.accuracy_ties_half,
                        g.kappa,
                        g.position_consistency,
                    )
                ),
            )
        return table


def confusion_table(cm: Confusion, title: str) -> Table:
    table = Table(title=f"{title} (n={cm.n}, excluded {cm.n_excluded})", title_justify="left")
    table.add_column("human \\ judge")
    for label in cm.labels:
        table.add_column(label, justify="right")
    for label, row in zip(cm.labels, cm.counts, strict=True):
        table.add_row(label, *(str(c) for c in row))
    return table


class AgreementReport(Report[PairAgreement, CriterionAgreement]):
    """How far the judge is from the human labels: per criterion, for pairs, or for lists."""

    _OPTIONAL = Report._OPTIONAL | {"listwise"}

    listwise: ListwiseAgreement | None = None

    def body(self) -> list[RenderableType]:
        parts = super().body()
        return parts + ([] if self.listwise is None else self.listwise.render())
