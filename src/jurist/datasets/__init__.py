"""Public human-labelled benchmarks as `Item`s, and the presets that grade them.

Modules here are public unless their name starts with `_`; a `_name`, module or
symbol, is never imported from outside this package (tests included).
"""

from jurist.datasets.sets import (
    DATA_ENV,
    LLMRUBRIC_QUESTIONS,
    PRESETS,
    PRESETS_DIR,
    SUMMEVAL_CRITERIA,
    DatasetNotFoundError,
    Loader,
    Preset,
    get_preset,
    load_autoj,
    load_evalbiasbench,
    load_hhh,
    load_judgebench,
    load_llmrubric,
    load_preset,
    load_summeval,
    resolve_data_dir,
    split_prometheus_prompt,
)
from jurist.datasets.source import ItemSource

__all__ = [
    "DATA_ENV",
    "LLMRUBRIC_QUESTIONS",
    "PRESETS",
    "PRESETS_DIR",
    "SUMMEVAL_CRITERIA",
    "DatasetNotFoundError",
    "ItemSource",
    "Loader",
    "Preset",
    "get_preset",
    "load_autoj",
    "load_evalbiasbench",
    "load_hhh",
    "load_judgebench",
    "load_llmrubric",
    "load_preset",
    "load_summeval",
    "resolve_data_dir",
    "split_prometheus_prompt",
]
