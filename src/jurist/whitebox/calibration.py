"""Where a model's fitted LAGER weights and probes live: a folder beside the model, read by
the `hf` backend at grade time and written by `jurist calibrate`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from jurist.whitebox.lager import LagerFile, LagerWeights
from jurist.whitebox.loading import resolve_model_path
from jurist.whitebox.probe import Probe, ProbeFile

LAGER_FILE = "lager.json"
PROBE_FILE = "probe.json"


def calibration_dir(target: str | None) -> Path:
    """`MODEL.gguf.jurist/` beside a GGUF file, `jurist/` inside an HF model folder."""
    path = resolve_model_path(target)
    return path.parent / f"{path.name}.jurist" if path.is_file() else path / "jurist"


@dataclass
class Calibration:
    """The estimators fitted for one model, looked up by criterion id ('*' for any)."""

    lager: LagerFile | None = None
    probes: ProbeFile | None = None
    fingerprint: str = ""

    @classmethod
    def load(cls, folder: Path) -> Calibration:
        lager_path, probe_path = folder / LAGER_FILE, folder / PROBE_FILE
        lager = LagerFile.load(lager_path) if lager_path.exists() else None
        probes = ProbeFile.load(probe_path) if probe_path.exists() else None
        digest = hashlib.sha256()
        for path in (lager_path, probe_path):
            if path.exists():
                digest.update(path.read_bytes())
        fingerprint = digest.hexdigest()[:12] if lager or probes else ""
        return cls(lager, probes, fingerprint)

    def lager_for(self, key: str) -> LagerWeights | None:
        if self.lager is None:
            return None
        return self.lager.criteria.get(key) or self.lager.criteria.get("*")

    def probe_for(self, key: str) -> Probe | None:
        if self.probes is None:
            return None
        return self.probes.criteria.get(key) or self.probes.criteria.get("*")
