"""The embedded backend's scheduling (which waiting request runs next) and its one-step
value-only answers, checked against a direct computation on the real model."""

import asyncio
import concurrent.futures
import math

import numpy as np
import pytest

from jurist.backends.base import shared_prefix_length
from jurist.backends.llamacpp import PATIENCE, Job, LlamaCppBackend
from jurist.core.answers import LikertAnswer, YesNoAnswer
from jurist.core.completion import Request


def job(prompt: str, arrived: int) -> Job:
    request = Request(messages=({"role": "user", "content": prompt},))
    return Job(prompt, [], request, concurrent.futures.Future(), arrived)


def queued(backend: LlamaCppBackend, prompts: list[str]) -> None:
    backend._pending = [job(p, i) for i, p in enumerate(prompts)]


def test_shared_length_matches_a_plain_scan():
    rng = np.random.default_rng(0)
    for _ in range(300):
        a = "".join(rng.choice(list("ab"), size=rng.integers(0, 12)))
        b = "".join(rng.choice(list("ab"), size=rng.integers(0, 12)))
        plain = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), None)
        assert shared_prefix_length(a, b) == (min(len(a), len(b)) if plain is None else plain)


def test_the_request_sharing_most_of_the_last_prompt_runs_next():
    backend = LlamaCppBackend("unused.gguf")
    backend._last_prompt = "item 2: summary. criterion coherence"
    queued(backend, ["item 1: criterion fluency", "item 2: summary. criterion fluency", "item 3"])
    assert backend._next_job().prompt == "item 2: summary. criterion fluency"
    # Among equals the oldest goes first.
    backend._last_prompt = "unrelated"
    assert backend._next_job().prompt == "item 1: criterion fluency"


def test_the_oldest_request_is_passed_over_at_most_patience_times():
    backend = LlamaCppBackend("unused.gguf")
    backend._pending = [job("old", 0)]
    backend._last_prompt = "hot"
    served = []
    for step in range(PATIENCE + 3):
        backend._pending.append(job("hot" + str(step), step + 1))
        chosen = backend._next_job()
        served.append(chosen.prompt)
        backend._last_prompt = "hot"
    assert served.index("old") == PATIENCE


def value_request(answer, prompt: str, temperature: float = 0.0, seed: int | None = None):
    return Request(
        messages=({"role": "user", "content": prompt},),
        json_schema=answer.schema(200, rationale="none"),
        score_slots=(answer.slot(),),
        max_tokens=16,
        temperature=temperature,
        seed=seed,
    )


PROMPT = (
    "Rate how fluent this sentence is from 1 (broken) to 5 (perfect): "
    "'The cat sat on the mat.' Answer with a JSON object with one key, score."
)


@pytest.mark.integration
def test_value_only_answers_read_the_models_own_distribution(gemma_path):
    from llama_cpp.llama_chat_format import format_gemma

    likert = LikertAnswer(points=(1, 2, 3, 4, 5))
    backend = LlamaCppBackend(gemma_path)

    async def answers():
        try:
            greedy = await backend.complete(value_request(likert, PROMPT))
            sampled = [
                await backend.complete(value_request(likert, PROMPT, 1.5, seed))
                for seed in range(6)
            ]
            yes_no = await backend.complete(value_request(YesNoAnswer(), PROMPT))
            return greedy, sampled, yes_no
        finally:
            await backend.aclose()

    greedy, sampled, yes_no = asyncio.run(answers())
    assert greedy.completion_tokens == 1
    assert likert.parse(greedy.text).value in (1, 2, 3, 4, 5)
    for completion in sampled:
        assert likert.parse(completion.text).value in (1, 2, 3, 4, 5)
    assert YesNoAnswer().parse(yes_no.text).value in ("yes", "no")
    # The log-probabilities are the full-vocabulary log-softmax at the value position:
    # recompute them from the model's logits after the same text.
    from llama_cpp import Llama

    llm = Llama(model_path=str(gemma_path), n_ctx=2048, logits_all=True, verbose=False)
    text = format_gemma(messages=[{"role": "user", "content": PROMPT}]).prompt + '{"score": '
    llm.eval(llm.tokenize(text.encode(), add_bos=True, special=True))
    logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
    log_norm = logits.max() + math.log(np.exp(logits - logits.max()).sum())
    reading = greedy.slot_logprobs[0]
    for choice in likert.choices:
        token = llm.tokenize(choice.encode(), add_bos=False, special=False)[0]
        assert reading[choice] == pytest.approx(logits[token] - log_norm, abs=2e-3)
    best = max(reading, key=reading.get)
    assert likert.parse(greedy.text).value == int(best)  # greedy picks the likeliest choice
    llm.close()


@pytest.mark.integration
def test_interleaved_items_give_the_answers_of_one_at_a_time(gemma_path):
    """Many requests in flight (reordered to reuse prompt prefixes) answer as if sent one by
    one: the schedule changes what runs when, not what is answered."""
    likert = LikertAnswer(points=(1, 2, 3, 4, 5))
    prompts = [
        f"Text {item}: {'A short story about a dog. ' * (2 + item)}\nCriterion {c}: rate it 1-5."
        for item in range(3)
        for c in ("fluency", "coherence")
    ]

    async def run(order: list[int], together: bool):
        backend = LlamaCppBackend(gemma_path)
        try:
            requests = [value_request(likert, prompts[i]) for i in order]
            if together:
                answers = await asyncio.gather(*(backend.complete(r) for r in requests))
            else:
                answers = [await backend.complete(r) for r in requests]
            return [answers[order.index(i)] for i in range(len(prompts))], backend.usage
        finally:
            await backend.aclose()

    # Sent criterion-major, so the schedule must regroup each item's prompts.
    scrambled = list(range(0, len(prompts), 2)) + list(range(1, len(prompts), 2))
    one_by_one, usage = asyncio.run(run(list(range(len(prompts))), together=False))
    together, _ = asyncio.run(run(scrambled, together=True))
    # The backend's own token counts: what the key/value cache held is counted as cached,
    # the first prompt found nothing held, and each answer is one generated token.
    assert usage.calls == usage.generated_tokens == len(prompts)
    assert usage.prompt_tokens == sum(a.prompt_tokens for a in one_by_one)
    assert usage.cold_tokens == one_by_one[0].prompt_tokens
    # An item's second criterion reuses all but the criterion's line of its first.
    assert usage.cached_tokens > one_by_one[0].prompt_tokens // 2
    for a, b in zip(one_by_one, together, strict=True):
        assert a.text == b.text
        for choice in likert.choices:
            assert a.slot_logprobs[0][choice] == pytest.approx(b.slot_logprobs[0][choice], abs=2e-3)
