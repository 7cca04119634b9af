"""What a resumed run may change and what it refuses, an unknown run, a results file cut
by a full disk, a limit that stops reading, and inputs named like the run's own outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from jurist.cli import app
from jurist.core.errors import ConfigError
from jurist.grading import FLAT_NAMES, RESUME_HONOURED, RESUME_REFUSED, grade_job
from jurist.store import Store
from scripted_server import ScriptedServer

RUBRIC_YAML = """
name: r
criteria:
  - {id: q, question: "Good?", scale: {1: bad, 2: ok, 3: good}}
"""
ANSWER = json.dumps({"rationale": "fine", "score": 2})


@pytest.fixture
def rubric(tmp_path) -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(RUBRIC_YAML, encoding="utf-8")
    return path


@pytest.fixture
def server():
    with ScriptedServer(lambda prompt, n: ("ok", ANSWER)) as running:
        yield running


def rows(n: int) -> list[dict]:
    return [{"id": f"i{k}", "input": f"question {k}", "response": f"answer {k}"} for k in range(n)]


def write_jsonl(path: Path, records: list) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def options(rubric: Path, data: Path, out: Path, server: ScriptedServer, **extra) -> dict:
    return {
        "rubric_path": str(rubric),
        "data_path": str(data),
        "judge": f"openai:{server.url}#m",
        "output_dir": str(out),
        "fields": {"input": "input", "response": "response", "id": "id"},
        "logprobs": False,
        **extra,
    }


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


# ------------------------------------------------------------------ 2: resume never ignores


def test_every_option_is_either_changeable_or_refused_on_resume():
    assert RESUME_HONOURED.isdisjoint(RESUME_REFUSED)
    assert RESUME_HONOURED | RESUME_REFUSED == FLAT_NAMES


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("limit", 1),
        ("samples", 3),
        ("defend_injection", True),
        ("max_tokens", 50),
        ("rationale", "none"),
    ],
)
def test_resume_refuses_an_option_that_changes_what_is_asked(
    tmp_path, rubric, server, store, name, value
):
    data = write_jsonl(tmp_path / "d.jsonl", rows(3))
    first = grade_job(options(rubric, data, tmp_path / "o", server), store, run_id="kept")
    calls = server.total
    with pytest.raises(ConfigError) as refused:
        grade_job({name: value}, store, resume=first.run_id)
    message = str(refused.value)
    flag = "--" + name.replace("_", "-")
    assert flag in message and "run kept" in message and "start a new run" in message
    assert server.total == calls


def test_resume_refusal_from_the_command_line_is_one_line(tmp_path, rubric, server):
    data = write_jsonl(tmp_path / "d.jsonl", rows(2))
    store = str(tmp_path / "s.sqlite")
    with Store(store) as db:
        grade_job(options(rubric, data, tmp_path / "o", server), db, run_id="kept")
    args = ["grade", "--resume", "kept", "--limit", "1", "--store", store, "--no-progress"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "--limit" in result.output and "kept" in result.output
    assert len(result.output.strip().splitlines()) == 1


# ------------------------------------------------------------------ 10: unknown run id


def test_resume_of_an_unknown_run_is_a_one_line_error(tmp_path):
    store = str(tmp_path / "s.sqlite")
    args = ["grade", "--resume", "no-such-run", "--store", store, "--no-progress"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "no-such-run" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)


# ------------------------------------------------------------------ 5: a cut results line


def test_resume_repairs_a_results_file_cut_by_a_full_disk(tmp_path, rubric, server, store):
    data = write_jsonl(tmp_path / "d.jsonl", rows(5))
    out = tmp_path / "o"
    first = grade_job(options(rubric, data, out, server, limit=3), store, run_id="cut")
    results = out / "results.jsonl"
    text = results.read_text(encoding="utf-8")
    # A full disk cut the last line mid-JSON; the run ended failed.
    results.write_text(text + text.splitlines()[0][:17], encoding="utf-8")
    store.set_run_status(first.run_id, "failed")
    resumed = grade_job({}, store, resume=first.run_id)
    ids = [row["item_id"] for row in lines(Path(resumed.results_path))]  # every line parses
    assert sorted(ids) == ["i0", "i1", "i2"]  # each item once
    assert resumed.summary.items == 3


# ------------------------------------------------------------------ 6: --limit reads no further


def _bad_after(tmp_path: Path, kind: str, n: int) -> Path:
    """`n` good rows, then a bad one."""
    good = rows(n)
    if kind == "jsonl":
        path = write_jsonl(tmp_path / "d.jsonl", good)
        with path.open("a", encoding="utf-8") as handle:
            handle.write('{"id": "bad", "input": \n')
        return path
    if kind == "jsonl-bytes":
        path = write_jsonl(tmp_path / "d.jsonl", good)
        with path.open("ab") as handle:
            handle.write(b'{"id": "bad", "input": "\xff\xfe", "response": "r"}\n')
        return path
    if kind == "csv":
        path = tmp_path / "d.csv"
        body = "".join(f"{r['id']},{r['input']},{r['response']}\n" for r in good)
        path.write_text("id,input,response\n" + body + "bad,q,r,extra\n", encoding="utf-8")
        return path
    path = tmp_path / "d.parquet"
    columns = {key: [r[key] for r in good] + [None] for key in ("id", "input", "response")}
    pq.write_table(pa.table(columns), path)
    return path


@pytest.mark.parametrize("kind", ["jsonl", "jsonl-bytes", "csv", "parquet"])
def test_limit_never_reads_the_bad_row_after_it(tmp_path, rubric, server, store, kind):
    data = _bad_after(tmp_path, kind, 3)
    result = grade_job(options(rubric, data, tmp_path / "o", server, limit=3), store)
    assert result.summary.items == 3 and result.summary.ok == 3
    resumed = grade_job({}, store, resume=result.run_id)  # the fingerprint reads no row either
    assert resumed.summary.items == 3


# ------------------------------------------------------------------ 7: inputs named like outputs


@pytest.mark.parametrize("name", ["results.jsonl.tmp", "summary.json.tmp", "run.json.tmp"])
def test_data_named_like_a_temporary_output_is_refused_and_kept(
    tmp_path, rubric, server, store, name
):
    out = tmp_path / "out"
    out.mkdir()
    data = write_jsonl(out / name, rows(2))
    before = data.read_bytes()
    with pytest.raises(ConfigError, match=name.replace(".", r"\.")) as refused:
        grade_job(options(rubric, data, out, server), store)
    assert "output" in str(refused.value)
    assert data.read_bytes() == before
    assert not (out / "results.jsonl").exists()


def test_a_rubric_at_the_summary_path_is_refused_and_kept(tmp_path, server, store):
    out = tmp_path / "out"
    out.mkdir()
    rubric = out / "summary.json"
    rubric.write_text(
        json.dumps(
            {"name": "r", "criteria": [{"id": "q", "question": "Good?", "scale": {1: "a", 2: "b"}}]}
        ),
        encoding="utf-8",
    )
    before = rubric.read_bytes()
    data = write_jsonl(tmp_path / "d.jsonl", rows(2))
    with pytest.raises(ConfigError, match=r"summary\.json"):
        grade_job(options(rubric, data, out, server), store)
    assert rubric.read_bytes() == before
    assert not (out / "results.jsonl").exists()
