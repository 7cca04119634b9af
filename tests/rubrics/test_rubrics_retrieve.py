import json
import zlib
from pathlib import Path

import numpy as np
import pytest

from jurist.core.rubric import Criterion, Rubric, save_rubric
from jurist.rubrics import embeddings
from jurist.rubrics.lint import content_tokens
from jurist.rubrics.retrieve import (
    INDEX_DIR,
    StaleIndexError,
    build_index,
    load_index,
    read_prompts,
)

needs_model = pytest.mark.skipif(
    not embeddings.available(),
    reason=f"the offline embedding model is not installed: {embeddings.INSTALL_HINT}",
)


class BagEmbed:
    """Deterministic hashed bag of words; counts its calls."""

    model_name = "bag-of-words"

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        vectors = np.zeros((len(texts), 512))
        for row, text in enumerate(texts):
            for token in content_tokens(text):
                vectors[row, zlib.crc32(token.encode()) % 512] += 1
        return vectors


def rubric(name: str, question: str) -> Rubric:
    scale = {1: "Does not do this at all", 2: "Does this partly", 3: "Does this fully and well"}
    return Rubric(name=name, criteria=[Criterion(id="main", question=question, scale=scale)])


def library(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    save_rubric(
        rubric("code-review", "Does the review find the bugs in the code?"), folder / "code.yaml"
    )
    (folder / "code.prompts.txt").write_text(
        "Review this Python function for bugs.\n---\nFind the bug in my JavaScript loop:\n"
        "for (let i = 0; i <= n; i++) {}\n",
        encoding="utf-8",
    )
    save_rubric(
        rubric("recipe", "Does the recipe list quantities for every ingredient?"),
        folder / "recipe.yaml",
    )
    (folder / "recipe.prompts.txt").write_text(
        "Give me a recipe for banana bread.\n", encoding="utf-8"
    )
    (folder / "medical").mkdir(exist_ok=True)
    save_rubric(
        rubric("dosage", "Does the answer state a safe paracetamol dose for adults?"),
        folder / "medical" / "dosage.yml",
    )
    return folder


def test_read_prompts_splits_on_separator_lines(tmp_path: Path):
    path = tmp_path / "x.prompts.txt"
    path.write_text("first\nline two\n---\n\n---\nsecond --- not a separator\n", encoding="utf-8")
    assert read_prompts(path) == ["first\nline two", "second --- not a separator"]


def test_build_and_retrieve_with_prompts_and_rubric_text(tmp_path: Path):
    embed = BagEmbed()
    index = build_index(library(tmp_path / "lib"), embed=embed)
    [(found, score, path)] = index.retrieve("Please review this Python function for bugs", k=1)
    assert found.name == "code-review" and path == tmp_path / "lib" / "code.yaml"
    assert 0 < score <= 1
    # A rubric without prompts is found by its own text.
    top = index.retrieve("safe paracetamol dose for adults", k=2)
    assert top[0].rubric.name == "dosage" and top[0].path.name == "dosage.yml"
    assert len(index.retrieve("anything", k=10)) == 3
    kinds = [kind for _, kind in index.rows]
    assert kinds.count("prompt") == 3 and kinds.count("rubric") == 3


def test_index_files_are_written_and_reused(tmp_path: Path):
    folder = library(tmp_path / "lib")
    embed = BagEmbed()
    build_index(folder, embed=embed)
    manifest = json.loads((folder / INDEX_DIR / "manifest.json").read_text())
    vectors = np.load(folder / INDEX_DIR / "embeddings.npy")
    assert manifest["model"] == "bag-of-words" and len(manifest["rows"]) == len(vectors)
    assert set(manifest["files"]) == {"code.yaml", "recipe.yaml", "medical/dosage.yml"}
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)

    calls = embed.calls
    loaded = load_index(folder, embed=embed)
    assert embed.calls == calls  # fresh index: nothing re-embedded
    assert loaded.retrieve("banana bread recipe", k=1)[0].rubric.name == "recipe"


def test_changed_library_makes_the_index_stale(tmp_path: Path):
    folder = library(tmp_path / "lib")
    embed = BagEmbed()
    build_index(folder, embed=embed)
    (folder / "recipe.prompts.txt").write_text("How do I bake sourdough?\n", encoding="utf-8")
    with pytest.raises(StaleIndexError, match="changed"):
        load_index(folder, embed=embed, rebuild=False)
    rebuilt = load_index(folder, embed=embed)
    assert rebuilt.retrieve("bake sourdough", k=1)[0].rubric.name == "recipe"
    load_index(folder, embed=embed, rebuild=False)  # fresh again


def test_other_model_makes_the_index_stale(tmp_path: Path):
    folder = library(tmp_path / "lib")
    build_index(folder, embed=BagEmbed())
    with pytest.raises(StaleIndexError, match="built with 'bag-of-words'"):
        load_index(folder, embed=BagEmbed(), model_name="other", rebuild=False)


def test_invalid_rubric_files_are_skipped_with_their_error(tmp_path: Path):
    folder = library(tmp_path / "lib")
    (folder / "broken.yaml").write_text("name: broken\n", encoding="utf-8")
    index = build_index(folder, embed=BagEmbed(), index_dir=tmp_path / "elsewhere")
    assert (
        "broken.yaml" in index.skipped and "at least one criterion" in index.skipped["broken.yaml"]
    )
    assert (tmp_path / "elsewhere" / "manifest.json").is_file()
    assert not (folder / INDEX_DIR).exists()
    reloaded = load_index(folder, embed=BagEmbed(), index_dir=tmp_path / "elsewhere", rebuild=False)
    assert reloaded.skipped == index.skipped and len(reloaded.rubrics) == 3


def test_empty_library(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    assert build_index(tmp_path / "empty", embed=BagEmbed()).retrieve("anything") == []


@pytest.mark.embeddings
@needs_model
def test_round_trip_with_the_real_model(tmp_path: Path):
    folder = library(tmp_path / "lib")
    built = build_index(folder)
    assert built.model == embeddings.MODEL_NAME and built.vectors.shape[1] == 384
    loaded = load_index(folder, rebuild=False)
    for query, name in [
        ("Can you spot what's wrong in this C++ function?", "code-review"),
        ("How much flour and sugar do I need for a cake?", "recipe"),
        ("What is the maximum daily amount of acetaminophen?", "dosage"),
    ]:
        [best, *_] = loaded.retrieve(query, k=3)
        assert best.rubric.name == name, (
            query,
            [(r.rubric.name, r.score) for r in loaded.retrieve(query, 3)],
        )
