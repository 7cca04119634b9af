"""Credentials are masked by where they stand (URL user info, secret-named query parameters
and headers, registered values and their base64 forms), never by the shape of ordinary text;
a judge URL's other query parameters are kept, sent on every request and part of the cache
key. Servers here are real, on loopback."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

import jurist
from batch_server import BatchServer
from jurist.backends import CallPolicy, RetryPolicy, identity_of, make_backend
from jurist.backends.openai import OpenAIBackend
from jurist.backends.openai_batch import OpenAIBatchBackend
from jurist.core.answers import LikertAnswer
from jurist.core.completion import Request
from jurist.core.rubric import rubric_from_dict
from jurist.core.secrets import normalise_url, redact_urls, register_secret, scrub
from jurist.grading import grade_job
from jurist.judges.answering import SamplingOptions
from jurist.session import JudgeSetup
from jurist.store import Store
from scripted_server import LoopbackServer, chat_response, http

GOOD = json.dumps({"rationale": "fine", "score": 3})
RUBRIC_YAML = """
name: r
criteria:
  - id: q
    question: Is it good?
    scale: {1: bad, 2: poor, 3: fair, 4: good, 5: great}
"""
RUBRIC = rubric_from_dict(
    {"name": "r", "criteria": [{"id": "q", "question": "Good?", "scale": {1: "a", 2: "b", 3: "c"}}]}
)
ITEMS = [{"id": f"i{k}", "input": f"question number {k}", "response": "answer"} for k in range(3)]
RUN = JudgeSetup(
    calls=CallPolicy(concurrency=4, retry=RetryPolicy(max_attempts=1, base_delay=0)),
    sampling=SamplingOptions(parse_retries=0),
)


class RecordingServer(LoopbackServer):
    """Answers chat completions with `answer(headers, prompt)` (None: HTTP 500), the
    completions endpoint with 404, and records each request's target and headers."""

    def __init__(self, answer=lambda headers, prompt: GOOD) -> None:
        self._answer = answer
        self.targets: list[str] = []
        self.headers: list[dict[str, str]] = []
        super().__init__()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request_line, *lines = head.split("\r\n")
            target = request_line.split(" ")[1]
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in lines if line)
            }
            body = json.loads(await reader.readexactly(int(headers.get("content-length", "0"))))
            self.targets.append(target)
            self.headers.append(headers)
            if urlsplit(target).path == "/v1/chat/completions":
                answer = self._answer(headers, body["messages"][-1]["content"])
                if answer is None:
                    writer.write(http("500 Internal Server Error", b'{"error": {}}'))
                else:
                    writer.write(http("200 OK", chat_response(answer)))
            else:
                writer.write(http("404 Not Found", b'{"error": {"message": "no route"}}'))
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def query_of(target: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(target).query)


def options(tmp_path: Path, data: Path, judge: str, out: str = "out") -> dict:
    rubric = tmp_path / "r.yaml"
    rubric.write_text(RUBRIC_YAML, encoding="utf-8")
    return {
        "rubric_path": str(rubric),
        "data_path": str(data),
        "judge": judge,
        "output_dir": str(tmp_path / out),
        "fields": {"input": "input", "response": "response", "id": "id"},
        "logprobs": False,
        "max_attempts": 1,
    }


def write_items(path: Path, n: int = 3) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"id": f"i{k}", "input": f"question {k}", "response": f"answer {k}"} for k in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def everything_written(store: Store, *paths: Path) -> str:
    """The store file (and its WAL), and every file under `paths`, as text."""
    files = [store.path, *store.path.parent.glob("*-wal")]
    for path in paths:
        files += [p for p in path.rglob("*") if p.is_file()] if path.is_dir() else [path]
    return "".join(p.read_bytes().decode("utf-8", "replace") for p in files)


# --------------------------------------------------------------- scrubbing by position


