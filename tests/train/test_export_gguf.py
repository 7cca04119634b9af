"""Exporting a judge folder to GGUF with llama.cpp's own converter: the embedded Gemma model,
saved as the folder training leaves, converts, loads in llama.cpp and grades SummEval items
like the packaged GGUF does; and every way it can go wrong says what went wrong."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jurist.cli import app
from jurist.core.errors import BackendError, ConfigError
from jurist.train import ConverterUnavailable, export_gguf, locate_converter
from jurist.train.export import CONVERTER_ENV, CONVERTER_SCRIPT, unpack_converter

PRESETS = Path(__file__).resolve().parents[2] / "src/jurist/presets"
# q8_0 weights re-quantized from the packaged Q4_K_M model move the score distribution by
# about 0.04 at most (measured); a broken tokenizer or weight layout moves it far more.
MAX_PROBABILITY_SHIFT = 0.1


def model_folder(root: Path, architecture: str = "Gemma3ForCausalLM") -> Path:
    folder = root / "model"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architectures": [architecture]}))
    (folder / "model.safetensors").write_bytes(b"")
    return folder


def fake_converter(root: Path, body: str) -> Path:
    script = root / CONVERTER_SCRIPT
    script.write_text(body)
    return script


# ------------------------------------------------------------------ without a real converter


def test_an_explicit_converter_that_is_missing_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "llama.cpp"
    with pytest.raises(ConverterUnavailable, match=r"--converter: .*llama\.cpp: no convert_hf"):
        locate_converter(missing)


def test_the_environment_may_name_a_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = fake_converter(tmp_path, "")
    monkeypatch.setenv(CONVERTER_ENV, str(tmp_path))
    assert locate_converter() == script
    monkeypatch.setenv(CONVERTER_ENV, str(tmp_path / "elsewhere"))
    with pytest.raises(ConverterUnavailable, match=CONVERTER_ENV):
        locate_converter()


def test_a_failed_conversion_shows_its_last_lines_and_leaves_no_file(tmp_path: Path) -> None:
    lines = "\n".join(f"line {n}" for n in range(40))
    script = fake_converter(
        tmp_path,
        f"import sys\nsys.stderr.write({lines!r} + '\\nValueError: bad tensor\\n')\n"
        "open(sys.argv[sys.argv.index('--outfile') + 1], 'w').write('half')\nsys.exit(1)\n",
    )
    out = tmp_path / "out" / "judge.gguf"
    with pytest.raises(BackendError) as failed:
        export_gguf(model_folder(tmp_path), out, converter=script)
    message = str(failed.value)
    assert "failed" in message and "exit 1" in message
    assert "ValueError: bad tensor" in message and "line 39" in message
    assert "line 5\n" not in message  # only the tail
    assert list(out.parent.iterdir()) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"outtype": "q4_0"}, "unknown outtype 'q4_0'"),
        ({"out": "judge.bin"}, "must end in .gguf"),
        ({"model_dir": "nowhere"}, "not a model folder"),
    ],
)
def test_bad_arguments_are_refused_before_converting(
    tmp_path: Path, change: dict[str, str], problem: str
) -> None:
    script = fake_converter(tmp_path, "raise SystemExit('the converter must not run')\n")
    arguments: dict[str, str | Path] = {
        "model_dir": model_folder(tmp_path),
        "out": tmp_path / "judge.gguf",
        "outtype": "q8_0",
    }
    arguments.update({k: tmp_path / v if k != "outtype" else v for k, v in change.items()})
    with pytest.raises(ConfigError, match=problem):
        export_gguf(
            arguments["model_dir"],
            arguments["out"],
            outtype=str(arguments["outtype"]),
            converter=script,
        )


def test_a_folder_without_weights_is_refused(tmp_path: Path) -> None:
    folder = model_folder(tmp_path)
    (folder / "model.safetensors").unlink()
    with pytest.raises(ConfigError, match="no weights"):
        export_gguf(folder, tmp_path / "judge.gguf", converter=fake_converter(tmp_path, ""))


def test_only_the_converter_is_taken_from_the_source_distribution(tmp_path: Path) -> None:
    archive = tmp_path / "llama_cpp_python-9.9.9.tar.gz"
    files = {
        "llama_cpp_python-9.9.9/vendor/llama.cpp/convert_hf_to_gguf.py": b"print('convert')",
        "llama_cpp_python-9.9.9/vendor/llama.cpp/conversion/gemma.py": b"# models",
        "llama_cpp_python-9.9.9/vendor/llama.cpp/gguf-py/gguf/__init__.py": b"# gguf",
        "llama_cpp_python-9.9.9/vendor/llama.cpp/ggml/src/big.c": b"int x;",
        "llama_cpp_python-9.9.9/llama_cpp/llama.py": b"# bindings",
    }
    with tarfile.open(archive, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    into = tmp_path / "converter"
    unpack_converter(archive, into)
    kept = sorted(str(p.relative_to(into)) for p in into.rglob("*") if p.is_file())
    assert kept == ["conversion/gemma.py", CONVERTER_SCRIPT, "gguf-py/gguf/__init__.py"]
    assert (into / CONVERTER_SCRIPT).read_bytes() == b"print('convert')"

    empty = tmp_path / "empty.tar.gz"
    with tarfile.open(empty, "w:gz"):
        pass
    with pytest.raises(ConverterUnavailable, match=r"holds no vendor/llama\.cpp"):
        unpack_converter(empty, tmp_path / "none")


def test_cli_names_the_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "judge-dpo"
    result = CliRunner().invoke(
        app, ["train", "export-gguf", str(missing), "-o", str(tmp_path / "j.gguf")]
    )
    assert result.exit_code == ConfigError.exit_code
    assert "judge-dpo" in result.output and "not a model folder" in result.output


# ------------------------------------------------------------------ with llama.cpp's converter


@pytest.fixture(scope="module")
def converter() -> Path:
    """llama.cpp's converter; skipped only where it cannot be had (no cached copy and no
    way to download one). A converter named in the environment must work."""
    if os.environ.get(CONVERTER_ENV):
        return locate_converter()
    try:
        return locate_converter(log=lambda line: print(line, file=sys.stderr))
    except ConverterUnavailable as missing:
        pytest.skip(f"llama.cpp's GGUF converter cannot be obtained here: {missing}")


@pytest.fixture(scope="module")
def embedded_folder() -> Iterator[Path]:
    """The untrained embedded model saved the way `jurist train dpo` saves its result."""
    pytest.importorskip("transformers", reason="export needs the train extra")
    from jurist.whitebox import load_causal_lm

    with tempfile.TemporaryDirectory(prefix="jurist-export-") as scratch:
        folder = Path(scratch) / "judge"
        model, tokenizer = load_causal_lm("embedded")
        model.save_pretrained(folder, safe_serialization=True)
        tokenizer.save_pretrained(folder)
        del model
        yield folder


@pytest.mark.integration
def test_an_unsupported_architecture_is_named(converter: Path, tmp_path: Path) -> None:
    folder = model_folder(tmp_path, architecture="NoSuchModelForCausalLM")
    out = tmp_path / "judge.gguf"
    with pytest.raises(ConfigError, match="architecture NoSuchModelForCausalLM is not supported"):
        export_gguf(folder, out, converter=converter)
    assert not out.exists()


@pytest.mark.integration
@pytest.mark.slow
def test_the_exported_judge_grades_like_the_packaged_gguf(
    converter: Path, embedded_folder: Path, gemma_path: Path, shared_data: Path, tmp_path: Path
) -> None:
    from llama_cpp import Llama
    from llama_cpp.llama_chat_format import format_gemma

    from jurist import JudgeSetup, judge
    from jurist.backends.llamacpp import LlamaCppBackend
    from jurist.core.rubric import Rubric, load_rubric
    from jurist.datasets import load_summeval
    from jurist.judges import JudgeOptions, make_judge

    gguf = tmp_path / "judge.gguf"
    command = ["train", "export-gguf", str(embedded_folder), "-o", str(gguf)]
    result = CliRunner().invoke(app, [*command, "--converter", str(converter)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # the console wraps long lines
    assert "grade with --judge local:" in said and said.endswith("judge.gguf")
    assert gguf.stat().st_size > 100e6
    assert [p.name for p in tmp_path.iterdir()] == ["judge.gguf"]

    # Two of the four SummEval criteria keep the test short; the rubric text is the preset's.
    full = load_rubric(PRESETS / "summeval.yaml")
    rubric = Rubric(
        name=full.name,
        description=full.description,
        criteria=[c for c in full.criteria if c.id in ("coherence", "fluency")],
    )
    items = list(load_summeval(shared_data, limit=2))
    # The score comes first, so both models read its distribution after the same prompt;
    # the short rationale after it is generated and parsed through the new vocabulary.
    options = JudgeOptions(rationale="after", max_tokens=64, rationale_chars=40)

    packaged_vocab = Llama(str(gemma_path), vocab_only=True, verbose=False)
    exported_vocab = Llama(str(gguf), vocab_only=True, verbose=False)
    assert exported_vocab.metadata["general.architecture"] == "gemma3"
    for item in items:
        for call in make_judge("pointwise", rubric, options).calls(item):
            prompt = format_gemma(messages=list(call.request.messages)).prompt.encode()
            assert exported_vocab.tokenize(prompt, special=True) == packaged_vocab.tokenize(
                prompt, special=True
            )

    graded = {}
    for name, path in (("packaged", gemma_path), ("exported", gguf)):
        # One thread: spinning llama.cpp threads slow down many times over on cores that
        # other processes share.
        backend = LlamaCppBackend(model_path=path, n_threads=1)
        try:
            graded[name] = judge(
                rubric,
                items,
                JudgeSetup(options=options),
                store=tmp_path / f"{name}.sqlite",
                backend=backend,
            )
        finally:
            asyncio.run(backend.aclose())
    for judgments in graded.values():
        assert [j.status for j in judgments] == ["ok", "ok"]
        for judgment in judgments:
            assert set(judgment.criteria) == {c.id for c in rubric.criteria}
            assert all(score.status == "ok" for score in judgment.criteria.values())
    shifts = []
    for packaged, ours in zip(graded["packaged"], graded["exported"], strict=True):
        for criterion, score in packaged.criteria.items():
            before, after = score.distribution, ours.criteria[criterion].distribution
            assert before and after and set(before) == set(after)
            shifts.append(max(abs(before[k] - after[k]) for k in before))
    assert len(shifts) == 4
    assert max(shifts) < MAX_PROBABILITY_SHIFT, shifts
