"""`jurist meta`, `jurist audit` and `jurist compare`: judge-vs-human agreement, judge
biases, and model comparison on a results.jsonl. Thin: flags in, library report out."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from jurist.cli.output import console, errors
from jurist.meta import (
    Labels,
    MetaInputError,
    Results,
    Settings,
    audit_plots,
    audit_report,
    compare_plots,
    compare_report,
    meta_plots,
    meta_report,
    read_labels,
    rubric_scales,
)

# ---------------------------------------------------------------- shared options

ResultsArg = Annotated[Path, typer.Argument(help="results.jsonl written by `jurist grade`.")]
LabelsOpt = Annotated[
    Path | None,
    typer.Option(
        "--labels",
        help="JSONL / JSON / CSV / TSV of human labels joined by id "
        "(default: the labels carried in the results).",
    ),
]
LabelIdOpt = Annotated[str, typer.Option(help="Id column of the labels file.")]
LabelFieldOpt = Annotated[
    list[str] | None,
    typer.Option(help="Label field(s) to use; for pairs, the preference field (A / B / tie)."),
]
AnnotatorOpt = Annotated[
    str | None, typer.Option(help="Labels-file column naming the annotator of each row.")
]
MapOpt = Annotated[
    list[str] | None,
    typer.Option("--map", help="criterion=labelfield, when the names differ (repeatable)."),
]
ScaleOpt = Annotated[
    str | None, typer.Option(help="Scale points for every criterion: '1-5' or '0,1,2,3'.")
]
RubricOpt = Annotated[
    Path | None, typer.Option(help="Rubric YAML to take each criterion's scale from.")
]
SeedOpt = Annotated[int, typer.Option(help="Bootstrap seed.")]
ResamplesOpt = Annotated[int, typer.Option(min=100, help="Bootstrap resamples.")]
FormatOpt = Annotated[str, typer.Option("--format", help="table | json")]
PlotsOpt = Annotated[Path | None, typer.Option(help="Write figures to this folder.")]
PlotFormatOpt = Annotated[str, typer.Option(help="png | svg")]
AlphaOpt = Annotated[float, typer.Option(min=0.0001, max=0.5, help="Significance level.")]


def _parse_scale(text: str | None) -> list[float] | None:
    if text is None:
        return None
    try:
        if "-" in text.strip()[1:] and "," not in text:
            low, high = (float(p) for p in text.split("-", 1))
            if not (low.is_integer() and high.is_integer()) or high <= low:
                raise ValueError
            return [float(p) for p in range(int(low), int(high) + 1)]
        points = [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise typer.BadParameter(f"--scale {text!r}: use LOW-HIGH or a comma list") from None
    if len(points) < 2:
        raise typer.BadParameter(f"--scale {text!r} needs at least two points")
    return points


def _parse_map(pairs: Iterable[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or ():
        criterion, sep, name = pair.partition("=")
        if not sep or not criterion.strip() or not name.strip():
            raise typer.BadParameter(f"--map {pair!r}: expected criterion=labelfield")
        out[criterion.strip()] = name.strip()
    return out


def _check_choice(value: str, choices: tuple[str, ...], flag: str) -> None:
    if value not in choices:
        raise typer.BadParameter(f"{flag} must be one of {', '.join(choices)}, not {value!r}")


def _load(
    results: Path,
    labels: Path | None,
    label_id_field: str,
    label_field: list[str] | None,
    annotator_field: str | None,
) -> Results:
    table: Labels | None = None
    if labels is not None:
        table = read_labels(
            labels, id_field=label_id_field, fields=label_field, annotator_field=annotator_field
        )
    return Results.load(results, table)


def _mapping(
    data: Results, explicit: dict[str, str], label_field: list[str] | None
) -> dict[str, str]:
    """A single criterion takes the single --label-field given, without needing --map."""
    criteria = data.criteria()
    if data.mode != "pairwise" and not explicit and label_field and len(criteria) == 1:
        return {criteria[0]: label_field[0]}
    return explicit


def _run(work: Callable[[], None]) -> None:
    """Turn input problems into one red line and exit code 2, never a traceback."""
    try:
        work()
    except (MetaInputError, ValueError) as error:
        errors.print(f"[red]error:[/] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def _emit_json(report: Mapping[str, Any]) -> None:
    typer.echo(json.dumps(report, indent=2, allow_nan=False))


# ---------------------------------------------------------------- formatting


def _est(d: Mapping[str, Any] | None, digits: int = 3, n: bool = True) -> str:
    if not d or d.get("value") is None:
        return "-" if not d else f"- (n={d.get('n', 0)})"
    text = f"{d['value']:.{digits}f}"
    if d.get("low") is not None and d.get("high") is not None:
        text += f" [{d['low']:.{digits}f}, {d['high']:.{digits}f}]"
    if n:
        text += f" n={d['n']}"
    return text


def _scale_text(points: list[float] | None) -> str:
    if not points:
        return "no scale"
    return (
        f"{points[0]:g}-{points[-1]:g}" if len(points) > 2 else ", ".join(f"{p:g}" for p in points)
    )


def _status_text(status: Mapping[str, int], unlabelled: int | None = None) -> str:
    parts = [f"{k} {v}" for k, v in status.items() if k != "ok" and v]
    if unlabelled:
        parts.append(f"unlabelled {unlabelled}")
    return "excluded: " + (", ".join(parts) if parts else "none")


def _header(report: Mapping[str, Any]) -> None:
    status = report["status"]
    labels = report["labels"]
    line = (
        f"[bold]{report['results']}[/]: {report['n_items']} {report['mode']} items "
        f"(ok {status['ok']}, parse_error {status['parse_error']}, failed {status['failed']}); "
        f"judge {', '.join(report['judges'])}"
    )
    console.print(line, highlight=False)
    source = labels["source"]
    text = (
        f"labels from {source}: {labels['matched']} items matched, {labels['unlabelled']} without"
    )
    if labels.get("label_ids_not_in_results"):
        text += f", {labels['label_ids_not_in_results']} label ids not in the results"
    settings = report["settings"]
    console.print(
        f"{text}; bootstrap {settings['resamples']} resamples, seed {settings['seed']}",
        highlight=False,
    )


def _alpha_rows(block: Mapping[str, Any], level: str) -> list[tuple[str, Mapping[str, Any] | None]]:
    alpha = block.get(f"alpha_{level}")
    if not alpha:
        return []
    per = alpha["judge_vs_annotator"]
    rows: list[tuple[str, Mapping[str, Any] | None]] = []
    if len(per) == 1:
        rows.append((f"Krippendorff α {level}, judge vs human", per[0]))
    else:
        values = sorted(e["value"] for e in per if e["value"] is not None)
        summary = (
            {"value": values[len(values) // 2], "n": len(values)} if values else {"n": len(per)}
        )
        rows.append((f"α {level}, judge vs each rater (median of {len(per)})", summary))
        rows.append((f"α {level}, judge as one more rater", alpha["judge_with_annotators"]))
    if alpha["among_annotators"]["n"]:
        rows.append((f"α {level}, among raters (human ceiling)", alpha["among_annotators"]))
    return rows


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


def _print_criterion(cid: str, entry: Mapping[str, Any]) -> None:
    title = (
        f"{cid} vs human {entry['label_field']!r} (scale {_scale_text(entry['scale'])}, "
        f"{entry['scale_source']})"
    )
    if "parsed" not in entry:
        console.print(f"[bold]{cid}[/]: {entry.get('note', 'no labels')}", highlight=False)
        return
    kinds = [k for k in ("parsed", "expected") if k in entry]
    table = Table(title=title, title_justify="left")
    table.add_column("figure (95% CI)")
    for kind in kinds:
        table.add_column(f"{kind} score", justify="right")
    for label, key in _SCORE_ROWS:
        if key in entry["parsed"]:
            table.add_row(label, *(_est(entry[k].get(key)) for k in kinds))
    for level in ("ordinal", "interval"):
        rows = [dict(_alpha_rows(entry[k], level)) for k in kinds]
        labels = list(dict.fromkeys(label for r in rows for label in r))
        for label in labels:
            table.add_row(label, *(_est(r.get(label)) for r in rows))
    console.print(table)
    per_item = entry["max_ratings_per_item"]
    named = f" from {entry['annotators']} named raters" if entry.get("annotator_names") else ""
    console.print(
        f"  {entry['n_items']} items, {entry['n_scored_and_labelled']} scored and labelled; "
        f"{_status_text(entry['status'], entry['unlabelled'])}; at most {per_item} "
        f"rating{'s' if per_item != 1 else ''} per item{named}"
        + (" (correlations use their mean)" if per_item > 1 else ""),
        highlight=False,
    )
    if per_item <= 1:
        console.print(
            "  human ceiling (α among raters) needs two or more ratings per item; "
            "these labels have one",
            highlight=False,
        )
    for kind in kinds:
        if entry[kind].get("note"):
            console.print(f"  [yellow]{kind}:[/] {entry[kind]['note']}", highlight=False)
    if "groups" in entry:
        group_table = Table(title=f"{cid} by group", title_justify="left")
        for column in ("group", "n", "ok"):
            group_table.add_column(column, justify="left" if column == "group" else "right")
        for kind in kinds:
            group_table.add_column(f"Spearman ({kind})", justify="right")
        group_table.add_column("exact (parsed)", justify="right")
        group_table.add_column("MAE (parsed)", justify="right")
        for name, g in entry["groups"].items():
            group_table.add_row(
                name,
                str(g["n_items"]),
                str(g["status"]["ok"]),
                *(_est(g[k]["spearman"], 2, n=False) for k in kinds),
                _est(g["parsed"].get("exact"), 2, n=False),
                _est(g["parsed"]["mae"], 2, n=False),
            )
        console.print(group_table)


def _print_confusion(cm: Mapping[str, Any], title: str) -> None:
    table = Table(title=f"{title} (n={cm['n']}, excluded {cm['n_excluded']})", title_justify="left")
    table.add_column("human \\ judge")
    for label in cm["labels"]:
        table.add_column(label, justify="right")
    for label, row in zip(cm["labels"], cm["counts"], strict=True):
        table.add_row(label, *(str(c) for c in row))
    console.print(table)


_PAIR_ROWS = (
    ("accuracy, tie labels left out (judge tie = miss)", "accuracy_excluding_ties"),
    ("accuracy, any tie against a decision = ½", "accuracy_ties_half"),
    ("accuracy of the original order alone", "accuracy_original_order_only"),
    ("Cohen κ on A / B / tie", "kappa"),
    ("position consistency", "position_consistency"),
)


def _print_pairs(pair: Mapping[str, Any]) -> None:
    table = Table(title=f"pairwise vs human {pair['label_field']!r}", title_justify="left")
    table.add_column("figure (95% CI)")
    table.add_column("value", justify="right")
    table.add_column("excluded", justify="right")
    for label, key in _PAIR_ROWS:
        if key in pair:
            table.add_row(label, _est(pair[key]), str(pair[key]["n_excluded"]))
    console.print(table)
    v, lab = pair["verdicts"], pair["labels"]
    console.print(
        f"  {pair['n_items']} pairs; {_status_text(pair['status'], pair['unlabelled'])}; "
        f"judge A/B/tie {v['A']}/{v['B']}/{v['tie']}, human {lab['A']}/{lab['B']}/{lab['tie']}",
        highlight=False,
    )
    if pair.get("note"):
        console.print(f"  [yellow]{pair['note']}[/]", highlight=False)
    if "confusion" in pair:
        _print_confusion(pair["confusion"], "human label x judge verdict")
    if "groups" in pair:
        table = Table(title="by group", title_justify="left")
        for column in (
            "group",
            "n",
            "ok",
            "acc. (no tie labels)",
            "acc. (ties ½)",
            "κ",
            "consistency",
        ):
            table.add_column(column, justify="left" if column == "group" else "right")
        for name, g in pair["groups"].items():
            table.add_row(
                name,
                str(g["n_items"]),
                str(g["status"]["ok"]),
                *(
                    _est(g.get(k), 2)
                    for k in (
                        "accuracy_excluding_ties",
                        "accuracy_ties_half",
                        "kappa",
                        "position_consistency",
                    )
                ),
            )
        console.print(table)


def _print_plots(paths: list[Path]) -> None:
    for path in paths:
        console.print(f"plot: {path}", highlight=False)


# ---------------------------------------------------------------- meta


def meta(
    results: ResultsArg,
    labels: LabelsOpt = None,
    label_id_field: LabelIdOpt = "id",
    label_field: LabelFieldOpt = None,
    annotator_field: AnnotatorOpt = None,
    mapping: MapOpt = None,
    by: Annotated[
        str | None, typer.Option(help="Break down by a metadata field (scenario, bias, ...).")
    ] = None,
    scale: ScaleOpt = None,
    rubric: RubricOpt = None,
    seed: SeedOpt = 0,
    resamples: ResamplesOpt = 1000,
    output_format: FormatOpt = "table",
    plots: PlotsOpt = None,
    plot_format: PlotFormatOpt = "png",
) -> None:
    """How far the judge is from human labels: correlations, agreement, kappa and alpha
    for scores (parsed and expected side by side), accuracy and consistency for pairs.

    Every figure states its n; failed and unparseable items are counted and left out.
    """
    _check_choice(output_format, ("table", "json"), "--format")
    _check_choice(plot_format, ("png", "svg"), "--plot-format")
    points = _parse_scale(scale)
    explicit = _parse_map(mapping)

    def work() -> None:
        data = _load(results, labels, label_id_field, label_field, annotator_field)
        mapped = _mapping(data, explicit, label_field)
        scales = rubric_scales(rubric) if rubric else None
        preference = label_field[0] if label_field and data.mode == "pairwise" else None
        report = meta_report(
            data,
            mapping=mapped,
            label_field=preference,
            by=by,
            scale=points,
            scales=scales,
            settings=Settings(n_resamples=resamples, seed=seed),
        )
        paths: list[Path] = []
        if plots is not None:
            paths = meta_plots(
                data,
                report,
                plots,
                mapping=mapped,
                scale=points,
                scales=scales,
                suffix=plot_format,
            )
            report["plots"] = [str(p) for p in paths]
        if output_format == "json":
            _emit_json(report)
            return
        _header(report)
        if "pairwise" in report:
            _print_pairs(report["pairwise"])
        for cid, entry in report.get("criteria", {}).items():
            _print_criterion(cid, entry)
        _print_plots(paths)

    _run(work)


# ---------------------------------------------------------------- audit


def _print_pair_audit(pair: Mapping[str, Any]) -> None:
    table = Table(title="pairwise judge biases (95% CI)", title_justify="left")
    table.add_column("figure")
    table.add_column("value", justify="right")
    table.add_column("null", justify="right")
    pos = pair["position"]
    table.add_row("first-slot rate (decisive verdicts)", _est(pos["first_slot_rate"]), "0.5")
    table.add_row("flip rate when swapped", _est(pos["flip_rate"]), "0")
    verb = pair["verbosity"]
    corr = verb["preference_vs_length_difference"]
    table.add_row(
        f"Spearman(judge {verb['preference']} for A, len A − len B)", _est(corr["spearman"]), "0"
    )
    if corr.get("partial"):
        table.add_row("  same, human label held fixed", _est(corr["partial"]), "0")
    longer = verb["longer_preferred"]
    table.add_row("judge picks the longer response", _est(longer["judge"]), "human rate")
    if longer.get("human"):
        table.add_row("humans pick the longer response", _est(longer["human"]), "")
    if pair.get("accuracy_excluding_ties"):
        table.add_row("accuracy, tie labels left out", _est(pair["accuracy_excluding_ties"]), "")
    v = pair["verdicts"]
    tie = pair["tie_rate"]
    table.add_row(
        "verdicts A / B / tie",
        f"{v['A']} / {v['B']} / {v['tie']} (tie rate {tie:.3f})" if tie is not None else "-",
        "",
    )
    console.print(table)
    console.print(f"  {pair['n_items']} pairs; {_status_text(pair['status'])}", highlight=False)
    self_pref = pair.get("self_preference")
    if self_pref:
        console.print(
            f"  self-preference ({self_pref['judge_family']}, {self_pref['mixed_pairs']} mixed "
            f"pairs): judge picks its own family {_est(self_pref['judge_self_rate'])}",
            highlight=False,
        )
        if "judge_minus_human" in self_pref:
            console.print(f"  {self_pref['judge_minus_human']['sentence']}", highlight=False)
    if "groups" in pair:
        table = Table(title="by group", title_justify="left")
        columns = ("group", "n", "ok", "accuracy", "first-slot", "flip", "longer: judge", "human")
        for column in columns:
            table.add_column(column, justify="left" if column == "group" else "right")
        for name, g in pair["groups"].items():
            longer = g["verbosity"]["longer_preferred"]
            table.add_row(
                name,
                str(g["n_items"]),
                str(g["status"]["ok"]),
                _est(g.get("accuracy_excluding_ties"), 2),
                _est(g["position"]["first_slot_rate"], 2),
                _est(g["position"]["flip_rate"], 2),
                _est(longer["judge"], 2),
                _est(longer.get("human"), 2),
            )
        console.print(table)


def _print_point_audit(cid: str, entry: Mapping[str, Any]) -> None:
    console.print(
        f"[bold]{cid}[/] ({_status_text(entry['status'])})",
        highlight=False,
    )
    use = entry.get("scale_use")
    if use:
        hist = ", ".join(f"{p:g}: {c}" for p, c in zip(use["points"], use["counts"], strict=True))
        tie = "-" if use["tie_rate"] is None else f"{use['tie_rate']:.3f}"
        console.print(
            f"  scale use (n={use['n']}): {hist}; share of points used {use['share_used']:.2f}; "
            f"tie rate {tie} (between {use['tie_rate_between']})",
            highlight=False,
        )
    for kind, verb in entry["verbosity"].items():
        line = f"  verbosity ({kind}): Spearman(score, length) {_est(verb['spearman'])}"
        if verb.get("partial"):
            line += f"; human label held fixed {_est(verb['partial'])}"
        console.print(line, highlight=False)
    if entry.get("self_preference"):
        console.print(f"  self-preference: {entry['self_preference']['sentence']}", highlight=False)
    if "groups" in entry:
        table = Table(title=f"{cid} by group", title_justify="left")
        for column in ("group", "n", "ok", "share used", "Spearman(score, length)"):
            table.add_column(column, justify="left" if column == "group" else "right")
        for name, g in entry["groups"].items():
            share = g["scale_use"]["share_used"] if g.get("scale_use") else None
            table.add_row(
                name,
                str(g["n_items"]),
                str(g["status"]["ok"]),
                "-" if share is None else f"{share:.2f}",
                _est(g["verbosity"]["spearman"], 2),
            )
        console.print(table)


def audit(
    results: ResultsArg,
    labels: LabelsOpt = None,
    label_id_field: LabelIdOpt = "id",
    label_field: LabelFieldOpt = None,
    annotator_field: AnnotatorOpt = None,
    mapping: MapOpt = None,
    by: Annotated[
        str | None, typer.Option(help="Break down by a metadata field, e.g. bias.")
    ] = None,
    judge_family: Annotated[
        str | None, typer.Option(help="The judge's model family, matched inside model names.")
    ] = None,
    model_field: Annotated[
        str | None,
        typer.Option(help="Metadata field naming the response's model (pairs: FIELD_a/_b)."),
    ] = None,
    prompt_field: Annotated[
        str | None, typer.Option(help="Metadata field of the prompt, for the per-prompt tie rate.")
    ] = None,
    scale: ScaleOpt = None,
    rubric: RubricOpt = None,
    alpha: AlphaOpt = 0.05,
    seed: SeedOpt = 0,
    resamples: ResamplesOpt = 1000,
    output_format: FormatOpt = "table",
    plots: PlotsOpt = None,
    plot_format: PlotFormatOpt = "png",
) -> None:
    """Judge biases: position (first-slot and flip rates), verbosity (raw and with the
    human label held fixed), self-preference, and how the scale is used."""
    _check_choice(output_format, ("table", "json"), "--format")
    _check_choice(plot_format, ("png", "svg"), "--plot-format")
    points = _parse_scale(scale)
    explicit = _parse_map(mapping)

    def work() -> None:
        data = _load(results, labels, label_id_field, label_field, annotator_field)
        mapped = _mapping(data, explicit, label_field)
        scales = rubric_scales(rubric) if rubric else None
        preference = label_field[0] if label_field and data.mode == "pairwise" else None
        report = audit_report(
            data,
            by=by,
            judge_family=judge_family,
            model_field=model_field,
            prompt_field=prompt_field,
            mapping=mapped,
            label_field=preference,
            scale=points,
            scales=scales,
            alpha=alpha,
            settings=Settings(n_resamples=resamples, seed=seed),
        )
        paths: list[Path] = []
        if plots is not None:
            paths = audit_plots(
                data,
                report,
                plots,
                mapping=mapped,
                scale=points,
                scales=scales,
                suffix=plot_format,
            )
            report["plots"] = [str(p) for p in paths]
        if output_format == "json":
            _emit_json(report)
            return
        _header(report)
        if "pairwise" in report:
            _print_pair_audit(report["pairwise"])
        for cid, entry in report.get("criteria", {}).items():
            _print_point_audit(cid, entry)
        _print_plots(paths)

    _run(work)


# ---------------------------------------------------------------- compare


def _print_point_compare(cid: str, entry: Mapping[str, Any], score: str, alpha: float) -> None:
    table = Table(
        title=f"{cid}: mean {score} score per model ({1 - alpha:.0%} CI, SE clustered by prompt)",
        title_justify="left",
    )
    for column in ("model", "n", "judge mean", "SE", "human mean"):
        table.add_column(column, justify="left" if column == "model" else "right")
    human = entry.get("human_means", {})
    for model in entry["ranking"]:
        m = entry["means"][model]
        se = "-" if m["se"] is None else f"{m['se']:.3f}"
        table.add_row(model, str(m["n"]), _est(m, n=False), se, _est(human.get(model), n=False))
    console.print(table)
    console.print(f"  {_status_text(entry['status'])}", highlight=False)
    if entry.get("score_note"):
        console.print(f"  [yellow]{entry['score_note']}[/]", highlight=False)
    if "system_level" in entry:
        sl = entry["system_level"]
        console.print(
            f"  judge vs human ranking of models: Spearman {_est(sl['spearman'])}, "
            f"Kendall {_est(sl['kendall'])}",
            highlight=False,
        )
    if entry.get("note"):
        console.print(f"  [yellow]{entry['note']}[/]", highlight=False)
    for d in entry["differences"]:
        holm = "" if d.get("p_holm") is None else f"; Holm-adjusted p={d['p_holm']:.2g}"
        console.print(f"  {d['sentence']}{holm}", highlight=False)
    if entry.get("multiple_comparisons"):
        console.print(f"  {entry['multiple_comparisons']}", highlight=False)


def _print_pair_compare(pair: Mapping[str, Any]) -> None:
    bt = pair["bradley_terry"]
    table = Table(
        title=f"Bradley-Terry ratings ({pair['baseline']} fixed at {bt['base']:g}), "
        f"{bt['n_games']} games",
        title_justify="left",
    )
    for column in ("model", "games", "rating", "win rate", "LC win rate vs baseline", "human"):
        table.add_column(column, justify="left" if column == "model" else "right")
    human = (pair.get("human_bradley_terry") or {}).get("ratings", {})
    for model in pair["ranking"]:
        r = bt["ratings"][model]
        lc = pair["length_controlled"].get(model)
        table.add_row(
            model,
            str(r["n"]),
            _est(r, 0, n=False),
            _est(pair["win_rates"].get(model), 2, n=False),
            _est(lc["lc"], 2, n=False) if lc else "-",
            _est(human.get(model), 0, n=False),
        )
    console.print(table)
    console.print(f"  {_status_text(pair['status'])}", highlight=False)
    for sentence in pair["sentences"]:
        console.print(f"  {sentence}", highlight=False)
    for lc in pair["length_controlled"].values():
        console.print(f"  {lc['sentence']}", highlight=False)


def compare(
    results: ResultsArg,
    by: Annotated[
        str, typer.Option(help="Metadata field naming the model (pairs: FIELD_a / FIELD_b).")
    ] = "model",
    prompt_field: Annotated[
        str | None,
        typer.Option(help="Metadata field of the prompt: pairs responses, clusters SEs."),
    ] = None,
    baseline: Annotated[str | None, typer.Option(help="Compare every model with this one.")] = None,
    all_pairs: Annotated[
        bool, typer.Option(help="Compare every pair of models (default: ranking neighbours).")
    ] = False,
    score: Annotated[str, typer.Option(help="parsed | expected")] = "parsed",
    model_a_field: Annotated[
        str | None, typer.Option(help="Pairs: metadata field of model A.")
    ] = None,
    model_b_field: Annotated[
        str | None, typer.Option(help="Pairs: metadata field of model B.")
    ] = None,
    labels: LabelsOpt = None,
    label_id_field: LabelIdOpt = "id",
    label_field: LabelFieldOpt = None,
    annotator_field: AnnotatorOpt = None,
    mapping: MapOpt = None,
    scale: ScaleOpt = None,
    rubric: RubricOpt = None,
    alpha: AlphaOpt = 0.05,
    seed: SeedOpt = 0,
    resamples: ResamplesOpt = 1000,
    output_format: FormatOpt = "table",
    plots: PlotsOpt = None,
    plot_format: PlotFormatOpt = "png",
) -> None:
    """Compare models under the judge: per-model means with prompt-clustered SEs and
    paired differences, or Bradley-Terry ratings, win rates and length-controlled win
    rates for pairs; says in words when a difference is not significant."""
    _check_choice(output_format, ("table", "json"), "--format")
    _check_choice(plot_format, ("png", "svg"), "--plot-format")
    _check_choice(score, ("parsed", "expected"), "--score")
    points = _parse_scale(scale)
    explicit = _parse_map(mapping)

    def work() -> None:
        data = _load(results, labels, label_id_field, label_field, annotator_field)
        mapped = _mapping(data, explicit, label_field)
        report = compare_report(
            data,
            by=by,
            prompt_field=prompt_field,
            baseline=baseline,
            all_pairs=all_pairs,
            score=score,  # type: ignore[arg-type]
            mapping=mapped,
            scale=points,
            scales=rubric_scales(rubric) if rubric else None,
            model_a_field=model_a_field,
            model_b_field=model_b_field,
            alpha=alpha,
            settings=Settings(n_resamples=resamples, seed=seed, confidence=1 - alpha),
        )
        paths: list[Path] = []
        if plots is not None:
            paths = compare_plots(report, plots, suffix=plot_format)
            report["plots"] = [str(p) for p in paths]
        if output_format == "json":
            _emit_json(report)
            return
        _header(report)
        if "pairwise" in report:
            _print_pair_compare(report["pairwise"])
        for cid, entry in report.get("criteria", {}).items():
            _print_point_compare(cid, entry, score, alpha)
        _print_plots(paths)

    _run(work)


# ---------------------------------------------------------------- registration


def register(app: typer.Typer) -> None:
    """Add meta, audit and compare to the `jurist` app (once)."""
    names = {
        c.name or (c.callback.__name__ if c.callback else None) for c in app.registered_commands
    }
    if "meta" in names:
        return
    app.command(epilog="Example: jurist meta out/results.jsonl --by scenario --plots out/plots")(
        meta
    )
    app.command(epilog="Example: jurist audit out/results.jsonl --by bias")(audit)
    app.command(
        epilog="Example: jurist compare out/results.jsonl --by system_id --prompt-field doc_id"
    )(compare)
