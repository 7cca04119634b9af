"""The judge-bias report (`jurist audit`): typed, renders itself, exports as JSON."""

from __future__ import annotations

from rich.console import RenderableType
from rich.table import Table

from jurist.meta.figures import (
    DifferenceFigure,
    Figure,
    Part,
    Report,
    Section,
    StatusCounts,
    VerbosityFigure,
)
from jurist.meta.text import est, line, status_text


class PositionFigure(Section):
    """First-slot rate over decisive verdicts (0.5 = no preference) and the flip rate."""

    first_slot_rate: Figure
    flip_rate: Figure
    n: int
    n_excluded: int


class LongerFigure(Section):
    """How often the longer response wins, for the judge and for people."""

    judge: Figure
    human: Figure | None = None


class PairVerbosity(Section):
    preference: str
    preference_vs_length_difference: VerbosityFigure
    longer_preferred: LongerFigure


class PairSelfPreference(Section):
    """How often the judge picks its own family in mixed pairs, next to how often people do."""

    _OPTIONAL = frozenset({"human_self_rate", "judge_minus_human"})

    judge_family: str
    mixed_pairs: int
    judge_self_rate: Figure
    human_self_rate: Figure | None = None
    judge_minus_human: DifferenceFigure | None = None


class PairAudit(Part):
    """Position, verbosity and tie figures for pairwise verdicts."""

    _OPTIONAL = frozenset({"accuracy_excluding_ties", "groups", "self_preference"})

    n_items: int
    status: StatusCounts
    position: PositionFigure
    verbosity: PairVerbosity
    verdicts: dict[str, int]
    tie_rate: float | None
    accuracy_excluding_ties: Figure | None = None
    groups: dict[str, PairAudit] | None = None
    self_preference: PairSelfPreference | None = None

    def render(self, name: str = "") -> list[RenderableType]:
        table = Table(title="pairwise judge biases (95% CI)", title_justify="left")
        table.add_column("figure")
        table.add_column("value", justify="right")
        table.add_column("null", justify="right")
        pos = self.position
        table.add_row("first-slot rate (decisive verdicts)", est(pos.first_slot_rate), "0.5")
        table.add_row("flip rate when swapped", est(pos.flip_rate), "0")
        verb = self.verbosity
        corr = verb.preference_vs_length_difference
        table.add_row(
            f"Spearman(judge {verb.preference} for A, len A − len B)", est(corr.spearman), "0"
        )
        if corr.partial is not None:
            table.add_row("  same, human label held fixed", est(corr.partial), "0")
        longer = verb.longer_preferred
        table.add_row("judge picks the longer response", est(longer.judge), "human rate")
        if longer.human is not None:
            table.add_row("humans pick the longer response", est(longer.human), "")
        if self.accuracy_excluding_ties is not None:
            table.add_row("accuracy, tie labels left out", est(self.accuracy_excluding_ties), "")
        v, tie = self.verdicts, self.tie_rate
        table.add_row(
            "verdicts A / B / tie",
            f"{v['A']} / {v['B']} / {v['tie']} (tie rate {tie:.3f})" if tie is not None else "-",
            "",
        )
        out: list[RenderableType] = [
            table,
            line(f"  {self.n_items} pairs; {status_text(self.status)}"),
        ]
        own = self.self_preference
        if own is not None:
            out.append(
                line(
                    f"  self-preference ({own.judge_family}, {own.mixed_pairs} mixed pairs): "
                    f"judge picks its own family {est(own.judge_self_rate)}"
                )
            )
            if own.judge_minus_human is not None:
                out.append(line(f"  {own.judge_minus_human.sentence}"))
        if self.groups:
            out.append(self._group_table())
        return out

    def _group_table(self) -> Table:
        table = Table(title="by group", title_justify="left")
        columns = ("group", "n", "ok", "accuracy", "first-slot", "flip", "longer: judge", "human")
        for column in columns:
            table.add_column(column, justify="left" if column == "group" else "right")
        for name, g in (self.groups or {}).items():
            longer = g.verbosity.longer_preferred
            table.add_row(
                name,
                str(g.n_items),
                str(g.status["ok"]),
                est(g.accuracy_excluding_ties, 2),
                est(g.position.first_slot_rate, 2),
                est(g.position.flip_rate, 2),
                est(longer.judge, 2),
                est(longer.human, 2),
            )
        return table


class ScaleUseFigure(Section):
    """Histogram over the scale points, share of points used, and the tie rate."""

    _OPTIONAL = frozenset({"tie_rate_between"})

    points: list[float]
    counts: list[int]
    share_used: float | None
    tie_rate: float | None
    n: int
    n_excluded: int
    tie_rate_between: str | None = None


class SelfPreferenceFigure(Section):
    """Own-family responses minus the rest (in judge - human when people scored them)."""

    gap: Figure
    se: float | None
    t: float | None
    df: float | None
    p_value: float | None
    n_self: int
    n_other: int
    judge_family: str
    relative_to_human: bool
    alpha: float
    sentence: str


class CriterionAuditGroup(Section):
    n_items: int
    status: StatusCounts
    scale_use: ScaleUseFigure | None
    verbosity: VerbosityFigure


class CriterionAudit(Part):
    """Scale use, verbosity and self-preference of one criterion's scores."""

    _OPTIONAL = frozenset({"scale_use", "self_preference", "groups"})

    label_field: str | None
    status: StatusCounts
    scale: list[float] | None
    scale_use: ScaleUseFigure | None = None
    verbosity: dict[str, VerbosityFigure]
    self_preference: SelfPreferenceFigure | None = None
    groups: dict[str, CriterionAuditGroup] | None = None

    def render(self, name: str = "") -> list[RenderableType]:
        criterion = name
        out: list[RenderableType] = [line(f"[bold]{criterion}[/] ({status_text(self.status)})")]
        use = self.scale_use
        if use is not None:
            hist = ", ".join(f"{p:g}: {c}" for p, c in zip(use.points, use.counts, strict=True))
            tie = "-" if use.tie_rate is None else f"{use.tie_rate:.3f}"
            share = "-" if use.share_used is None else f"{use.share_used:.2f}"
            out.append(
                line(
                    f"  scale use (n={use.n}): {hist}; share of points used {share}; "
                    f"tie rate {tie} (between {use.tie_rate_between})"
                )
            )
        for kind, verb in self.verbosity.items():
            text = f"  verbosity ({kind}): Spearman(score, length) {est(verb.spearman)}"
            if verb.partial is not None:
                text += f"; human label held fixed {est(verb.partial)}"
            out.append(line(text))
        if self.self_preference is not None:
            out.append(line(f"  self-preference: {self.self_preference.sentence}"))
        if self.groups:
            table = Table(title=f"{criterion} by group", title_justify="left")
            for column in ("group", "n", "ok", "share used", "Spearman(score, length)"):
                table.add_column(column, justify="left" if column == "group" else "right")
            for name, g in self.groups.items():
                share = g.scale_use.share_used if g.scale_use else None
                table.add_row(
                    name,
                    str(g.n_items),
                    str(g.status["ok"]),
                    "-" if share is None else f"{share:.2f}",
                    est(g.verbosity.spearman, 2),
                )
            out.append(table)
        return out


class AuditReport(Report[PairAudit, CriterionAudit]):
    """Position, verbosity and self-preference biases and how the scale is used."""
