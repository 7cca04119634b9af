"""White-box judging on local models through transformers: loading a model (a folder or a
GGUF), per-layer score distributions, LAGER layer weights and learned heads on hidden states,
and the disk cache they share. This is the runtime the `hf` backend runs on, so it imports
nothing above `core`. `learned` fits the weights and heads on any items it is handed, for
`jurist tune` (inside its nested folds) and `meta.calibrate` (on a whole graded run) alike.

Names load on first use: `jurist.whitebox.fields` is read on every pointwise judgment, and
that must not pull in the fitting code (torch, scipy).

Modules here are public unless their name starts with `_`; a `_name`, module or
symbol, is never imported from outside this package (tests included)."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "HiddenCache": "cache",
    "hidden_key": "cache",
    "Calibration": "calibration",
    "calibration_dir": "calibration",
    "PrefixForward": "forward",
    "LagerFile": "lager",
    "LagerWeights": "lager",
    "fit_lager": "lager",
    "uniform": "lager",
    "choice_token_ids": "layers",
    "expected_scores": "layers",
    "layer_logits": "layers",
    "EMBEDDED": "loading",
    "load_causal_lm": "loading",
    "resolve_model_path": "loading",
    "LagerEstimator": "learned",
    "ProbeEstimator": "learned",
    "out_of_fold": "learned",
    "Probe": "probe",
    "ProbeFile": "probe",
    "cross_validated": "probe",
    "fit_probe": "probe",
    "grouped_folds": "probe",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'jurist.whitebox' has no attribute {name!r}")
    return getattr(importlib.import_module(f"jurist.whitebox.{_EXPORTS[name]}"), name)