@pytest.mark.parametrize(
    "text",
    [
        "/data/hf_data/x.jsonl",
        "/home/u/hf_data_exports_2024/items.jsonl",
        "/srv/sk-learn-preprocessing-benchmarks/items.jsonl",
        "we used sk-learn and sklearn_pipeline_helpers here",
        "the task_force_alpha_omega_group met",
        "ghp_repository_mirror_notes.md and AIza_not_a_key_at_all.txt",
        '{"api_key_env": "OPENAI_API_KEY", "max_tokens": 512, "sort_key": "name_of_item"}',
        "https://example.com/v1?api-version=2024-06-01&deployment=gpt4",
    ],
)
def test_ordinary_text_and_paths_survive_the_scrubber(text):
    assert scrub(text) == text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer sk-proj-Abcdefghijklmnop123456", "Abcdefghijklmnop123456"),
        ("sent Bearer sk-Abcdefghijklmnop123456 to it", "Abcdefghijklmnop123456"),
        ("api_key=gsk_Abcdefghijklmnop123456", "Abcdefghijklmnop123456"),
        ('{"api_key": "hf_Abcdefghijklmnop123456"}', "Abcdefghijklmnop123456"),
        ("OPENAI_API_KEY=xai-Abcdefghijklmnop123456 jurist grade", "Abcdefghijklmnop123456"),
        ("authorization: Basic YWxpY2U6aHVudGVyMg==", "YWxpY2U6aHVudGVyMg"),
        ('"x-api-key": "opaque-value-42"', "opaque-value-42"),
        ("GET /v1/models?api-key=opaque-value-42&api-version=1", "opaque-value-42"),
        ("https://h/v1?sig=Zm9vYmFyYmF6cXV4&se=2030", "Zm9vYmFyYmF6cXV4"),
        ("https://alice:opaque-value-42@h/v1", "opaque-value-42"),
    ],
)
def test_credentials_in_credential_positions_are_masked(text, secret):
    assert secret not in scrub(text)


def test_a_registered_value_is_masked_in_its_base64_forms_too():
    register_secret("carol:registered-pass-77")
    basic = base64.b64encode(b"carol:registered-pass-77").decode()
    assert basic not in scrub(f"the server said: your header was Basic {basic} ok")
    assert basic.rstrip("=") not in scrub(f"echo {basic.rstrip('=')}")


def test_a_password_in_a_url_is_registered_with_its_basic_auth_form():
    redacted = normalise_url("http://dave:pa%40ss-word-99@127.0.0.1:9/v1")
    assert "pa%40ss" not in redacted and "dave" not in redacted
    basic = base64.b64encode(b"dave:pa@ss-word-99").decode()
    assert basic not in scrub(f"Your header: Basic{basic}")  # glued, as no position says


def test_secret_query_parameters_are_masked_and_others_kept():
    url = "https://h.example/v1?api-version=2024-06-01&api-key=s3cr3t-q-value"
    shown = redact_urls(url)
    assert "s3cr3t-q-value" not in shown and "api-version=2024-06-01" in shown
    assert "s3cr3t-q-value" not in normalise_url(url)
    assert "s3cr3t-q-value" not in scrub("error at s3cr3t-q-value")  # registered


# --------------------------------------------------------------- query strings


