"""Export a trained judge folder to GGUF, so llama.cpp (`--judge local:FILE.gguf`) serves it.

The conversion is llama.cpp's own `convert_hf_to_gguf.py`, run as a separate program with
the current Python: it is maintained alongside llama.cpp's model support, so jurist carries
no GGUF writer of its own. The script is found, in order: an explicit path, the
`LLAMA_CPP_CONVERTER` variable, or a copy taken once from the llama-cpp-python source
distribution that matches the installed llama-cpp-python (whose llama.cpp reads the result).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from jurist.core.errors import BackendError, ConfigError, StorageError
from jurist.core.paths import cache_dir

CONVERTER_ENV = "LLAMA_CPP_CONVERTER"
CONVERTER_SCRIPT = "convert_hf_to_gguf.py"
OUTTYPES = ("q8_0", "f16", "bf16", "f32")
# What the script imports from its own checkout: its model classes and the gguf package
# of the same llama.cpp revision.
_CONVERTER_PARTS = (CONVERTER_SCRIPT, "conversion", "gguf-py")
_SDIST_ROOT = "vendor/llama.cpp"
_UNSUPPORTED = re.compile(r"Model (\S+) is not supported")
_TAIL_LINES = 15

Log = Callable[[str], None]


class ConverterUnavailable(ConfigError):
    """No converter script could be found or fetched; the message says how to provide one."""


@dataclass(frozen=True)
class GgufExport:
    """A written GGUF file and how it was made."""

    gguf: Path
    source: Path
    outtype: str
    architecture: str
    converter: Path
    size_bytes: int
    wall_s: float

    def render(self) -> str:
        return (
            f"wrote {self.gguf} ({self.outtype}, {self.size_bytes / 1e6:.0f} MB, "
            f"{self.architecture}) from {self.source} in {self.wall_s:.0f} s\n"
            f"grade with --judge local:{self.gguf}"
        )


def converter_cache() -> Path:
    return cache_dir("llama.cpp-converter")


def locate_converter(
    explicit: str | Path | None = None, *, fetch: bool = True, log: Log | None = None
) -> Path:
    """The converter script: `explicit`, else $LLAMA_CPP_CONVERTER, else the cached copy
    matching the installed llama-cpp-python, fetched once when `fetch` allows it. A path may
    name the script or a llama.cpp checkout that holds it."""
    if explicit is not None:
        return _script_at(Path(explicit), "--converter")
    from_env = os.environ.get(CONVERTER_ENV)
    if from_env:
        return _script_at(Path(from_env), f"${CONVERTER_ENV}")
    version = _llama_cpp_version()
    cached = converter_cache() / version / CONVERTER_SCRIPT
    if cached.is_file():
        return cached
    if not fetch:
        raise ConverterUnavailable(
            f"no GGUF converter cached for llama-cpp-python {version} at {cached.parent}; "
            f"pass --converter PATH/{CONVERTER_SCRIPT} or set {CONVERTER_ENV}"
        )
    return fetch_converter(version, log=log)


def _script_at(path: Path, origin: str) -> Path:
    script = path / CONVERTER_SCRIPT if path.is_dir() else path
    if not script.is_file():
        raise ConverterUnavailable(
            f"{origin}: {path}: no {CONVERTER_SCRIPT} there (name the script or a llama.cpp "
            "checkout that holds it)"
        )
    return script


def _llama_cpp_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llama_cpp_python")
    except PackageNotFoundError:
        raise ConverterUnavailable(
            "no GGUF converter: llama-cpp-python is not installed, so there is no matching "
            f"llama.cpp to take one from; pass --converter PATH/{CONVERTER_SCRIPT} or set "
            f"{CONVERTER_ENV} (or install 'jurist[local]')"
        ) from None


def fetch_converter(version: str, *, log: Log | None = None) -> Path:
    """Download the llama-cpp-python source distribution of `version` with pip and keep
    only the converter and what it imports, under the jurist cache."""
    target = converter_cache() / version
    say = log or (lambda _line: None)
    say(
        f"fetching llama.cpp's {CONVERTER_SCRIPT} once: llama-cpp-python {version} source "
        f"distribution from PyPI into {target}"
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".fetch-") as scratch:
        download = Path(scratch) / "sdist"
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            f"llama-cpp-python=={version}",
            "--no-deps",
            "--no-binary",
            ":all:",
            "--dest",
            str(download),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        archives = sorted(download.glob("*.tar.gz")) if download.is_dir() else []
        if done.returncode != 0 or not archives:
            raise ConverterUnavailable(
                f"could not fetch llama-cpp-python {version} from PyPI to get its GGUF "
                f"converter (pip exited {done.returncode}): {_tail(done.stderr or done.stdout)}"
                f"\npass --converter PATH/{CONVERTER_SCRIPT} or set {CONVERTER_ENV}"
            )
        unpacked = Path(scratch) / "converter"
        unpack_converter(archives[0], unpacked)
        try:
            unpacked.rename(target)
        except OSError:
            if not (target / CONVERTER_SCRIPT).is_file():  # not another process's copy
                raise StorageError(f"cannot write the converter to {target}") from None
    return target / CONVERTER_SCRIPT


def unpack_converter(archive: Path, into: Path) -> None:
    """Extract only the converter's own files from a source archive into `into`."""
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            parts = PurePosixPath(member.name).parts
            inner = PurePosixPath(*parts[1:]) if len(parts) > 1 else PurePosixPath()
            try:
                relative = inner.relative_to(_SDIST_ROOT)
            except ValueError:
                continue
            if not member.isfile() or not relative.parts:
                continue
            if relative.parts[0] not in _CONVERTER_PARTS or ".." in relative.parts:
                continue
            source = tar.extractfile(member)
            if source is None:
                continue
            destination = into.joinpath(*relative.parts)
            destination.parent.mkdir(parents=True, exist_ok=True)
            with source, destination.open("wb") as sink:
                shutil.copyfileobj(source, sink)
    if not (into / CONVERTER_SCRIPT).is_file():
        raise ConverterUnavailable(
            f"{archive.name} holds no {_SDIST_ROOT}/{CONVERTER_SCRIPT}; pass --converter "
            f"PATH/{CONVERTER_SCRIPT} or set {CONVERTER_ENV}"
        )


