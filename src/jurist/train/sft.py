"""The rationale-SFT baseline: fine-tune on the chosen judgments only (TRL SFTTrainer,
LoRA, loss on the answer alone), so DPO can be compared with plain imitation."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from jurist.train.lora import (
    TrainResult,
    TrainSettings,
    load_base,
    peft_config,
    run_trainer,
    settings_record,
    trainer_arguments,
)
from jurist.train.pairs import load_pairs


def _dataset(pairs: Any) -> Any:
    data = load_pairs(pairs) if isinstance(pairs, str | Path) else pairs
    data = data.select_columns(["prompt", "chosen"])
    return data.rename_column("chosen", "completion")


def train_sft(
    pairs: str | Path | Any,
    out_dir: str | Path,
    *,
    model: str = "embedded",
    settings: TrainSettings | None = None,
) -> TrainResult:
    """Train `model` on the `chosen` side of a pairs file and save the merged judge."""
    from trl import SFTConfig, SFTTrainer

    settings = settings or TrainSettings()
    data = _dataset(pairs)
    network, tokenizer = load_base(model)
    with tempfile.TemporaryDirectory(prefix="jurist-sft-") as scratch:
        config = SFTConfig(
            **trainer_arguments(settings, Path(scratch)),
            completion_only_loss=True,
        )
        trainer = SFTTrainer(
            model=network,
            args=config,
            train_dataset=data,
            processing_class=tokenizer,
            peft_config=peft_config(settings.lora),
        )
        record = settings_record("sft", model, settings, examples=len(data))
        return run_trainer(trainer, tokenizer, out_dir, record, len(data))
