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
