"""Client-side chat templates and the one-token completions path of the OpenAI backend,
against a loopback server that records what it was sent."""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
from pathlib import Path

import pytest

from jurist.backends.chat_template import BUILTIN_TEMPLATES, ChatTemplate
from jurist.backends.openai import OpenAIBackend
from jurist.backends.registry import make_backend, parse_judge_spec
from jurist.core.answers import LikertAnswer
from jurist.core.completion import Request
from jurist.core.errors import ConfigError
from scripted_server import LoopbackServer, chat_response, http

MESSAGES = (
    {"role": "system", "content": "be fair"},
    {"role": "user", "content": "Rate this:\n  indented text"},
    {"role": "assistant", "content": "ok"},
    {"role": "user", "content": "and this"},
)


def test_gemma_matches_llama_cpp_pythons_own_formatter() -> None:
    pytest.importorskip("llama_cpp")
    from llama_cpp.llama_chat_format import format_gemma

    expected = format_gemma(messages=[dict(m) for m in MESSAGES]).prompt
    assert ChatTemplate.load("gemma").render(MESSAGES) == expected


def test_templates_load_from_a_jinja_file_and_a_tokenizer_config(tmp_path: Path) -> None:
    chatml = ChatTemplate.load("chatml").render(MESSAGES[1:2])
    assert (
        chatml == "<|im_start|>user\nRate this:\n  indented text<|im_end|>\n<|im_start|>assistant\n"
    )
    source = "{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}{{ bos_token }}>"
    (tmp_path / "t.jinja").write_text(source)
    assert ChatTemplate.load(str(tmp_path / "t.jinja")).render(MESSAGES[3:]) == "[user] and this\n>"
    config = tmp_path / "tokenizer_config.json"
    config.write_text(json.dumps({"chat_template": [{"name": "default", "template": source}]}))
    assert ChatTemplate.load(str(config)).render(MESSAGES[3:]) == "[user] and this\n>"
    config.write_text(json.dumps({"eos_token": "</s>"}))
    with pytest.raises(ConfigError, match=r"tokenizer_config\.json: field 'chat_template'"):
        ChatTemplate.load(str(config))
    with pytest.raises(ConfigError, match="not a built-in"):
        ChatTemplate.load("no-such-template")
    refusing = tmp_path / "refusing.jinja"
    refusing.write_text("{{ raise_exception('roles must alternate') }}")
    with pytest.raises(ConfigError, match="roles must alternate"):
        ChatTemplate.load(str(refusing)).render(MESSAGES)


def test_the_template_is_taken_from_the_url_and_is_part_of_the_identity(tmp_path: Path) -> None:
    spec = parse_judge_spec("openai:http://127.0.0.1:9/v1?x=1&chat_template=gemma#m")
    assert (spec.base_url, spec.model, spec.chat_template) == (
        "http://127.0.0.1:9/v1?x=1",
        "m",
        "gemma",
    )
    with pytest.raises(ConfigError, match="chat_template in the judge URL needs a value"):
        parse_judge_spec("openai:http://127.0.0.1:9/v1?chat_template=#m")
    plain = make_backend("openai:http://127.0.0.1:9/v1#m")
    templated = make_backend("openai:http://127.0.0.1:9/v1?chat_template=gemma#m")
    assert (
        templated.identity
        == plain.identity
        + "?chat_template=gemma:"
        + (hashlib.sha256(BUILTIN_TEMPLATES["gemma"].encode()).hexdigest()[:12])
    )
    one, two = tmp_path / "one.jinja", tmp_path / "two.jinja"
    one.write_text("{{ messages[0].content }}")
    two.write_text("{{ messages[0].content }}!")
    assert ChatTemplate.load(str(one)).identity != ChatTemplate.load(str(two)).identity


class CompletionsServer(LoopbackServer):
    """Answers /v1/completions with one token and its top log-probabilities (or 404), and
    /v1/chat/completions with a fixed JSON answer; keeps every (path, body)."""

    def __init__(self, token: str, top: dict[str, float], completions: bool = True) -> None:
        self.token, self.top, self.completions = token, top, completions
        self.seen: list[tuple[str, dict]] = []
        super().__init__()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        path = head.split(" ")[1]
        length = next(
            int(line.split(":")[1])
            for line in head.split("\r\n")
            if line.lower().startswith("content-length")
        )
        self.seen.append((path, json.loads(await reader.readexactly(length))))
        if path.endswith("/chat/completions"):
            writer.write(http("200 OK", chat_response('{"score": 2}')))
        elif not self.completions:
            writer.write(http("404 Not Found", b'{"detail": "Not Found"}'))
        else:
            choice = {"text": self.token, "index": 0, "finish_reason": "length",
                      "logprobs": {"tokens": [self.token], "token_logprobs": [self.top.get(self.token, -9.0)],
                                   "top_logprobs": [self.top], "text_offset": [0]}}  # fmt: skip
            body = {"choices": [choice], "usage": {"prompt_tokens": 40, "completion_tokens": 1}}
            writer.write(http("200 OK", json.dumps(body).encode()))
        await writer.drain()
        writer.close()


