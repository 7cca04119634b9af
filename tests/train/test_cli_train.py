"""`jurist train`: option errors are one clear line and their exit code, before any model
is loaded."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from jurist.cli import app
from jurist.core.errors import ConfigError, InputError
from jurist.train import parse_label_fields

RUBRIC = Path(__file__).resolve().parents[2] / "src/jurist/presets/summeval.yaml"


def test_label_fields_parse_single_and_per_criterion() -> None:
    assert parse_label_fields(["score"]) == {"*": "score"}
    assert parse_label_fields(["coherence=coh", "fluency=flu"]) == {
        "coherence": "coh",
        "fluency": "flu",
    }
    with pytest.raises(ConfigError, match="CRITERION=NAME"):
        parse_label_fields(["coherence="])


def test_pairs_without_data_or_preset_is_a_config_error() -> None:
    result = CliRunner().invoke(app, ["train", "pairs", str(RUBRIC)])
    assert result.exit_code == ConfigError.exit_code
    assert "give DATA" in result.output and "--preset" in result.output


def test_dpo_on_a_missing_pairs_file_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.jsonl"
    result = CliRunner().invoke(app, ["train", "dpo", str(missing), "-o", str(tmp_path / "m")])
    assert result.exit_code == InputError.exit_code
    assert "nope.jsonl" in result.output and "file not found" in result.output


# A judge that is never reached: the refusals below come before any call.
UNREACHED_JUDGE = "openai:http://127.0.0.1:9/v1#judge"


def test_pairs_on_empty_data_is_refused_with_exit_2(tmp_path: Path) -> None:
    """No items is bad input (exit 2, naming the file), not an empty pairs file."""
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    out = tmp_path / "pairs.jsonl"
    args = ["train", "pairs", str(RUBRIC), str(empty), "--judge", UNREACHED_JUDGE]
    result = CliRunner().invoke(app, [*args, "--label-field", "coherence", "-o", str(out)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "empty.jsonl" in lines[0] and "no items" in lines[0], lines
    assert not out.exists()


def test_pairs_with_an_unknown_criterion_is_refused_with_exit_2(tmp_path: Path) -> None:
    """`--label-field CRITERION=NAME` for a criterion the rubric lacks is refused by name."""
    data = tmp_path / "items.jsonl"
    data.write_text('{"input": "Q?", "response": "A.", "coh": 3}\n')
    out = tmp_path / "pairs.jsonl"
    args = ["train", "pairs", str(RUBRIC), str(data), "--judge", UNREACHED_JUDGE]
    result = CliRunner().invoke(app, [*args, "--label-field", "cohesion=coh", "-o", str(out)])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "'cohesion'" in lines[0] and "coherence" in lines[0], lines
    assert not out.exists()
