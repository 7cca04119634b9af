"""Find the rubric in a library that was written for prompts most like a new one.

A library is a folder of rubric files. Each `NAME.yaml` (or `.yml`) may have a sidecar
`NAME.prompts.txt` holding the prompts it was written for, separated by lines that hold
only `---` (so a prompt may span several lines). The rubric's own text (name, description,
questions) is indexed too, so a rubric without prompts can still be found.

The index lives in `FOLDER/.jurist-index/`: `embeddings.npy` (one unit row per indexed
text) and `manifest.json` (which file and kind each row is, the model that embedded it, and
a hash of every file). A changed, added or removed file, or a different embedding model,
makes the index stale; `load_index` rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from jurist.core.errors import InputError, JuristError
from jurist.core.rubric import Rubric, RubricError, load_rubric
from jurist.rubrics import embeddings

Embed = Callable[[list[str]], np.ndarray]

INDEX_DIR = ".jurist-index"
MANIFEST = "manifest.json"
VECTORS = "embeddings.npy"
PROMPTS_SUFFIX = ".prompts.txt"
SEPARATOR = "---"
_VERSION = 1


class StaleIndexError(JuristError, RuntimeError):
    """The saved index does not match the library's files or the embedding model."""


class Retrieved(NamedTuple):
    rubric: Rubric
    score: float
    path: Path


def read_prompts(path: Path) -> list[str]:
    """Prompts from a sidecar file: blocks separated by lines that are exactly '---'."""
    blocks: list[list[str]] = [[]]
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() == SEPARATOR:
            blocks.append([])
        else:
            blocks[-1].append(line)
    return [text for block in blocks if (text := "\n".join(block).strip())]


def rubric_text(rubric: Rubric) -> str:
    """What a rubric says about itself, for finding it when it has no prompts."""
    lines = [rubric.name, rubric.description]
    lines += [criterion.question for criterion in rubric.criteria]
    lines += [item.text for item in rubric.checklist]
    return "\n".join(line for line in lines if line)


def _default_embed(texts: list[str]) -> np.ndarray:
    return embeddings.embed(texts)


def _model_name(embed: Embed | None, model_name: str | None) -> str:
    if model_name is not None:
        return model_name
    if embed is None:
        return embeddings.MODEL_NAME
    return str(
        getattr(embed, "model_name", None)
        or f"{getattr(embed, '__module__', '?')}.{getattr(embed, '__qualname__', repr(embed))}"
    )


def _sha256(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name.rsplit(".", 1)[0] + PROMPTS_SUFFIX)


def _rubric_files(folder: Path, index_dir: Path) -> list[Path]:
    found = [
        path
        for pattern in ("*.yaml", "*.yml")
        for path in folder.rglob(pattern)
        if index_dir not in path.parents and not path.name.startswith(".")
    ]
    return sorted(found, key=lambda path: path.relative_to(folder).as_posix())


def _fingerprint(folder: Path, index_dir: Path) -> dict[str, dict[str, str | None]]:
    return {
        path.relative_to(folder).as_posix(): {
            "sha256": _sha256(path),
            "prompts_sha256": _sha256(_sidecar(path)),
        }
        for path in _rubric_files(folder, index_dir)
    }


