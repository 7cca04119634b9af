"""`jurist grade --help` stays readable in a narrow terminal."""

import os
import subprocess
import sys


def help_text(columns: int) -> str:
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "dumb"}
    result = subprocess.run(
        [sys.executable, "-m", "jurist", "grade", "--help"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_narrow_terminal_gets_full_width_option_text():
    text = help_text(50)
    lines = text.splitlines()
    judge = next(i for i, line in enumerate(lines) if line.strip().startswith("--judge"))
    described = lines[judge + 1]
    # the description starts on its own line at the left, not in a 20-column box
    assert described.startswith("    ") and len(described.strip()) > 30, described
    assert max(len(line) for line in lines) <= 50
    assert "╭" not in text


def test_wide_terminal_keeps_boxed_help():
    assert "╭" in help_text(120)