def score_request(temperature: float = 0.0, seed: int | None = None) -> Request:
    likert = LikertAnswer(points=(1, 2, 3, 4, 5))
    return Request(
        messages=({"role": "user", "content": "Rate it."},),
        json_schema=likert.schema(200, rationale="none"),
        score_slots=(likert.slot(),),
        max_tokens=64,
        temperature=temperature,
        seed=seed,
    )


def answer(server: CompletionsServer, request: Request, *, logprobs: bool = True):
    backend = OpenAIBackend(
        "m", base_url=server.url, logprobs=logprobs, chat_template=ChatTemplate.load("gemma")
    )

    async def run():
        try:
            return [await backend.complete(request), await backend.complete(request)]
        finally:
            await backend.aclose()

    return asyncio.run(run())


def test_a_value_only_answer_is_one_token_after_the_answers_beginning() -> None:
    top = {"3": -0.4, " 3": -2.0, "4": -1.5, '"': -3.0}
    with CompletionsServer("3", top) as server:
        first, _ = answer(server, score_request())
    path, body = server.seen[0]
    assert path == "/v1/completions" and len(server.seen) == 2
    assert (
        body["prompt"]
        == '<start_of_turn>user\nRate it.<end_of_turn>\n<start_of_turn>model\n{"score": '
    )
    assert (body["max_tokens"], body["logprobs"]) == (1, 10)
    assert first.text == '{"score": 3}' and first.completion_tokens == 1
    # " 3" and "3" are the same choice: their probabilities add up.
    assert first.slot_logprobs[0]["3"] == pytest.approx(math.log(math.exp(-0.4) + math.exp(-2.0)))
    assert set(first.slot_logprobs[0]) == {"3", "4"}


def test_a_token_that_is_not_a_choice_becomes_the_likeliest_choice_or_a_sampled_one() -> None:
    top = {'"': -0.2, "4": -1.0, "2": -2.5}
    with CompletionsServer('"', top) as server:
        greedy, _ = answer(server, score_request())
        sampled = {answer(server, score_request(1.0, seed)).pop().text for seed in range(40)}
    assert greedy.text == '{"score": 4}'
    assert sampled == {'{"score": 4}', '{"score": 2}'}


def test_without_the_endpoint_or_a_readable_choice_the_chat_endpoint_answers() -> None:
    with CompletionsServer("3", {"3": -0.1}, completions=False) as server:
        first, second = answer(server, score_request())
    # the refused endpoint is asked once, then never again
    assert [path for path, _ in server.seen] == [
        "/v1/completions", "/v1/chat/completions", "/v1/chat/completions",
    ]  # fmt: skip
    assert first.text == second.text == '{"score": 2}'
    with CompletionsServer("x", {"x": -0.1, "y": -3.0}) as server:
        first, _ = answer(server, score_request())
    assert [path for path, _ in server.seen][:2] == ["/v1/completions", "/v1/chat/completions"]
    assert first.text == '{"score": 2}'
    with CompletionsServer("3", {"3": -0.1}) as server:
        answer(server, score_request(), logprobs=False)  # no log-probabilities asked: chat
    assert {path for path, _ in server.seen} == {"/v1/chat/completions"}


@pytest.fixture(scope="module")
def logits_all_server(gemma_path, tmp_path_factory):
    """llama-cpp-python's server as users start it for log-probabilities."""
    from llama_servers import llama_cpp_server

    log = tmp_path_factory.mktemp("logits-all") / "server.log"
    with llama_cpp_server(gemma_path, log, "--logits_all", "true") as url:
        yield url


@pytest.mark.integration
def test_the_servers_one_token_reading_is_the_embedded_judges(gemma_path, logits_all_server):
    """Through llama_cpp.server's completions endpoint, a value-only answer is the embedded
    judge's one-step answer: the same value, and the same log-probabilities where the
    server's top 10 hold them."""
    from jurist.backends.llamacpp import LlamaCppBackend

    likert = LikertAnswer(points=(1, 2, 3, 4, 5))
    prompts = [
        "Rate how fluent this sentence is from 1 (broken) to 5 (perfect): 'Me go store yesterday.'",
        "Rate how polite this reply is from 1 (rude) to 5 (very polite): 'Thanks so much!'",
    ]
    requests = [
        Request(messages=({"role": "user", "content": p},), json_schema=likert.schema(200, rationale="none"),
                score_slots=(likert.slot(),), max_tokens=16)
        for p in prompts
    ]  # fmt: skip
    server = make_backend(f"openai:{logits_all_server}?chat_template=gemma#gemma", logprobs=True)
    local = LlamaCppBackend(gemma_path)

    async def run():
        try:
            remote = [await server.complete(r) for r in requests]
            embedded = [await local.complete(r) for r in requests]
            return remote, embedded
        finally:
            await server.aclose()
            await local.aclose()

    remote, embedded = asyncio.run(run())
    for far, near in zip(remote, embedded, strict=True):
        assert far.completion_tokens == 1
        assert far.text == near.text
        shared = set(far.slot_logprobs[0]) & set(near.slot_logprobs[0])
        assert len(shared) >= 2
        for choice in shared:
            assert far.slot_logprobs[0][choice] == pytest.approx(
                near.slot_logprobs[0][choice], abs=0.02
            )
