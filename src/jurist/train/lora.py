"""What DPO and SFT share: the base model, a LoRA adapter on it, the device, and the merged
model folder that `--judge hf:FOLDER` grades with."""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from jurist.core.errors import ConfigError

HF_PREFIX = "hf:"
TRAINING_RECORD = "jurist_training.json"


@dataclass(frozen=True)
class LoraSettings:
    """A small adapter on the attention projections: few parameters, CPU-friendly."""

    rank: int = field(default=8, metadata={"help": "LoRA rank.", "min": 1})
    alpha: int | None = None  # None: twice the rank
    dropout: float = 0.0
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass(frozen=True)
class TrainSettings:
    """Optimiser and length settings shared by DPO and SFT."""

    learning_rate: float = field(
        default=5e-5, metadata={"help": "Learning rate of the LoRA adapter."}
    )
    epochs: float = field(default=1.0, metadata={"help": "Passes over the data."})
    max_steps: int = field(
        default=-1, metadata={"help": "Stop after this many steps (-1: epochs decide)."}
    )
    batch_size: int = field(default=2, metadata={"help": "Examples per step.", "min": 1})
    grad_accum: int = 1
    max_length: int = field(
        default=1024, metadata={"help": "Tokens per example (prompt + answer).", "min": 32}
    )
    seed: int = field(default=0, metadata={"help": "Training seed."})
    device: str = field(default="auto", metadata={"help": "auto | cpu | cuda"})
    lora: LoraSettings = field(default_factory=LoraSettings)


@dataclass
class TrainResult:
    """What a training run left: the merged model folder and its learning curve."""

    model_dir: Path
    steps: int
    train_loss: float | None
    wall_s: float
    log: list[dict[str, float]]
    pairs: int

    def series(self, name: str) -> list[float]:
        return [float(row[name]) for row in self.log if name in row]

    def render(self) -> str:
        loss = "n/a" if self.train_loss is None else f"{self.train_loss:.4f}"
        return (
            f"trained on {self.pairs} examples, {self.steps} steps in {self.wall_s:.0f} s; "
            f"mean train loss {loss}\nmodel: {self.model_dir} (grade with --judge "
            f"hf:{self.model_dir})"
        )


def model_target(model: str) -> str:
    """`hf:FOLDER`, `hf:embedded`, a folder or `embedded` as what load_causal_lm takes."""
    return model[len(HF_PREFIX) :] if model.startswith(HF_PREFIX) else model


def use_cuda(device: str) -> bool:
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' asked for, but no GPU is available")
    if device not in ("auto", "cpu", "cuda"):
        raise ConfigError(f"unknown device {device!r}; use auto, cpu or cuda")
    return device == "cuda" or (device == "auto" and torch.cuda.is_available())


def load_base(model: str) -> tuple[Any, Any]:
    """The model to train and its tokenizer, with a pad token the collators can use."""
    from jurist.whitebox import load_causal_lm

    network, tokenizer = load_causal_lm(model_target(model))
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    network.config.use_cache = False
    return network, tokenizer


def peft_config(settings: LoraSettings) -> Any:
    from peft import LoraConfig

    return LoraConfig(
        r=settings.rank,
        lora_alpha=settings.alpha or 2 * settings.rank,
        lora_dropout=settings.dropout,
        target_modules=list(settings.target_modules),
        task_type="CAUSAL_LM",
    )


def trainer_arguments(settings: TrainSettings, scratch: Path) -> dict[str, Any]:
    """The transformers TrainingArguments both trainers take; nothing is written to
    `scratch` but logs, as the merged model is saved by `save_merged`."""
    cuda = use_cuda(settings.device)
    return {
        "output_dir": str(scratch),
        "learning_rate": settings.learning_rate,
        "num_train_epochs": settings.epochs,
        "max_steps": settings.max_steps,
        "per_device_train_batch_size": settings.batch_size,
        "gradient_accumulation_steps": settings.grad_accum,
        "max_length": settings.max_length,
        "seed": settings.seed,
        "logging_steps": 1,
        "save_strategy": "no",
        "report_to": [],
        "use_cpu": not cuda,
        "bf16": cuda,
        "disable_tqdm": True,
        "lr_scheduler_type": "constant",
        "warmup_steps": 0,
        # A 270M model fits in memory as it is; recomputing activations only costs time.
        "gradient_checkpointing": False,
    }


def save_merged(trainer: Any, tokenizer: Any, out_dir: str | Path, record: dict[str, Any]) -> Path:
    """Fold the adapter into the weights and save a plain HF model folder (float32 on
    CPU) with its tokenizer and a record of how it was trained."""
    import torch

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model = trainer.model
    if hasattr(model, "merge_and_unload"):
        model = model.merge_and_unload()
    model = model.to(device="cpu", dtype=torch.float32)
    model.config.use_cache = True
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    (out / TRAINING_RECORD).write_text(json.dumps(record, indent=2, default=str) + "\n")
    return out


def run_trainer(
    trainer: Any, tokenizer: Any, out_dir: str | Path, record: dict[str, Any], pairs: int
) -> TrainResult:
    started = time.perf_counter()
    output = trainer.train()
    wall = time.perf_counter() - started
    log = [
        {k: float(v) for k, v in row.items() if isinstance(v, int | float)}
        for row in trainer.state.log_history
        if "loss" in row
    ]
    loss = getattr(output, "training_loss", None)
    result_record = {
        **record,
        "steps": trainer.state.global_step,
        "train_loss": loss,
        "wall_s": round(wall, 2),
        "log": log,
    }
    model_dir = save_merged(trainer, tokenizer, out_dir, result_record)
    return TrainResult(model_dir, trainer.state.global_step, loss, wall, log, pairs)


def settings_record(kind: str, model: str, settings: TrainSettings, **extra: Any) -> dict[str, Any]:
    return {"method": kind, "base_model": model, "settings": asdict(settings), **extra}
