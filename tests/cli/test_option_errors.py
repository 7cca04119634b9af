"""Every command refuses a bad option value the same way: one `error:` line on stderr that
names the option, the value and what is accepted, and exit code 2 (no boxed usage text).
Non-finite numbers (`inf`, `nan`) are refused wherever a number is taken."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from jurist.cli import app

# (arguments before the bad option, option, bad value, words the line must hold)
CASES: list[tuple[list[str], str, str, str]] = [
    # `jurist grade`: the options of issue 23 item 12, then its other numbers and choices.
    (["grade", "r.yaml"], "--format", "xml", "table, json"),
    (["grade", "r.yaml"], "--concurrency", "0", ">= 1"),
    (["grade", "r.yaml"], "--samples", "0", ">= 1"),
    (["grade", "r.yaml"], "--rationale", "maybe", "before, after, none"),
    (["grade", "r.yaml"], "--layout", "sideways", "rubric-first, item-first"),
    (["grade", "r.yaml"], "--engine", "spark", "asyncio, ray"),
    (["grade", "r.yaml"], "--seed", "abc", "an integer"),
    (["grade", "r.yaml"], "--workers", "0", ">= 1"),
    (["grade", "r.yaml"], "--max-attempts", "0", ">= 1"),
    (["grade", "r.yaml"], "--parse-retries", "-1", ">= 0"),
    (["grade", "r.yaml"], "--timeout", "inf", "finite"),
    (["grade", "r.yaml"], "--timeout", "nan", "finite"),
    (["grade", "r.yaml"], "--timeout", "-inf", "finite"),
    (["grade", "r.yaml"], "--temperature", "nan", "finite"),
    (["grade", "r.yaml"], "--sample-temperature", "inf", "finite"),
    (["grade", "r.yaml"], "--rpm", "inf", "finite"),
    (["grade", "r.yaml"], "--tpm", "nan", "finite"),
    (["grade", "r.yaml"], "--max-tokens", "many", "an integer"),
    (["grade", "r.yaml"], "--limit", "1.5", "an integer"),
    (["grade", "r.yaml"], "--orders", "0", ">= 1"),
    (["grade", "r.yaml"], "--mode", "grid", "pointwise"),
    (["grade", "r.yaml"], "--aggregate", "elo", "borda, bt"),
    # `jurist injection`
    (["injection", "r.yaml"], "--concurrency", "0", ">= 1"),
    (["injection", "r.yaml"], "--timeout", "nan", "finite"),
    (["injection", "r.yaml"], "--max-attempts", "0", ">= 1"),
    (["injection", "r.yaml"], "--limit", "-1", ">= 0"),
    (["injection", "r.yaml"], "--mode", "grid", "pointwise, pairwise"),
    (["injection", "r.yaml"], "--format", "xml", "table, json"),
    # `jurist rubric ...`
    (["rubric", "lint", "r.yaml"], "--format", "xml", "table, json"),
    (["rubric", "retrieve", "q", "--library", "lib"], "-k", "0", ">= 1"),
    (["rubric", "generate"], "--temperature", "inf", "finite"),
    (["rubric", "generate"], "--seed", "abc", "an integer"),
    (["rubric", "generate"], "--max-tokens", "0", ">= 1"),
    (["rubric", "generate"], "--similarity", "nan", "finite"),
    (["rubric", "generate"], "--max-parts", "0", ">= 1"),
    (["rubric", "generate"], "--tries", "0", ">= 1"),
    (["rubric", "generate"], "--retrieve", "-1", ">= 0"),
    (["rubric", "generate"], "--style", "essay", "likert, checklist"),
    (["rubric", "generate"], "--concurrency", "0", ">= 1"),
    (["rubric", "refine", "r.yaml"], "--depth", "-1", ">= 0"),
    (["rubric", "refine", "r.yaml"], "--samples", "-1", ">= 0"),
    (["rubric", "refine", "r.yaml"], "--min-std", "nan", "finite"),
    (["rubric", "refine", "r.yaml"], "--temperature", "inf", "finite"),
    (["rubric", "refine", "r.yaml"], "--timeout", "inf", "finite"),
    # `jurist meta`, `audit`, `compare`
    (["meta", "out"], "--resamples", "10", ">= 100"),
    (["meta", "out"], "--format", "xml", "table, json"),
    (["meta", "out"], "--plot-format", "gif", "png, svg"),
    (["audit", "out"], "--alpha", "0.9", "0.0001"),
    (["audit", "out"], "--alpha", "nan", "finite"),
    (["compare", "out"], "--score", "best", "parsed, expected"),
    # `jurist view`, `report`
    (["view"], "--port", "70000", "65535"),
    (["report", "out"], "--sample", "-1", ">= 0"),
    (["report", "out"], "--seed", "abc", "an integer"),
    # `jurist train ...`
    (["train", "pairs", "r.yaml"], "--samples", "1", ">= 2"),
    (["train", "pairs", "r.yaml"], "--temperature", "nan", "finite"),
    (["train", "pairs", "r.yaml"], "--max-tokens", "8", ">= 16"),
    (["train", "pairs", "r.yaml"], "--min-margin", "inf", "finite"),
    (["train", "pairs", "r.yaml"], "--mode", "grid", "pointwise, pairwise"),
    (["train", "dpo", "p.jsonl"], "--beta", "inf", "finite"),
    (["train", "dpo", "p.jsonl"], "--learning-rate", "nan", "finite"),
    (["train", "dpo", "p.jsonl"], "--batch-size", "0", ">= 1"),
    (["train", "dpo", "p.jsonl"], "--rank", "0", ">= 1"),
    (["train", "dpo", "p.jsonl"], "--device", "tpu", "auto, cpu, cuda"),
    (["train", "sft", "p.jsonl"], "--epochs", "inf", "finite"),
    (["train", "loop", "r.yaml"], "--holdout", "nan", "finite"),
    (["train", "loop", "r.yaml"], "--iterations", "0", ">= 1"),
    (["train", "export-gguf", "f", "-o", "x.gguf"], "--outtype", "q4", "q8_0"),
    # `jurist calibrate ...`
    (["calibrate", "lager", "out"], "--folds", "1", ">= 2"),
]


def invoke(arguments: list[str]) -> tuple[int, list[str], str]:
    result = CliRunner().invoke(app, arguments)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    return result.exit_code, lines, result.stdout


@pytest.mark.parametrize(
    ("before", "option", "value", "accepted"),
    CASES,
    ids=[f"{' '.join(before[:2])} {option} {value}" for before, option, value, _ in CASES],
)
def test_bad_option_value_is_one_error_line_and_exit_2(
    before: list[str], option: str, value: str, accepted: str
) -> None:
    code, lines, stdout = invoke([*before, option, value])
    assert code == 2, lines
    assert len(lines) == 1, lines
    (line,) = lines
    assert line.startswith(f"error: {option}: value {value!r}"), line
    assert accepted in line, line
    assert "╭" not in line and "Usage:" not in line and not stdout.strip()


@pytest.mark.parametrize(
    "arguments",
    [
        ["grade", "r.yaml", "--no-such-option"],
        ["--no-such-option"],
        ["rubric", "retrieve", "q"],  # --library is required
        ["train", "pairs"],  # RUBRIC is required
        ["no-such-command"],
    ],
)
def test_other_usage_errors_are_one_line_and_exit_2(arguments: list[str]) -> None:
    code, lines, _ = invoke(arguments)
    assert code == 2, lines
    assert len(lines) == 1 and lines[0].startswith("error: "), lines


def test_an_equals_sign_value_is_named_too() -> None:
    code, lines, _ = invoke(["grade", "r.yaml", "--timeout=nan"])
    assert code == 2 and lines == ["error: --timeout: value 'nan' is not a finite number"]


def test_help_and_a_bare_group_still_print_help() -> None:
    result = CliRunner().invoke(app, ["rubric"])
    assert "validate" in result.output and "error:" not in result.output
    result = CliRunner().invoke(app, ["grade", "--help"])
    assert result.exit_code == 0 and "--concurrency" in result.output
