"""`jurist train pairs|dpo|sft|loop|export-gguf`: parse options, call `jurist.train`, print."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path
from typing import Annotated, Literal

import typer

from jurist.cli.options import (
    DataArg,
    LimitOpt,
    PresetOpt,
    RubricArg,
    StoreOpt,
    dataclass_options,
    field_option,
    option_groups,
    settings_options,
)
from jurist.cli.output import console, exit_on_error
from jurist.core.rubric import load_rubric
from jurist.datasets import ItemSource
from jurist.train import (
    BASELINES,
    DPOSettings,
    GgufSettings,
    LoopSettings,
    LoraSettings,
    PairsSettings,
    SamplingSettings,
    TrainSettings,
    make_pairs,
    parse_label_fields,
    run_loop,
    train_dpo,
    train_sft,
    training_items,
)
from jurist.train import export_gguf as export
from jurist.train.lora import model_target

train_app = typer.Typer(
    help="Make a judge agree with your people: preference pairs from its own rationales, "
    "DPO or SFT with LoRA, and the judge -> pairs -> DPO -> evaluate loop.",
    no_args_is_help=True,
)

_SAMPLING = SamplingSettings()
_DPO = DPOSettings()

LabelField = Annotated[
    list[str] | None,
    typer.Option(
        help="Label column: NAME, or CRITERION=NAME (repeatable; default: the "
        "criterion's id, or 'preference' for pairwise)."
    ),
]
Mode = Annotated[Literal["pointwise", "pairwise"], typer.Option(help="pointwise | pairwise")]
Model = Annotated[str, typer.Option(help="Model to train: hf:embedded or hf:FOLDER.")]
Out = Annotated[Path, typer.Option("--out", "-o", help="Where to write the result.")]
PairsArg = Annotated[Path, typer.Argument(metavar="PAIRS", help="Pairs file (JSONL/Parquet).")]
Beta = Annotated[float, typer.Option(help="DPO beta: how far the judge may move.")]


def items(
    data: DataArg = None,
    preset: PresetOpt = None,
    limit: LimitOpt = None,
    label_field: LabelField = None,
    keep: Annotated[list[str] | None, typer.Option(help="Column(s) kept as metadata.")] = None,
    mode: Mode = "pointwise",
) -> ItemSource:
    return training_items(data, preset, limit, label_field or (), keep or (), mode)


sampling = settings_options(
    SamplingSettings,
    "samples",
    options={
        "temperature": typer.Option(min=0.01, help="Sampling temperature."),
        "seed": "First sampling seed.",
        "max_tokens": typer.Option(min=16, help="Token budget per judgment."),
    },
)
training = settings_options(
    TrainSettings,
    *("learning_rate", "epochs", "max_steps", "batch_size", "max_length", "device", "seed"),
    device=Annotated[Literal["auto", "cpu", "cuda"], field_option(TrainSettings, "device")],
)
looping = settings_options(LoopSettings, "iterations", "split_by", "holdout")


lora = settings_options(LoraSettings, "rank")  # alpha: twice the rank


@train_app.command(
    epilog="Example: jurist train pairs src/jurist/presets/summeval.yaml "
    "--preset summeval --limit 16 --samples 4 -o pairs.jsonl"
)
@exit_on_error()
@option_groups(source=items, settings=sampling, choices=dataclass_options(PairsSettings))
def pairs(
    rubric: RubricArg,
    label_field: LabelField = None,
    mode: Mode = "pointwise",
    store: StoreOpt = None,
    out: Out = Path("pairs.jsonl"),
    *,
    source: ItemSource,
    settings: SamplingSettings,
    choices: PairsSettings,
) -> None:
    """Sample judgments with rationales and curate DPO preference pairs (JSONL or Parquet)."""
    result = make_pairs(
        rubric,
        source,
        out,
        mode=mode,
        settings=settings,
        store=store,
        label_fields=parse_label_fields(label_field or []),
        **asdict(choices),
    )
    console.print(result.render(), highlight=False)


@train_app.command(epilog="Example: jurist train dpo pairs.jsonl --model hf:embedded -o judge-dpo/")
@exit_on_error()
@option_groups(train=training, lora=lora)
def dpo(
    pairs_file: PairsArg,
    model: Model = "hf:embedded",
    out: Out = Path("judge-dpo"),
    beta: Beta = _DPO.beta,
    *,
    train: TrainSettings,
    lora: LoraSettings,
) -> None:
    """DPO with a LoRA adapter; saves a merged model folder to grade with --judge hf:OUT."""
    settings = DPOSettings(beta=beta, train=replace(train, lora=lora))
    result = train_dpo(pairs_file, out, model=model, settings=settings)
    console.print(result.render(), highlight=False)


@train_app.command(epilog="Example: jurist train sft pairs.jsonl --model hf:embedded -o judge-sft/")
@exit_on_error()
@option_groups(train=training, lora=lora)
def sft(
    pairs_file: PairsArg,
    model: Model = "hf:embedded",
    out: Out = Path("judge-sft"),
    *,
    train: TrainSettings,
    lora: LoraSettings,
) -> None:
    """Rationale SFT on the chosen judgments only (the baseline DPO is compared with)."""
    result = train_sft(pairs_file, out, model=model, settings=replace(train, lora=lora))
    console.print(result.render(), highlight=False)


@train_app.command(
    epilog="Example: jurist train loop src/jurist/presets/summeval.yaml "
    "--preset summeval --limit 64 --iterations 2 --split-by doc_id -o loop/"
)
@exit_on_error()
@option_groups(source=items, sampling=sampling, train=training, lora=lora, loop=looping)
def loop(
    rubric: RubricArg,
    label_field: LabelField = None,
    mode: Mode = "pointwise",
    model: Model = "hf:embedded",
    beta: Beta = _DPO.beta,
    baseline: Annotated[
        list[str] | None,
        typer.Option(help="Baselines: self-consistency, best-of-n, sft (default: all)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Sampling and training seed.")] = _SAMPLING.options.seed,
    out: Out = Path("train-loop"),
    *,
    source: ItemSource,
    sampling: SamplingSettings,
    train: TrainSettings,
    lora: LoraSettings,
    loop: LoopSettings,
) -> None:
    """Judge -> pairs -> DPO -> evaluate on held-out groups, K rounds, with baselines.
    Started again with the same --out, it continues after the last finished stage."""
    settings = replace(
        loop,
        mode=mode,
        base_model=model_target(model),
        sampling=sampling,
        dpo=DPOSettings(beta=beta, train=replace(train, lora=lora)),
        baselines=tuple(baseline) if baseline else BASELINES,
        label_fields=parse_label_fields(label_field or []),
    )
    report = run_loop(
        load_rubric(rubric),
        source.load(),
        out,
        settings,
        log=lambda line: console.print(line, highlight=False),
    )
    console.print(report.render(), highlight=False)


@train_app.command(
    "export-gguf",
    epilog="Example: jurist train export-gguf judge-dpo/ -o judge-dpo.gguf --outtype q8_0",
)
@exit_on_error()
@option_groups(settings=dataclass_options(GgufSettings))
def export_gguf(
    model_dir: Annotated[
        Path, typer.Argument(metavar="FOLDER", help="Model folder saved by dpo or sft.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The GGUF file to write.")],
    *,
    settings: GgufSettings,
) -> None:
    """Convert a trained judge folder to GGUF so llama.cpp serves it (--judge local:OUT)."""
    result = export(
        model_dir,
        out,
        **asdict(settings),
        log=lambda line: console.print(line, highlight=False),
    )
    console.print(result.render(), highlight=False)
