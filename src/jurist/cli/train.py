"""`jurist train pairs|dpo|sft|loop|export-gguf`: parse options, call `jurist.train`, print."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from jurist.cli.output import console, exit_on_error

if TYPE_CHECKING:
    from jurist.train import ItemSource, SamplingSettings, TrainSettings

train_app = typer.Typer(
    help="Make a judge agree with your people: preference pairs from its own rationales, "
    "DPO or SFT with LoRA, and the judge -> pairs -> DPO -> evaluate loop.",
    no_args_is_help=True,
)

Rubric = Annotated[Path, typer.Argument(help="Rubric YAML file.")]
Data = Annotated[Path | None, typer.Argument(help="JSONL, CSV or Parquet file of items.")]
Preset = Annotated[str | None, typer.Option(help="A built-in data set instead of DATA.")]
Limit = Annotated[int | None, typer.Option(min=1, help="Use only the first N items.")]
LabelField = Annotated[
    list[str] | None,
    typer.Option(
        help="Label column: NAME, or CRITERION=NAME (repeatable; default: the "
        "criterion's id, or 'preference' for pairwise)."
    ),
]
Keep = Annotated[
    list[str] | None, typer.Option(help="DATA column(s) kept as metadata (e.g. doc_id).")
]
Mode = Annotated[Literal["pointwise", "pairwise"], typer.Option(help="pointwise | pairwise")]
Samples = Annotated[int, typer.Option(min=2, help="Judgments sampled per item and criterion.")]
Temperature = Annotated[float, typer.Option(min=0.01, help="Sampling temperature.")]
MaxTokens = Annotated[int, typer.Option(min=16, help="Token budget per judgment.")]
Store = Annotated[Path | None, typer.Option(help="SQLite cache of judge calls.")]
Model = Annotated[str, typer.Option(help="Model to train: hf:embedded or hf:FOLDER.")]
Out = Annotated[Path, typer.Option("--out", "-o", help="Where to write the result.")]
LearningRate = Annotated[float, typer.Option(help="Learning rate of the LoRA adapter.")]
Epochs = Annotated[float, typer.Option(help="Passes over the data.")]
MaxSteps = Annotated[int, typer.Option(help="Stop after this many steps (-1: epochs decide).")]
BatchSize = Annotated[int, typer.Option(min=1, help="Examples per step.")]
MaxLength = Annotated[int, typer.Option(min=32, help="Tokens per example (prompt + answer).")]
Rank = Annotated[int, typer.Option(min=1, help="LoRA rank.")]
Device = Annotated[Literal["auto", "cpu", "cuda"], typer.Option(help="auto | cpu | cuda")]


def _sampling(samples: int, temperature: float, seed: int, max_tokens: int) -> SamplingSettings:
    from jurist.train import SamplingSettings

    return SamplingSettings(
        samples=samples, temperature=temperature, seed=seed, max_tokens=max_tokens
    )


def _train(
    learning_rate: float,
    epochs: float,
    max_steps: int,
    batch_size: int,
    max_length: int,
    rank: int,
    device: str,
    seed: int,
) -> TrainSettings:
    from jurist.train import LoraSettings, TrainSettings

    return TrainSettings(
        learning_rate=learning_rate,
        epochs=epochs,
        max_steps=max_steps,
        batch_size=batch_size,
        max_length=max_length,
        seed=seed,
        device=device,
        lora=LoraSettings(rank=rank, alpha=2 * rank),
    )


def _source(
    data: Path | None,
    preset: str | None,
    limit: int | None,
    label_field: list[str] | None,
    keep: list[str] | None,
    mode: str,
) -> tuple[ItemSource, dict[str, str]]:
    from jurist.core.data import FieldMap
    from jurist.train import ItemSource, parse_label_fields

    labels = parse_label_fields(label_field or [])
    fields = FieldMap(
        response_b="response_b" if mode == "pairwise" else None,
        labels=tuple(sorted(set(labels.values()))),
        keep=tuple(keep or ()),
    )
    return ItemSource(data=data, preset=preset, fields=fields, limit=limit), labels


@train_app.command(
    epilog="Example: jurist train pairs src/jurist/presets/summeval.yaml "
    "--preset summeval --limit 16 --samples 4 -o pairs.jsonl"
)
def pairs(
    rubric: Rubric,
    data: Data = None,
    preset: Preset = None,
    limit: Limit = None,
    label_field: LabelField = None,
    keep: Keep = None,
    mode: Mode = "pointwise",
    judge: Annotated[str, typer.Option(help="Judge that writes the samples.")] = "hf:embedded",
    samples: Samples = 4,
    temperature: Temperature = 0.8,
    seed: Annotated[int, typer.Option(help="First sampling seed.")] = 1,
    max_tokens: MaxTokens = 160,
    meta_judge: Annotated[
        bool, typer.Option(help="Without a label, let the judge pick between its own answers.")
    ] = False,
    min_margin: Annotated[float, typer.Option(help="Drop pairs closer than this.")] = 0.0,
    group_by: Annotated[str | None, typer.Option(help="Metadata field kept as `group`.")] = None,
    store: Store = None,
    out: Out = Path("pairs.jsonl"),
) -> None:
    """Sample judgments with rationales and curate DPO preference pairs (JSONL or Parquet)."""
    from jurist.train import make_pairs

    with exit_on_error():
        source, labels = _source(data, preset, limit, label_field, keep, mode)
        result = make_pairs(
            rubric,
            source,
            out,
            judge=judge,
            mode=mode,
            settings=_sampling(samples, temperature, seed, max_tokens),
            store=store,
            label_fields=labels,
            meta_judge=meta_judge,
            group_by=group_by,
            min_margin=min_margin,
        )
    console.print(result.render(), highlight=False)


@train_app.command(epilog="Example: jurist train dpo pairs.jsonl --model hf:embedded -o judge-dpo/")
def dpo(
    pairs_file: Annotated[
        Path, typer.Argument(metavar="PAIRS", help="Pairs file (JSONL/Parquet).")
    ],
    model: Model = "hf:embedded",
    out: Out = Path("judge-dpo"),
    beta: Annotated[float, typer.Option(help="DPO beta: how far the judge may move.")] = 0.1,
    learning_rate: LearningRate = 5e-5,
    epochs: Epochs = 1.0,
    max_steps: MaxSteps = -1,
    batch_size: BatchSize = 2,
    max_length: MaxLength = 1024,
    rank: Rank = 8,
    device: Device = "auto",
    seed: Annotated[int, typer.Option(help="Training seed.")] = 0,
) -> None:
    """DPO with a LoRA adapter; saves a merged model folder to grade with --judge hf:OUT."""
    from jurist.train import DPOSettings, train_dpo

    with exit_on_error():
        settings = DPOSettings(
            beta=beta,
            train=_train(
                learning_rate, epochs, max_steps, batch_size, max_length, rank, device, seed
            ),
        )
        result = train_dpo(pairs_file, out, model=model, settings=settings)
    console.print(result.render(), highlight=False)


@train_app.command(epilog="Example: jurist train sft pairs.jsonl --model hf:embedded -o judge-sft/")
def sft(
    pairs_file: Annotated[
        Path, typer.Argument(metavar="PAIRS", help="Pairs file (JSONL/Parquet).")
    ],
    model: Model = "hf:embedded",
    out: Out = Path("judge-sft"),
    learning_rate: LearningRate = 5e-5,
    epochs: Epochs = 1.0,
    max_steps: MaxSteps = -1,
    batch_size: BatchSize = 2,
    max_length: MaxLength = 1024,
    rank: Rank = 8,
    device: Device = "auto",
    seed: Annotated[int, typer.Option(help="Training seed.")] = 0,
) -> None:
    """Rationale SFT on the chosen judgments only (the baseline DPO is compared with)."""
    from jurist.train import train_sft

    with exit_on_error():
        settings = _train(
            learning_rate, epochs, max_steps, batch_size, max_length, rank, device, seed
        )
        result = train_sft(pairs_file, out, model=model, settings=settings)
    console.print(result.render(), highlight=False)


@train_app.command(
    epilog="Example: jurist train loop src/jurist/presets/summeval.yaml "
    "--preset summeval --limit 64 --iterations 2 --split-by doc_id -o loop/"
)
def loop(
    rubric: Rubric,
    data: Data = None,
    preset: Preset = None,
    limit: Limit = None,
    label_field: LabelField = None,
    keep: Keep = None,
    mode: Mode = "pointwise",
    model: Model = "hf:embedded",
    iterations: Annotated[int, typer.Option(min=1, help="Rounds of judge -> pairs -> DPO.")] = 2,
    split_by: Annotated[str, typer.Option(help="Group field: no group on both sides.")] = "doc_id",
    holdout: Annotated[float, typer.Option(help="Share of groups held out.")] = 0.5,
    samples: Samples = 4,
    temperature: Temperature = 0.8,
    max_tokens: MaxTokens = 160,
    beta: Annotated[float, typer.Option(help="DPO beta.")] = 0.1,
    learning_rate: LearningRate = 5e-5,
    epochs: Epochs = 1.0,
    batch_size: BatchSize = 2,
    max_length: MaxLength = 1024,
    rank: Rank = 8,
    device: Device = "auto",
    baseline: Annotated[
        list[str] | None,
        typer.Option(help="Baselines: self-consistency, best-of-n, sft (default: all)."),
    ] = None,
    seed: Annotated[int, typer.Option(help="Sampling and training seed.")] = 1,
    out: Out = Path("train-loop"),
) -> None:
    """Judge -> pairs -> DPO -> evaluate on held-out groups, K rounds, with baselines.
    Started again with the same --out, it continues after the last finished stage."""
    from jurist.train import BASELINES, DPOSettings, LoopSettings, run_loop
    from jurist.train.lora import model_target

    with exit_on_error():
        source, labels = _source(data, preset, limit, label_field, keep, mode)
        settings = LoopSettings(
            iterations=iterations,
            split_by=split_by,
            holdout=holdout,
            mode=mode,
            base_model=model_target(model),
            sampling=_sampling(samples, temperature, seed, max_tokens),
            dpo=DPOSettings(
                beta=beta,
                train=_train(learning_rate, epochs, -1, batch_size, max_length, rank, device, seed),
            ),
            baselines=tuple(baseline) if baseline else BASELINES,
            label_fields=labels,
        )
        from jurist.core.rubric import load_rubric

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
def export_gguf(
    model_dir: Annotated[
        Path, typer.Argument(metavar="FOLDER", help="Model folder saved by dpo or sft.")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="The GGUF file to write.")],
    outtype: Annotated[
        Literal["q8_0", "f16", "bf16", "f32"],
        typer.Option(help="Weight type: q8_0 (small, close) | f16 | bf16 | f32 (exact)."),
    ] = "q8_0",
    converter: Annotated[
        Path | None,
        typer.Option(
            help="llama.cpp's convert_hf_to_gguf.py (or a llama.cpp checkout). Default: "
            "$LLAMA_CPP_CONVERTER, else the one matching the installed llama-cpp-python, "
            "fetched once from PyPI."
        ),
    ] = None,
) -> None:
    """Convert a trained judge folder to GGUF so llama.cpp serves it (--judge local:OUT)."""
    from jurist.train import export_gguf as export

    with exit_on_error():
        result = export(
            model_dir,
            out,
            outtype=outtype,
            converter=converter,
            log=lambda line: console.print(line, highlight=False),
        )
    console.print(result.render(), highlight=False)
