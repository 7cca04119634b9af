"""Loading a causal LM through transformers: an HF model folder, a `.gguf` file, or the
embedded Gemma GGUF. A GGUF is dequantized once (about a minute on 2 cores) and kept as a
safetensors folder, so every later load, by grading, calibration or training, takes seconds."""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
from pathlib import Path
from typing import Any

from jurist.core.errors import BackendError, ConfigError
from jurist.core.paths import cache_dir, default_model_path

EMBEDDED = "embedded"
_LOCK = threading.Lock()


def _missing_extra() -> BackendError:
    return BackendError(
        "transformers models need the 'whitebox' extra: pip install 'jurist[whitebox]'",
        retryable=False,
    )


def cache_root() -> Path:
    """Converted models and hidden states of the `hf` backend."""
    return cache_dir("hf")


def resolve_model_path(target: str | None) -> Path:
    """The folder or `.gguf` file a `hf:` target names; `embedded` (or nothing) is the
    packaged Gemma GGUF."""
    if not target or target == EMBEDDED:
        return default_model_path()
    path = Path(target).expanduser()
    if not path.exists():
        raise ConfigError(f"hf judge: {target}: no such model folder or .gguf file")
    if path.is_file() and path.suffix != ".gguf":
        raise ConfigError(f"hf judge: {target}: a file must be a .gguf; otherwise name a folder")
    return path


def dequantized_folder(gguf: Path) -> Path:
    """Where a GGUF's dequantized weights live: keyed by its name, size and mtime, so a
    replaced file is converted again."""
    stat = gguf.stat()
    key = hashlib.sha256(f"{gguf.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return cache_root() / f"{gguf.stem}-{key.hexdigest()[:12]}"


def load_causal_lm(target: str | None, *, dtype: str = "float32") -> tuple[Any, Any]:
    """(model, tokenizer) in eval mode on CPU; callers move them to a device if they want."""
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise _missing_extra() from None
    path = resolve_model_path(target)
    torch_dtype = getattr(torch, dtype)
    with _LOCK:
        folder = path
        if path.is_file():
            folder = dequantized_folder(path)
            if not (folder / "config.json").exists():
                _dequantize(path, folder, torch_dtype)
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch_dtype)
        tokenizer = AutoTokenizer.from_pretrained(folder)
    model.eval()
    return model, tokenizer


def _dequantize(gguf: Path, folder: Path, torch_dtype: Any) -> None:
    """Convert once into a temporary folder, then rename: a killed conversion leaves no
    half-written folder that a later load would trust."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder.parent.mkdir(parents=True, exist_ok=True)
    partial = folder.with_name(folder.name + f".partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    model = AutoModelForCausalLM.from_pretrained(
        gguf.parent, gguf_file=gguf.name, dtype=torch_dtype
    )
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    # The weights are plain tensors once loaded; only the GGUF marker forbids saving them.
    model.hf_quantizer = None
    model.config.quantization_config = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(partial, safe_serialization=True)
    tokenizer.save_pretrained(partial)
    try:
        partial.rename(folder)
    except OSError:
        shutil.rmtree(partial, ignore_errors=True)  # another process won the race
