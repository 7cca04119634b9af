"""The white-box judge: a transformers model run in-process (`hf:PATH`, `hf:embedded`).

Answers are constrained to the request's JSON schema by xgrammar (measured against
llguidance on the Gemma tokenizer's 262k vocabulary: both constrain correctly; xgrammar's
tokenizer setup took 4.3 s against 10.6 s, so it is the one kept). Requests that arrive
together are generated as one left-padded batch. At each score position the backend reads
the final distribution over the slot's choices, as the llama.cpp backend does, and also every
layer's (logit lens), keeps the hidden states on disk, and applies the LAGER weights and
probes fitted for the model (`jurist calibrate`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import queue
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jurist.backends.base import shared_prefix_length
from jurist.core.completion import Completion, Request, ScoreSlot, ValueOnly, value_only
from jurist.core.errors import BackendError
from jurist.whitebox.cache import HiddenCache, hidden_key
from jurist.whitebox.calibration import Calibration, calibration_dir
from jurist.whitebox.forward import Prefix, PrefixForward
from jurist.whitebox.layers import (
    Lens,
    as_logprob_dicts,
    choice_token_ids,
    layer_logits,
    softcap,
)
from jurist.whitebox.loading import EMBEDDED, load_causal_lm, resolve_model_path

_GATHER_S = 0.02  # how long the worker waits for more requests to join a batch


def chat_prompt(tokenizer: Any, model_type: str, messages: Sequence[dict[str, str]]) -> str:
    """The text the model continues: the tokenizer's chat template, or Gemma's turn format
    (what llama.cpp applies to the same GGUF) when the tokenizer carries no template."""
    if getattr(tokenizer, "chat_template", None):
        return str(
            tokenizer.apply_chat_template(
                [dict(m) for m in messages], tokenize=False, add_generation_prompt=True
            )
        )
    if model_type.startswith("gemma"):
        turns = []
        for message in messages:
            role = "model" if message["role"] == "assistant" else "user"
            turns.append(f"<start_of_turn>{role}\n{message['content']}<end_of_turn>\n")
        return "".join(turns) + "<start_of_turn>model\n"
    return "\n\n".join(m["content"] for m in messages) + "\n\n"


def slot_steps(decode: Any, generated: Sequence[int], slots: Sequence[ScoreSlot]) -> list[int]:
    """The generation step of each score position: the last step at which a slot's marker
    ends the text written so far, before the value is written (the llama.cpp SlotReader's
    rule, replayed after generation)."""
    markers = [re.compile(slot.marker) for slot in slots]
    steps: list[int] = []
    slot, search_from, pending = 0, 0, None
    step = 0
    while step <= len(generated) and slot < len(slots):
        text = decode(generated[:step])
        if markers[slot].search(text[search_from:]):
            pending = step
        elif pending is not None:
            steps.append(pending)
            pending, slot, search_from = None, slot + 1, len(text)
            continue  # the next slot's marker is checked at the same step
        step += 1
    return steps


def weights_fingerprint(path: Path) -> str:
    """Size and modification time of the weight and config files: cheap, and a retrained or
    replaced model never reads another one's cached answers (a copy merely misses)."""
    files = (
        [path]
        if path.is_file()
        else sorted(
            f for f in path.iterdir() if f.suffix in {".safetensors", ".bin", ".gguf", ".json"}
        )
    )
    digest = hashlib.sha256()
    for file in files:
        stat = file.stat()
        digest.update(f"{file.name}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:12]


@dataclass
class _Job:
    request: Request
    future: concurrent.futures.Future[Completion]


class HFBackend:
    """One model in a worker thread that batches the requests waiting for it."""

    name = "hf"

    def __init__(
        self,
        target: str | None = None,
        *,
        batch_size: int = 4,
        lens: Lens = "norm",
        calibrated: bool = True,
        hidden_cache: HiddenCache | None = None,
    ) -> None:
        self.target = target or EMBEDDED
        path = resolve_model_path(self.target)
        self.model = path.name
        self.batch_size = batch_size
        self.lens: Lens = lens
        self.calibration = Calibration.load(calibration_dir(self.target)) if calibrated else None
        fingerprint = self.calibration.fingerprint if self.calibration else ""
        # Two trained folders may share a name: the weights' fingerprint keeps their caches
        # apart. Fitted estimators change the answer's extra fields, so they count too.
        self.identity = f"hf:{self.model}@{weights_fingerprint(path)}" + (
            f"+{fingerprint}" if fingerprint else ""
        )
        self.hidden_cache = hidden_cache if hidden_cache is not None else HiddenCache()
        self._lm: Any = None
        self._tok: Any = None
        self._info: Any = None
        self._grammars: dict[str, Any] = {}
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False
        self._prefix_forward: PrefixForward | None = None
        self._root: Prefix | None = None

    # ---------------------------------------------------------------- loading

    def load(self) -> tuple[Any, Any]:
        if self._lm is None:
            self._lm, self._tok = load_causal_lm(self.target)
            self._tok.padding_side = "left"
        return self._lm, self._tok

    def _stop_ids(self) -> list[int]:
        _, tok = self.load()
        ids = {int(tok.eos_token_id)} if tok.eos_token_id is not None else set()
        end_turn = tok.convert_tokens_to_ids("<end_of_turn>")
        if isinstance(end_turn, int) and end_turn != tok.unk_token_id:
            ids.add(end_turn)
        return sorted(ids)

    def _compiler(self) -> Any:
        if self._info is None:
            import xgrammar as xgr

            lm, tok = self.load()
            info = xgr.TokenizerInfo.from_huggingface(
                tok, vocab_size=lm.config.vocab_size, stop_token_ids=self._stop_ids()
            )
            self._info = xgr.GrammarCompiler(info)
        return self._info

    def _grammar(self, schema_json: str) -> Any:
        if schema_json not in self._grammars:
            compiled = self._compiler().compile_json_schema(schema_json, any_whitespace=False)
            self._grammars[schema_json] = compiled
        return self._grammars[schema_json]

    # ---------------------------------------------------------------- batching

    async def complete(self, request: Request) -> Completion:
        if self._closed:
            raise BackendError("hf model: closed", retryable=False)
        self._ensure_worker()
        future: concurrent.futures.Future[Completion] = concurrent.futures.Future()
        self._jobs.put(_Job(request, future))
        return await asyncio.wrap_future(future)

    def _ensure_worker(self) -> None:
        with self._start_lock:
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._serve, daemon=True)
                self._worker.start()

    def _serve(self) -> None:
        waiting: list[_Job] = []
        while True:
            if not waiting:
                job = self._jobs.get()
                if job is None:
                    return
                waiting.append(job)
            deadline = time.monotonic() + _GATHER_S
            while len(waiting) < self.batch_size * 4:
                try:
                    job = self._jobs.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if job is None:
                    self._fail(waiting, "stopped while closing")
                    return
                waiting.append(job)
            batch = _same_sampling(waiting, self.batch_size)
            waiting = [job for job in waiting if job not in batch]
            # A caller that gave up (timeout, cancellation) gets no answer; a running
            # future can no longer be cancelled, so setting its result below is safe.
            batch = [job for job in batch if job.future.set_running_or_notify_cancel()]
            if not batch:
                continue
            try:
                results = self._generate([job.request for job in batch])
            except BackendError as error:
                for job in batch:
                    job.future.set_exception(error)
                continue
            except Exception as error:
                for job in batch:
                    job.future.set_exception(BackendError(f"hf model: {error}", retryable=False))
                continue
            for job, completion in zip(batch, results, strict=True):
                job.future.set_result(completion)

    @staticmethod
    def _fail(jobs: list[_Job], problem: str) -> None:
        for job in jobs:
            if job.future.set_running_or_notify_cancel():  # a caller that gave up needs none
                job.future.set_exception(BackendError(f"hf model: {problem}", retryable=False))

    # ---------------------------------------------------------------- generation

    def _generate(self, requests: list[Request]) -> list[Completion]:
        import json

        import torch
        from xgrammar.contrib.hf import LogitsProcessor

        lm, tok = self.load()
        plans = [value_only(r) for r in requests]
        if all(plan is not None for plan in plans):
            answered = self._answer_values(requests, plans)  # type: ignore[arg-type]
            if answered is not None:
                return answered
        first = requests[0]
        prompts = [chat_prompt(tok, lm.config.model_type, r.messages) for r in requests]
        # A chat template may write the BOS token itself; it must not be added twice.
        bos = tok.bos_token or ""
        with_bos = not (bos and all(p.startswith(bos) for p in prompts))
        encoded = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=with_bos)
        constrained = first.json_schema is not None
        processors = []
        if constrained:
            grammars = [self._grammar(json.dumps(r.json_schema)) for r in requests]
            processors.append(LogitsProcessor(grammars))
        stop = self._stop_ids()
        kwargs: dict[str, Any] = {
            "max_new_tokens": first.max_tokens,
            "do_sample": first.temperature > 0,
            "eos_token_id": stop,
            "pad_token_id": tok.pad_token_id if tok.pad_token_id is not None else stop[0],
            "logits_processor": processors,
            "return_dict_in_generate": True,
            "output_logits": True,
            "output_hidden_states": any(r.score_slots and r.want_logprobs for r in requests),
        }
        if first.temperature > 0:
            kwargs.update(temperature=first.temperature, top_k=0, top_p=1.0)
            torch.manual_seed(first.seed or 0)
        started = time.perf_counter()
        with torch.no_grad():
            out = lm.generate(**encoded, **kwargs)
        latency = (time.perf_counter() - started) / len(requests)
        width = encoded["input_ids"].shape[1]
        completions = []
        for row, request in enumerate(requests):
            generated = out.sequences[row, width:].tolist()
            finish = "length"
            for index, token in enumerate(generated):
                if token in stop:
                    generated, finish = generated[:index], "stop"
                    break
            completions.append(
                self._completion(
                    request, prompts[row], row, generated, out, finish, latency
                ).model_copy(update={"prompt_tokens": int(encoded["attention_mask"][row].sum())})
            )
        return completions

    def _answer_values(
        self, requests: list[Request], plans: list[ValueOnly]
    ) -> list[Completion] | None:
        """Value-only answers without generation: the fixed text before the value joins
        the prompt, one forward pass reads the value position, and the prompts' shared
        beginning (an item's text under several criteria) runs once. None when a choice is
        not readable in one token (the grammar then decides)."""
        lm, tok = self.load()
        ids = [choice_token_ids(tok, list(plan.answers)) for plan in plans]
        if any(found is None for found in ids):
            return None
        prompts = [
            chat_prompt(tok, lm.config.model_type, r.messages) + plan.opening
            for r, plan in zip(requests, plans, strict=True)
        ]
        root = self._shared_root(prompts)
        started = time.perf_counter()
        hiddens = [self._forward.states(root, p[len(root.text) :])["last"] for p in prompts]
        latency = (time.perf_counter() - started) / len(requests)
        completions = []
        for request, plan, choice_ids, prompt, hidden in zip(
            requests, plans, ids, prompts, hiddens, strict=True
        ):
            final = self._final_logprobs(hidden[-1])
            picked = self._pick(request, plan, choice_ids, final)  # type: ignore[arg-type]
            slot = request.score_slots[0]
            reading = self._slot_readings(
                request, [(slot, prompt, hidden, final)], keep_states=False
            )
            completions.append(
                Completion(
                    text=plan.answers[picked],
                    prompt_tokens=len(tok.encode(prompt, add_special_tokens=True)),
                    completion_tokens=1,
                    latency_s=latency,
                    finish_reason="stop",
                    **(reading if request.want_logprobs else {}),
                )
            )
        return completions

    def _shared_root(self, prompts: list[str]) -> Prefix:
        """The prompts' common beginning, cut after a line break so it tokenizes as it does
        in the whole prompt; the last one is kept, with its KV cache, for the next batch."""
        last = self._root
        if last is not None and last.text and all(p.startswith(last.text) for p in prompts):
            return last
        common = prompts[0]
        for prompt in prompts[1:]:
            common = common[: shared_prefix_length(common, prompt)]
        cut = _line_start(common)
        self._root = self._forward.root(common[:cut]) if cut >= _MIN_SHARED_CHARS else None
        return self._root or self._forward.root("")

    @property
    def _forward(self) -> PrefixForward:
        if self._prefix_forward is None:
            lm, tok = self.load()
            self._prefix_forward = PrefixForward(lm, tok, self.identity, self.hidden_cache)
        return self._prefix_forward

    def _final_logprobs(self, hidden: np.ndarray) -> np.ndarray:
        """Log-softmax over the whole vocabulary from the last layer's (normed) state."""
        import torch

        lm, _ = self.load()
        with torch.no_grad():
            state = torch.as_tensor(hidden, dtype=lm.lm_head.weight.dtype)
            logits = softcap(lm, (lm.lm_head.weight @ state).double())
            return torch.log_softmax(logits, dim=-1).numpy()

    @staticmethod
    def _pick(request: Request, plan: ValueOnly, ids: list[int], final: np.ndarray) -> str:
        choices = list(plan.answers)
        values = final[ids]
        if request.temperature <= 0:
            return choices[int(np.argmax(values))]
        weights = np.exp((values - values.max()) / request.temperature)
        rng = np.random.default_rng(request.seed)
        return choices[int(rng.choice(len(choices), p=weights / weights.sum()))]

    def _slot_readings(
        self,
        request: Request,
        positions: Sequence[tuple[ScoreSlot, str, np.ndarray, Any]],
        keep_states: bool = True,
    ) -> dict[str, Any]:
        """Completion fields for the score slots read at `positions`: (slot, the text up to
        the position, every layer's hidden state there, the full-vocabulary log-softmax).
        Each slot gets its final, per-layer, LAGER and probe readings; the states are kept
        on disk under the text (unless the caller already put them there)."""
        lm, tok = self.load()
        name = request.tag.partition(":")[2]
        lager = self.calibration.lager_for(name) if self.calibration else None
        probe = self.calibration.probe_for(name) if self.calibration else None
        fields: dict[str, list[Any]] = {
            "slot_logprobs": [],
            "layer_logprobs": [],
            "lager_logprobs": [],
            "probe_values": [],
            "hidden_keys": [],
        }
        for slot, text, hidden, final in positions:
            key = hidden_key(self.identity, text)
            if keep_states:
                self.hidden_cache.put(key, {"last": hidden})
            fields["hidden_keys"].append(key)
            ids = choice_token_ids(tok, slot.choices)
            if ids is None:
                fields["slot_logprobs"].append({})
                continue
            choices = zip(slot.choices, ids, strict=True)
            fields["slot_logprobs"].append({c: float(final[i]) for c, i in choices})
            fields["layer_logprobs"].append(
                as_logprob_dicts(layer_logits(lm, hidden, ids, self.lens), slot.choices)
            )
            if lager is not None:
                mixed = lager.aggregate(layer_logits(lm, hidden, ids, lager.lens))
                fields["lager_logprobs"].append(
                    {c: float(v) for c, v in zip(slot.choices, mixed, strict=True)}
                )
            if probe is not None:
                value = probe.predict(hidden[probe.layer][None, :])[0]
                fields["probe_values"].append(round(float(value), 6))
        slot_logprobs = fields.pop("slot_logprobs")
        return {"slot_logprobs": slot_logprobs, "extras": fields}

    def _completion(
        self,
        request: Request,
        prompt: str,
        row: int,
        generated: list[int],
        out: Any,
        finish: str,
        latency: float,
    ) -> Completion:
        import torch

        _, tok = self.load()

        def decode(ids: Sequence[int]) -> str:
            return str(tok.decode(list(ids), skip_special_tokens=True))

        fields: dict[str, Any] = {
            "text": decode(generated),
            "completion_tokens": len(generated),
            "latency_s": latency,
            "finish_reason": finish,
        }
        if not (request.want_logprobs and request.score_slots):
            return Completion(**fields)
        positions = []
        steps = slot_steps(decode, generated, request.score_slots)
        for slot, step in zip(request.score_slots, steps, strict=False):
            hidden = np.stack([h[row, -1].float().numpy() for h in out.hidden_states[step]])
            final = torch.log_softmax(out.logits[step][row].double(), dim=-1).numpy()
            positions.append((slot, prompt + decode(generated[:step]), hidden, final))
        return Completion(**self._slot_readings(request, positions), **fields)

    async def aclose(self) -> None:
        self._closed = True
        worker = self._worker
        if worker is not None and worker.is_alive():
            self._jobs.put(None)
            await asyncio.to_thread(worker.join)
        self._worker = None
        self._lm = None
        self._prefix_forward, self._root = None, None
        self._closed = False


# A shared beginning shorter than this is not worth keeping a KV cache for.
_MIN_SHARED_CHARS = 200


def _line_start(text: str) -> int:
    """The end of `text`'s last complete line followed by a non-blank character: cutting
    there keeps the tokens on both sides as they are in the whole text."""
    for index in range(len(text) - 1, 0, -1):
        if text[index - 1] == "\n" and not text[index].isspace():
            return index
    return 0


def _same_sampling(jobs: list[_Job], limit: int) -> list[_Job]:
    """Requests that can share one generate call: same temperature, seed and token limit,
    and all constrained by a schema or none."""

    def key(request: Request) -> tuple[Any, ...]:
        return (request.temperature, request.seed, request.max_tokens, request.json_schema is None)

    first = key(jobs[0].request)
    return [job for job in jobs if key(job.request) == first][:limit]
