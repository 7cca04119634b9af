"""A fingerprint of a grading job's input, stored with the run so that resuming after the
data changed is refused instead of mixing two versions of it item by item."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from jurist.core.data import ReadReport
from jurist.core.errors import InputError

if TYPE_CHECKING:
    from jurist.grading import GradeConfig

_CHUNK = 1 << 20


def input_fingerprint(config: GradeConfig) -> str:
    """SHA-256 of the data file's bytes and the field mapping, or of a preset's items."""
    digest = hashlib.sha256()
    digest.update(json.dumps(config.fields, sort_keys=True).encode())
    digest.update(f"limit={config.limit}".encode())
    if config.preset is not None:
        from jurist.grading import iter_config_items

        digest.update(f"preset={config.preset}".encode())
        for item in iter_config_items(config, ReadReport()):
            digest.update(item.model_dump_json().encode())
        return digest.hexdigest()
    if config.data_path is None:
        return digest.hexdigest()
    try:
        with open(config.data_path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except OSError as error:
        raise InputError(config.data_path, problem=error.strerror or str(error)) from None
    return digest.hexdigest()
