"""No credential given to a command reaches what it prints.

Every command that takes a judge is given one whose URL holds a password (`user:pass@`)
and a key (`?api-key=`), with the API key variable (`--api-key-env` where the command has
it) set to a secret too, and is made to fail: once before any call (a judge kind that does
not exist) and, where calls are made, against a closed port on 127.0.0.1. Neither the
password nor a key may appear on stdout or stderr. (`calibrate` takes an hf model folder,
not a judge URL, and `meta`, `audit`, `compare`, `view` and `report` take no judge.)
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jurist.cli import app

PASSWORD = "hunter2-pass-word"
ENV_KEY = "sk-envsecretvalue0123456789"
QUERY_KEY = "query-secret-key-4242"
SECRETS = (PASSWORD, ENV_KEY, QUERY_KEY)
RUBRIC = "name: r\ncriteria:\n  - id: ok\n    question: Is it ok?\n    scale: {1: bad, 2: poor, 3: fair, 4: good, 5: great}\n"


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def judge_url(kind: str, port: int) -> str:
    return f"{kind}:http://alice:{PASSWORD}@127.0.0.1:{port}/v1?api-key={QUERY_KEY}#judge"


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("JURIST_TEST_KEY", ENV_KEY)
    monkeypatch.setenv("OPENAI_API_KEY", ENV_KEY)  # what commands without --api-key-env read
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rubric.yaml").write_text(RUBRIC)
    row = {"id": "a", "input": "Q?", "response": "A.", "response_b": "B.", "ok": 3}
    (tmp_path / "items.jsonl").write_text(json.dumps(row) + "\n")
    return tmp_path


KEY_ENV = ["--api-key-env", "JURIST_TEST_KEY"]
STORE = ["--store", "s.sqlite"]
# Each command that takes a judge, and whether it takes the call flags (--api-key-env,
# --max-attempts): those are also run against a closed port.
COMMANDS: dict[str, tuple[list[str], bool]] = {
    "grade": (["grade", "rubric.yaml", "items.jsonl", "-o", "out", "--no-progress"], True),
    "rubric generate": (["rubric", "generate", "items.jsonl", "-o", "generated"], True),
    "rubric refine": (["rubric", "refine", "rubric.yaml", "items.jsonl", "-o", "r.yaml"], True),
    "injection": (["injection", "rubric.yaml", "items.jsonl", "--attack", "judge_note"], True),
    "train pairs": (["train", "pairs", "rubric.yaml", "items.jsonl", "--label-field", "ok"], False),
}


def run(arguments: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, arguments)
    assert not isinstance(result.exception, AssertionError), result.exception
    return result.exit_code, result.stdout + result.stderr


def assert_no_secret(printed: str) -> None:
    leaked = [secret for secret in SECRETS if secret in printed]
    assert not leaked, printed


@pytest.mark.parametrize("command", COMMANDS)
def test_a_refused_judge_spec_is_printed_without_credentials(files: Path, command: str) -> None:
    arguments, call_flags = COMMANDS[command]
    extra = KEY_ENV if call_flags else []
    code, printed = run([*arguments, "--judge", judge_url("nosuchkind", 1), *extra, *STORE])
    assert code == 2, printed
    assert "unknown judge" in printed
    assert_no_secret(printed)


@pytest.mark.parametrize("command", [name for name, (_, flags) in COMMANDS.items() if flags])
def test_a_judge_that_cannot_be_reached_fails_without_credentials(
    files: Path, command: str
) -> None:
    arguments, _ = COMMANDS[command]
    flags = [*KEY_ENV, "--max-attempts", "1", *STORE]
    code, printed = run([*arguments, "--judge", judge_url("openai", closed_port()), *flags])
    assert printed.strip(), "the command said nothing"
    assert_no_secret(printed)
    for written in files.rglob("*"):
        if written.is_file() and written.suffix in (".json", ".jsonl", ".yaml", ".sqlite"):
            assert_no_secret(written.read_bytes().decode("utf-8", "replace"))
    if command in ("grade", "rubric generate"):  # refine and injection report what failed
        assert code != 0, printed
