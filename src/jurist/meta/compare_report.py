"""The model-comparison report (`jurist compare`): typed, renders itself, exports as JSON."""

from __future__ import annotations

from pydantic import ConfigDict, Field
from rich.console import RenderableType
from rich.table import Table

from jurist.meta.figures import DifferenceFigure, Figure, Part, Report, Section, StatusCounts
from jurist.meta.text import est, line, status_text


class SystemLevel(Section):
    """Judge vs human ranking of the models, one mean per model on each side."""

    spearman: Figure
    kendall: Figure


class ModelComparison(Part):
    """One criterion: mean score per model, and paired differences between models."""

    _OPTIONAL = frozenset(
        {"human_means", "system_level", "note", "multiple_comparisons", "score_note"}
    )

    score: str
    alpha: float
    n_items: int
    status: StatusCounts
    means: dict[str, Figure]
    ranking: list[str]
    human_means: dict[str, Figure] | None = None
    system_level: SystemLevel | None = None
    differences: list[DifferenceFigure]
    note: str | None = None
    multiple_comparisons: str | None = None
    score_note: str | None = None

    def render(self, name: str = "") -> list[RenderableType]:
        table = Table(
            title=f"{name}: mean {self.score} score per model ({1 - self.alpha:.0%} CI, "
            "SE clustered by prompt)",
            title_justify="left",
        )
        for column in ("model", "n", "judge mean", "SE", "human mean"):
            table.add_column(column, justify="left" if column == "model" else "right")
        human = self.human_means or {}
        for model in self.ranking:
            m = self.means[model]
            se = "-" if m.se is None else f"{m.se:.3f}"
            table.add_row(model, str(m.n), est(m, n=False), se, est(human.get(model), n=False))
        out: list[RenderableType] = [table, line(f"  {status_text(self.status)}")]
        if self.score_note:
            out.append(line(f"  [yellow]{self.score_note}[/]"))
        if self.system_level is not None:
            out.append(
                line(
                    f"  judge vs human ranking of models: Spearman "
                    f"{est(self.system_level.spearman)}, Kendall {est(self.system_level.kendall)}"
                )
            )
        if self.note:
            out.append(line(f"  [yellow]{self.note}[/]"))
        for d in self.differences:
            holm = "" if d.p_holm is None else f"; Holm-adjusted p={d.p_holm:.2g}"
            out.append(line(f"  {d.sentence}{holm}"))
        if self.multiple_comparisons:
            out.append(line(f"  {self.multiple_comparisons}"))
        return out


class RatingsFigure(Section):
    """Bradley-Terry ratings on an Elo-like scale, the anchor model fixed at `base`."""

    ratings: dict[str, Figure]
    n_games: int
    n_excluded: int
    anchor: str | None
    base: float
    scale: float


class LengthControlledFigure(Section):
    """Win rate against the baseline, raw and at zero length difference."""

    lc: Figure
    raw: Figure
    length_coef: float | None
    n: int
    n_excluded: int
    sentence: str


class PairComparison(Part):
    """Models compared through pairwise verdicts: ratings, win rates, length control."""

    _OPTIONAL = frozenset({"human_bradley_terry"})
    # "model_fields" is pydantic's own attribute, so the field has another name in Python.
    model_config = ConfigDict(extra="forbid", validate_by_name=True, serialize_by_alias=True)

    fields_naming_models: list[str] = Field(alias="model_fields")
    baseline: str | None
    n_pairs: int
    status: StatusCounts
    bradley_terry: RatingsFigure
    ranking: list[str]
    win_rates: dict[str, Figure]
    pairs_without_model_names: int
    sentences: list[str]
    human_bradley_terry: RatingsFigure | None = None
    length_controlled: dict[str, LengthControlledFigure]

    def render(self, name: str = "") -> list[RenderableType]:
        bt = self.bradley_terry
        table = Table(
            title=f"Bradley-Terry ratings ({self.baseline} fixed at {bt.base:g}), "
            f"{bt.n_games} games",
            title_justify="left",
        )
        for column in ("model", "games", "rating", "win rate", "LC win rate vs baseline", "human"):
            table.add_column(column, justify="left" if column == "model" else "right")
        human = self.human_bradley_terry.ratings if self.human_bradley_terry else {}
        for model in self.ranking:
            rating = bt.ratings[model]
            lc = self.length_controlled.get(model)
            table.add_row(
                model,
                str(rating.n),
                est(rating, 0, n=False),
                est(self.win_rates.get(model), 2, n=False),
                est(lc.lc, 2, n=False) if lc else "-",
                est(human.get(model), 0, n=False),
            )
        out: list[RenderableType] = [table, line(f"  {status_text(self.status)}")]
        out += [line(f"  {sentence}") for sentence in self.sentences]
        out += [line(f"  {lc.sentence}") for lc in self.length_controlled.values()]
        return out


class CompareReport(Report[PairComparison, ModelComparison]):
    """Models compared under the judge, pointwise or pairwise."""

    _OPTIONAL = Report._OPTIONAL | {"prompt_field", "score"}

    alpha: float
    prompt_field: str | None = None
    score: str | None = None
