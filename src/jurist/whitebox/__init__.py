"""White-box judging on local models through transformers: per-layer score distributions,
LAGER layer aggregation, learned heads on hidden states, and the disk cache they share.

Names load on first use: judges import `jurist.whitebox.fields` on every run, and that must
not pull in the statistics and fitting code."""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "HiddenCache": "cache",
    "hidden_key": "cache",
    "CalibrationReport": "calibrate",
    "calibrate": "calibrate",
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