def _tail(text: str, lines: int = _TAIL_LINES) -> str:
    """The last lines a program wrote, progress-bar redraws dropped."""
    kept = [line.strip() for line in re.split(r"[\r\n]+", text or "") if line.strip()]
    kept = [line for line in kept if not line.startswith("Writing:")]
    return "\n".join(kept[-lines:]) or "(no output)"


def _architecture(folder: Path) -> str:
    config = folder / "config.json"
    if not folder.is_dir():
        raise ConfigError(f"{folder}: not a model folder (export takes the folder hf: grades)")
    if not config.is_file():
        raise ConfigError(f"{folder}: no config.json; not a Hugging Face model folder")
    try:
        names = json.loads(config.read_text()).get("architectures") or []
    except (OSError, ValueError) as error:
        raise ConfigError(f"{config}: unreadable: {error}") from None
    if not any(folder.glob("*.safetensors")) and not any(folder.glob("*.bin")):
        raise ConfigError(f"{folder}: no weights (*.safetensors or *.bin)")
    return str(names[0]) if names else "unknown"


@dataclass(frozen=True)
class GgufSettings:
    """How `export_gguf` converts, as one documented value (`**asdict(settings)`)."""

    outtype: Literal["q8_0", "f16", "bf16", "f32"] = field(
        default="q8_0",
        metadata={"help": "Weight type: q8_0 (small, close) | f16 | bf16 | f32 (exact)."},
    )
    converter: Path | None = field(
        default=None,
        metadata={
            "help": "llama.cpp's convert_hf_to_gguf.py (or a llama.cpp checkout). Default: "
            f"${CONVERTER_ENV}, else the one matching the installed llama-cpp-python, "
            "fetched once from PyPI."
        },
    )


def export_gguf(
    model_dir: str | Path,
    out: str | Path,
    *,
    outtype: str = "q8_0",
    converter: str | Path | None = None,
    log: Log | None = None,
) -> GgufExport:
    """Convert an HF model folder (what `jurist train dpo|sft` save) into one GGUF file.

    The file appears only when the converter succeeded: it writes to a temporary name that
    is renamed at the end, so a failed run leaves no GGUF that llama.cpp would trust."""
    if outtype not in OUTTYPES:
        raise ConfigError(f"unknown outtype {outtype!r}; use one of {', '.join(OUTTYPES)}")
    folder = Path(model_dir).expanduser()
    architecture = _architecture(folder)
    script = locate_converter(converter, log=log)
    target = Path(out).expanduser()
    if target.suffix != ".gguf":
        raise ConfigError(f"{target}: the output file must end in .gguf")
    target.parent.mkdir(parents=True, exist_ok=True)
    # A plain name: the converter would fill in `{...}` templates in the one it is given.
    partial = target.with_name(f".jurist-export-{os.getpid()}.partial.gguf")
    command = [
        sys.executable,
        str(script),
        str(folder),
        "--outfile",
        str(partial),
        "--outtype",
        outtype,
    ]
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0 or not partial.is_file():
            output = f"{done.stdout}\n{done.stderr}"
            unsupported = _UNSUPPORTED.search(output)
            if unsupported:
                raise ConfigError(
                    f"{folder}: architecture {unsupported.group(1)} is not supported by "
                    f"llama.cpp's converter ({script})"
                )
            raise BackendError(
                f"llama.cpp's converter ({script}) failed on {folder} (exit "
                f"{done.returncode}); its last lines:\n{_tail(output)}",
                retryable=False,
            )
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return GgufExport(
        gguf=target,
        source=folder,
        outtype=outtype,
        architecture=architecture,
        converter=script,
        size_bytes=target.stat().st_size,
        wall_s=time.perf_counter() - started,
    )