def test_the_query_string_reaches_the_server_on_every_endpoint(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    request = Request(
        messages=({"role": "user", "content": "judge"},),
        json_schema=LikertAnswer(points=(1, 2, 3)).schema(50, rationale="none"),
        score_slots=(LikertAnswer(points=(1, 2, 3)).slot(),),
    )

    async def ask(backend) -> None:
        await backend.complete(request)
        await backend.aclose()

    with RecordingServer(lambda headers, prompt: '{"score": 2}') as server:
        # the lean plain-http client, then the SDK's client (credentials in the URL)
        spec = f"openai:{server.url}?api-version=2024-06-01&chat_template=gemma#m"
        asyncio.run(ask(make_backend(spec, logprobs=True)))
        with_user = server.url.replace("http://", "http://u:pw-long-enough@")
        asyncio.run(ask(make_backend(f"openai:{with_user}?api-version=2024-06-01#m")))
    paths = [urlsplit(t).path for t in server.targets]
    assert paths == ["/v1/completions", "/v1/chat/completions", "/v1/chat/completions"]
    assert all(query_of(t) == {"api-version": ["2024-06-01"]} for t in server.targets)
    agents = [h["user-agent"].startswith("jurist") for h in server.headers]
    assert agents == [True, True, False]  # both clients were used


class QueryBatchServer(BatchServer):
    """The files and batches API behind an endpoint that wants `?api-version=`."""

    def __init__(self) -> None:
        super().__init__(lambda prompt: ("ok", GOOD))
        self.targets: list[str] = []

    def _route(self, method, path, headers, body):
        self.targets.append(path)
        return super()._route(method, urlsplit(path).path, headers, body)


def test_batch_requests_carry_the_query_string(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-batch-query-test-0123456789")
    with QueryBatchServer() as server:
        backend = OpenAIBatchBackend(
            "m", base_url=f"{server.url}?api-version=v9", flush_after=0.1, poll_interval=0.02
        )
        judgments = jurist.judge(RUBRIC, ITEMS, RUN, store=tmp_path / "s.sqlite", backend=backend)
    assert [j.status for j in judgments] == ["ok"] * len(ITEMS)
    kinds = {urlsplit(t).path.split("/")[2] for t in server.targets}
    assert kinds == {"files", "batches"} and len(server.targets) >= 4
    assert all(query_of(t) == {"api-version": ["v9"]} for t in server.targets)


def test_the_cache_key_differs_by_query_string(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    base = "http://127.0.0.1:9/v1"
    a = identity_of(OpenAIBackend("m", base_url=f"{base}?api-version=1"))
    b = identity_of(OpenAIBackend("m", base_url=f"{base}?api-version=2"))
    same = identity_of(OpenAIBackend("m", base_url=f"{base}?x=1&api-version=1"))
    reordered = identity_of(OpenAIBackend("m", base_url=f"{base}?api-version=1&x=1"))
    assert len({a, b, identity_of(OpenAIBackend("m", base_url=base))}) == 3
    assert same == reordered and "api-version=1" in a

    data = write_items(tmp_path / "d.jsonl", 2)
    with Store(tmp_path / "s.sqlite") as store, RecordingServer() as server:
        for version in ("1", "2", "1"):
            grade_job(
                options(tmp_path, data, f"openai:{server.url}?api-version={version}#m", version),
                store,
            )
    # the second server version asks afresh; the first one's answers come from the cache
    assert [query_of(t)["api-version"] for t in server.targets] == [["1"]] * 2 + [["2"]] * 2


def test_a_key_in_the_query_is_sent_but_never_stored(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    key = "azure-query-key-5c1e7"
    data = write_items(tmp_path / "d.jsonl", 2)
    with Store(tmp_path / "s.sqlite") as store:
        with RecordingServer(lambda headers, prompt: f"key {key} echoed\n" + GOOD) as server:
            judge = f"openai:{server.url}?api-version=v1&api-key={key}#m"
            result = grade_job(options(tmp_path, data, judge), store)
        config = store.run_config(result.run_id)
        written = everything_written(store, tmp_path / "out")
    assert all(query_of(t) == {"api-version": ["v1"], "api-key": [key]} for t in server.targets)
    assert result.summary["ok"] == 2
    assert key not in written and key not in json.dumps(config)
    assert "api-version=v1" in config["setup"]["judge"]


# --------------------------------------------------------------- resumable paths, Basic auth


def test_a_path_that_looks_like_a_key_is_stored_whole_and_resumes(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    data = write_items(tmp_path / "hf_data_exports_2024" / "items.jsonl", 3)
    with Store(tmp_path / "s.sqlite") as store, RecordingServer() as server:
        first = grade_job(options(tmp_path, data, f"openai:{server.url}#m"), store)
        config = store.run_config(first.run_id)
        resumed = grade_job({}, store, resume=first.run_id)  # reads the stored data path
    assert str(data) in json.dumps(config) and "***" not in json.dumps(config)
    assert first.summary["ok"] == 3 and resumed.summary["ok"] == 3
    assert len(server.targets) == 3


def test_an_echoed_basic_auth_header_is_masked_in_results(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    data = write_items(tmp_path / "d.jsonl", 2)

    def echo(headers: dict[str, str], prompt: str) -> str:
        return f"you sent {headers.get('authorization')}; " + GOOD

    with Store(tmp_path / "s.sqlite") as store, RecordingServer(echo) as server:
        judge = f"openai:{server.url.replace('http://', 'http://erin:b4sic-pass-word@')}#m"
        result = grade_job(options(tmp_path, data, judge), store)
        written = everything_written(store, tmp_path / "out")
    basic = base64.b64encode(b"erin:b4sic-pass-word").decode()
    assert {h.get("authorization") for h in server.headers} == {f"Basic {basic}"}
    assert result.summary["ok"] == 2
    assert basic not in written and basic.rstrip("=") not in written
