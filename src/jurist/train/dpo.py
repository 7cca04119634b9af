"""DPO on preference pairs with a LoRA adapter (TRL DPOTrainer), merged into a model folder.

The reference log-probabilities are computed once before training: with a LoRA adapter the
reference is the base model itself, so nothing but the policy stays in memory.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
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
from jurist.train.pairs import DATASET_COLUMNS, load_pairs


@dataclass(frozen=True)
class DPOSettings:
    """`beta` is how far the judge may move from its starting point; `loss_type`
    names a TRL DPO loss (sigmoid is the original DPO)."""

    beta: float = 0.1
    loss_type: str = "sigmoid"
    train: TrainSettings = field(default_factory=TrainSettings)


def _dataset(pairs: Any) -> Any:
    data = load_pairs(pairs) if isinstance(pairs, str | Path) else pairs
    return data.select_columns(list(DATASET_COLUMNS))


def train_dpo(
    pairs: str | Path | Any,
    out_dir: str | Path,
    *,
    model: str = "embedded",
    settings: DPOSettings | None = None,
) -> TrainResult:
    """Train `model` (embedded, hf:FOLDER or a folder) on a pairs file or Dataset and
    save the merged judge in `out_dir`."""
    from trl import DPOConfig, DPOTrainer

    settings = settings or DPOSettings()
    data = _dataset(pairs)
    network, tokenizer = load_base(model)
    with tempfile.TemporaryDirectory(prefix="jurist-dpo-") as scratch:
        config = DPOConfig(
            **trainer_arguments(settings.train, Path(scratch)),
            beta=settings.beta,
            loss_type=[settings.loss_type],
            precompute_ref_log_probs=True,
        )
        trainer = DPOTrainer(
            model=network,
            args=config,
            train_dataset=data,
            processing_class=tokenizer,
            peft_config=peft_config(settings.train.lora),
        )
        record = settings_record(
            "dpo",
            model,
            settings.train,
            beta=settings.beta,
            loss_type=settings.loss_type,
            pairs=len(data),
        )
        return run_trainer(trainer, tokenizer, out_dir, record, len(data))