def _unit(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


@dataclass
class RubricIndex:
    """Embedded prompts and rubric texts of a library, searchable by a new prompt."""

    folder: Path
    model: str
    rubrics: dict[str, Rubric]
    rows: list[tuple[str, str]]
    vectors: np.ndarray
    embed: Embed
    skipped: dict[str, str] = field(default_factory=dict)

    def retrieve(self, query: str, k: int = 3) -> list[Retrieved]:
        """The k rubrics whose prompts (or own text) are most similar to the query; each
        rubric scores the cosine similarity of its best-matching row."""
        if k < 1 or not self.rows:
            return []
        query_vector = _unit(self.embed([query]))[0]
        similarities = self.vectors @ query_vector
        best: dict[str, float] = {}
        for (path, _kind), similarity in zip(self.rows, similarities, strict=True):
            best[path] = max(best.get(path, -1.0), float(similarity))
        ranked = sorted(best.items(), key=lambda entry: (-entry[1], entry[0]))[:k]
        return [Retrieved(self.rubrics[path], score, self.folder / path) for path, score in ranked]


def build_index(
    folder: str | Path,
    *,
    embed: Embed | None = None,
    model_name: str | None = None,
    index_dir: str | Path | None = None,
) -> RubricIndex:
    """Embed every rubric in the folder and save the index. A file that is not a valid
    rubric is left out and named in `skipped` with its error, not fatal to the rest."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(str(folder), problem="rubric library folder not found")
    where = Path(index_dir) if index_dir is not None else folder / INDEX_DIR
    embed_fn = embed or _default_embed
    rubrics: dict[str, Rubric] = {}
    skipped: dict[str, str] = {}
    rows: list[tuple[str, str]] = []
    texts: list[str] = []
    for path in _rubric_files(folder, where):
        relative = path.relative_to(folder).as_posix()
        try:
            rubric = load_rubric(path)
        except RubricError as error:
            skipped[relative] = str(error)
            continue
        rubrics[relative] = rubric
        sidecar = _sidecar(path)
        prompts = read_prompts(sidecar) if sidecar.is_file() else []
        for kind, text in [*(("prompt", p) for p in prompts), ("rubric", rubric_text(rubric))]:
            rows.append((relative, kind))
            texts.append(text)
    vectors = _unit(embed_fn(texts)) if texts else np.zeros((0, 0), dtype=np.float32)
    index = RubricIndex(
        folder=folder,
        model=_model_name(embed, model_name),
        rubrics=rubrics,
        rows=rows,
        vectors=vectors,
        embed=embed_fn,
        skipped=skipped,
    )
    _save(index, where)
    return index


def _save(index: RubricIndex, where: Path) -> None:
    where.mkdir(parents=True, exist_ok=True)
    manifest: dict[str, Any] = {
        "version": _VERSION,
        "model": index.model,
        "files": _fingerprint(index.folder, where),
        "rows": [{"file": path, "kind": kind} for path, kind in index.rows],
        "skipped": index.skipped,
    }
    # Write then rename, so a crash never leaves a manifest that disagrees with its vectors.
    with open(where / (VECTORS + ".tmp"), "wb") as handle:
        np.save(handle, index.vectors)
    (where / (MANIFEST + ".tmp")).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    os.replace(where / (VECTORS + ".tmp"), where / VECTORS)
    os.replace(where / (MANIFEST + ".tmp"), where / MANIFEST)


def load_index(
    folder: str | Path,
    *,
    embed: Embed | None = None,
    model_name: str | None = None,
    index_dir: str | Path | None = None,
    rebuild: bool = True,
) -> RubricIndex:
    """The saved index if it matches the library and model; otherwise rebuild it (or raise
    StaleIndexError when `rebuild` is False)."""
    folder = Path(folder)
    where = Path(index_dir) if index_dir is not None else folder / INDEX_DIR
    model = _model_name(embed, model_name)
    try:
        manifest = json.loads((where / MANIFEST).read_text(encoding="utf-8"))
        vectors = np.load(where / VECTORS)
        problem = None
        if manifest.get("version") != _VERSION:
            problem = "the index was written by another version"
        elif manifest.get("model") != model:
            problem = f"the index was built with {manifest.get('model')!r}, not {model!r}"
        elif manifest.get("files") != _fingerprint(folder, where):
            problem = "rubric files were added, removed or changed since the index was built"
        elif len(manifest["rows"]) != len(vectors):
            problem = "the manifest and the saved embeddings disagree"
    except (OSError, ValueError, KeyError) as error:
        problem = f"no readable index ({error})"
    if problem is not None:
        if not rebuild:
            raise StaleIndexError(f"{where}: {problem}")
        return build_index(folder, embed=embed, model_name=model_name, index_dir=index_dir)
    rubrics = {
        relative: load_rubric(folder / relative)
        for relative in manifest["files"]
        if relative not in manifest["skipped"]
    }
    return RubricIndex(
        folder=folder,
        model=model,
        rubrics=rubrics,
        rows=[(row["file"], row["kind"]) for row in manifest["rows"]],
        vectors=vectors.astype(np.float32),
        embed=embed or _default_embed,
        skipped=dict(manifest["skipped"]),
    )
