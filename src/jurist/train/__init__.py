"""Making a judge agree with people from its own rationales (self-rationalization):
preference pairs, DPO and SFT with LoRA, the judge -> pairs -> DPO -> evaluate loop, and
export of the trained judge to GGUF for llama.cpp.

Needs the `train` extra (transformers, trl, peft, datasets); imported lazily by the CLI.

Modules here are public unless their name starts with `_`; a `_name`, module or symbol, is
never imported from outside this package (tests included).
"""

from jurist.datasets import ItemSource
from jurist.train.dpo import DPOSettings, train_dpo
from jurist.train.export import (
    ConverterUnavailable,
    GgufExport,
    GgufSettings,
    export_gguf,
    locate_converter,
)
from jurist.train.jobs import (
    PairsResult,
    PairsSettings,
    make_pairs,
    parse_label_fields,
    training_items,
)
from jurist.train.loop import BASELINES, LoopSettings, run_loop, split_items
from jurist.train.lora import LoraSettings, TrainResult, TrainSettings
from jurist.train.metrics import LoopReport
from jurist.train.pairs import (
    Candidate,
    PairSet,
    PairYield,
    PreferencePair,
    SamplingSettings,
    build_pairs,
    curate,
    curate_units,
    load_pairs,
    prompt_text,
    sample,
    write_pairs,
)
from jurist.train.sft import train_sft

__all__ = [
    "BASELINES",
    "Candidate",
    "ConverterUnavailable",
    "DPOSettings",
    "GgufExport",
    "GgufSettings",
    "ItemSource",
    "LoopReport",
    "LoopSettings",
    "LoraSettings",
    "PairSet",
    "PairYield",
    "PairsResult",
    "PairsSettings",
    "PreferencePair",
    "SamplingSettings",
    "TrainResult",
    "TrainSettings",
    "build_pairs",
    "curate",
    "curate_units",
    "export_gguf",
    "load_pairs",
    "locate_converter",
    "make_pairs",
    "parse_label_fields",
    "prompt_text",
    "run_loop",
    "sample",
    "split_items",
    "train_dpo",
    "train_sft",
    "training_items",
    "write_pairs",
]
