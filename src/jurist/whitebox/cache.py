"""Hidden states cached on disk per (model, text up to the score position), so re-fitting a
LAGER weighting or a probe, or re-analysing layers, costs no forward pass."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from jurist.whitebox.loading import cache_root


def hidden_key(model_identity: str, text: str) -> str:
    """Names one score position: the model and every token before it."""
    return hashlib.sha256(f"{model_identity}\0{text}".encode()).hexdigest()


class HiddenCache:
    """A folder of `.npz` files, one per key, each holding named (layers + 1, hidden) arrays
    (`last` at the score position, `mean` over a span), in float32: Gemma's residual stream
    outgrows float16."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root else cache_root() / "hidden"

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npz"

    def get(self, key: str) -> dict[str, NDArray[np.float32]] | None:
        path = self.path(key)
        if not path.exists():
            return None
        with np.load(path) as data:
            return {name: data[name].astype(np.float32) for name in data.files}

    def put(self, key: str, arrays: dict[str, NDArray[np.floating]]) -> None:
        """Write through a temporary file and rename, so a reader never sees half a file."""
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(dir=path.parent, suffix=".partial")
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(out, **{k: np.asarray(v, dtype=np.float32) for k, v in arrays.items()})
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
