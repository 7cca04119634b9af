"""The OpenAI Batch API as a judge backend: the same answers at half the price, hours later.

Requests are queued and sent as one batch (a JSONL file uploaded with purpose "batch", then
`POST /v1/batches`) once `batch_size` are waiting or `flush_after` seconds have passed since
the first; the batch is polled until it ends, and its output and error files resolve each
request. Every request's `custom_id` is its cache key, so an answer lands in the cache exactly
as the online backend's would.

Which batch holds which request is kept in the store file (table `batch_requests`), so a run
killed at any point resumes by collecting instead of paying twice:
- before a batch is created its requests are recorded under an intent id, which the batch
  carries in its `metadata`; a run killed before it learned the batch's id finds the batch
  again by listing batches (none found: the batch was never created, and is sent now);
- while a batch is in progress its requests are recorded as `sent` to it;
- when it ends, each answer is put in the cache before its request is marked `answered`, so
  a run killed while collecting finds every answer either in the cache or in the batch.
An expired batch fails its unanswered requests as retryable: the retry layer sends them
again, in a new batch.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import openai

from jurist.backends.openai import OpenAIBackend, slot_logprobs_from_tokens
from jurist.core.completion import Completion, Request
from jurist.core.errors import BackendError, StorageError
from jurist.store import Store

__all__ = ["BatchLedger", "OpenAIBatchBackend"]

ENDPOINT = "/v1/chat/completions"
# Statuses after which a batch changes no more; the others are still worth polling.
_ENDED = frozenset({"completed", "failed", "expired", "cancelled"})
_RESUMABLE = "sent"  # a request's status while its batch may still answer it
_INTENDED = "intent"  # before its batch is created: `batch_id` holds the intent id
_INTENT_KEY = "jurist_intent"  # the batch metadata naming the intent it was created for
# How far back (seconds) before an intent the batch listing is searched, for clock skew.
_INTENT_SLACK = 3600.0
_POLL_FAILURES = 10  # transient poll errors in a row before the waiting requests fail

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batch_requests (
    custom_id TEXT PRIMARY KEY,
    batch_id TEXT NOT NULL,
    status TEXT NOT NULL,
    updated REAL NOT NULL
)
"""

# A line of an output or error file, or the error every unanswered request gets.
Outcome = dict[str, Any] | BackendError


class BatchLedger:
    """Which batch each request was sent in, beside the cache in the store file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            # Used by one event loop at a time, whichever thread built the backend.
            self._db = sqlite3.connect(
                path, timeout=60.0, isolation_level=None, check_same_thread=False
            )
            self._db.execute(_SCHEMA)
        except sqlite3.DatabaseError as error:
            raise StorageError(f"{path}: cannot keep batch ids: {error}") from None

    def batch_of(self, custom_id: str) -> tuple[str, bool] | None:
        """The batch that may still answer this request, if any, and whether that is only
        an intent (the id of a batch being created, which its creator may never have
        learned)."""
        row = self._db.execute(
            "SELECT batch_id, status FROM batch_requests WHERE custom_id = ? AND status IN (?, ?)",
            (custom_id, _RESUMABLE, _INTENDED),
        ).fetchone()
        return (row[0], row[1] == _INTENDED) if row else None

    def intended_since(self, intent: str) -> float | None:
        """When the intent was recorded (None: no request holds it any more)."""
        row = self._db.execute(
            "SELECT MIN(updated) FROM batch_requests WHERE batch_id = ? AND status = ?",
            (intent, _INTENDED),
        ).fetchone()
        return row[0] if row else None

    def settle_intent(self, intent: str, batch_id: str | None) -> None:
        """The batch an intent became (its requests are `sent` to it), or None: it was never
        created, so its requests are forgotten and sent again when asked."""
        with self._db:
            self._db.execute("BEGIN")
            if batch_id is None:
                self._db.execute(
                    "DELETE FROM batch_requests WHERE batch_id = ? AND status = ?",
                    (intent, _INTENDED),
                )
            else:
                self._db.execute(
                    "UPDATE batch_requests SET batch_id = ?, status = ?, updated = ? "
                    "WHERE batch_id = ? AND status = ?",
                    (batch_id, _RESUMABLE, time.time(), intent, _INTENDED),
                )

    def record(self, custom_ids: Iterable[str], batch_id: str, status: str) -> None:
        now = time.time()
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO batch_requests VALUES (?, ?, ?, ?)",
                [(custom_id, batch_id, status, now) for custom_id in custom_ids],
            )

    def close(self) -> None:
        self._db.close()


class OpenAIBatchBackend(OpenAIBackend):
    """Chat completions through the Batch API; `patient` tells the limiting layer that an
    answer may take hours, so no per-request timeout applies."""

    name = "openai-batch"
    patient = True

    def __init__(
        self,
        model: str,
        *,
        batch_size: int = 50_000,
        flush_after: float = 2.0,
        poll_interval: float = 30.0,
        **client_options: Any,
    ) -> None:
        """`client_options` are OpenAIBackend's (base_url, api_key_env, structured, ...)."""
        super().__init__(model, **client_options)
        self.identity = f"openai-batch:{self.endpoint}#{model}"
        self.batch_size = batch_size
        self.flush_after = flush_after
        self.poll_interval = poll_interval
        self.ledger: BatchLedger | None = None
        self.cache: Store | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reset()

    def __repr__(self) -> str:
        return f"OpenAIBatchBackend(model={self.model!r}, endpoint={self.endpoint!r})"

    def _reset(self) -> None:
        self._waiters: dict[str, list[asyncio.Future[Completion]]] = {}
        self._queued: dict[str, Request] = {}
        self._awaited: dict[str, tuple[Request, float]] = {}  # custom id -> (request, since)
        self._watched: dict[str, set[str]] = {}  # batch id -> custom ids awaited from it
        # batch id -> (its file lines by custom id, the error of a request it did not answer)
        self._collected: dict[str, tuple[dict[str, Outcome], BackendError]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._flush_timer: asyncio.Task[None] | None = None
        self._finding: dict[str, list[str]] = {}  # intent -> custom ids awaiting its batch

    def use_store(self, store: Store) -> None:
        """Keep batch ids in `store`'s file, and each answer in its cache the moment its batch
        is collected, so a killed run collects instead of resending."""
        self.cache = store
        if self.ledger is not None:
            if self.ledger.path == store.path:
                return
            self.ledger.close()
        self.ledger = BatchLedger(store.path)

    # --- requests in ------------------------------------------------------------------
    async def complete(self, request: Request) -> Completion:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # One backend may serve several `asyncio.run` calls; futures belong to one loop.
            self._loop = loop
            self._reset()
        custom_id = request.cache_key(self.identity)
        future: asyncio.Future[Completion] = loop.create_future()
        waiting = self._waiters.setdefault(custom_id, [])
        waiting.append(future)
        if len(waiting) == 1:
            self._route(custom_id, request)
        try:
            return await future
        finally:
            waiting.remove(future)
            if not waiting and self._waiters.get(custom_id) is waiting:
                # Nobody waits any more (answered, or cancelled): nothing left to send.
                del self._waiters[custom_id]
                self._awaited.pop(custom_id, None)
                self._queued.pop(custom_id, None)

    def _route(self, custom_id: str, request: Request) -> None:
        """Join the batch that already holds this request (found again by its intent when
        its creator was killed before learning its id), or queue it for a new one."""
        self._awaited.setdefault(custom_id, (request, time.perf_counter()))
        held = self.ledger.batch_of(custom_id) if self.ledger else None
        if held is not None and held[1]:
            self._find_intent(held[0], custom_id)
            return
        if held is not None:
            collected = self._collected.get(held[0])
            if collected is None:
                self._watch(held[0], [custom_id])
            else:
                self._settle(held[0], [custom_id], *collected)
            return
        self._queued[custom_id] = request
        if len(self._queued) >= self.batch_size:
            self._spawn(self._flush())
        elif self._flush_timer is None or self._flush_timer.done():
            self._flush_timer = self._spawn(self._flush_later())

    def _spawn(self, work: Any) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _find_intent(self, intent: str, custom_id: str) -> None:
        """Wait for the batch an intent became, looked up once for all its requests."""
        waiting = self._finding.get(intent)
        if waiting is None:
            self._finding[intent] = waiting = []
            self._spawn(self._look_up(intent))
        waiting.append(custom_id)

    async def _look_up(self, intent: str) -> None:
        """Find the batch created for `intent` by its metadata, then route its requests
        again: to that batch, or (never created) into a new one."""
        try:
            batch_id = await self._batch_with_intent(intent)
        except BackendError as error:
            if error.retryable:
                # Not known now: the retry layer asks again, and the lookup is tried again.
                for custom_id in self._finding.pop(intent, []):
                    self._resolve(custom_id, error)
                return
            batch_id = None  # batches cannot be listed here: send the requests again
        if self.ledger is not None:
            self.ledger.settle_intent(intent, batch_id)
        for custom_id in self._finding.pop(intent, []):
            awaited = self._awaited.get(custom_id)
            if awaited is not None:
                self._route(custom_id, awaited[0])

    async def _batch_with_intent(self, intent: str) -> str | None:
        """The id of the batch whose metadata names `intent`, searched newest first back to
        shortly before the intent was recorded."""
        since = self.ledger.intended_since(intent) if self.ledger else None
        oldest = (since or time.time()) - _INTENT_SLACK
        try:
            async for batch in self._client.batches.list(limit=100):
                if (batch.metadata or {}).get(_INTENT_KEY) == intent:
                    return batch.id
                if batch.created_at and batch.created_at < oldest:
                    break
        except (openai.APIError, json.JSONDecodeError, ValueError) as error:
            raise self._error(error) from None
        return None

    def _resolve(self, custom_id: str, answer: Completion | BackendError) -> None:
        awaited = self._awaited.pop(custom_id, None)
        if awaited is None:
            return
        _, since = awaited
        # Popped, so that a request asked again from now on is routed afresh.
        for future in self._waiters.pop(custom_id, []):
            if future.done():
                continue
            if isinstance(answer, Completion):
                latency = time.perf_counter() - since
                future.set_result(answer.model_copy(update={"latency_s": latency}))
            else:
                # A fresh error per waiter: the retry layer annotates what it catches.
                error = BackendError(str(answer), retryable=answer.retryable, status=answer.status)
                future.set_exception(error)

    # --- batches out ------------------------------------------------------------------
    async def _flush_later(self) -> None:
        await asyncio.sleep(self.flush_after)
        await self._flush()

    async def _flush(self) -> None:
        """Send up to `batch_size` queued requests as one batch; later arrivals wait for
        the next one."""
        timer = self._flush_timer
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        self._flush_timer = None
        chosen = list(self._queued.items())[: self.batch_size]
        if not chosen:
            return
        for custom_id, _ in chosen:
            del self._queued[custom_id]
        custom_ids = [custom_id for custom_id, _ in chosen]
        intent = f"{_INTENDED}-{secrets.token_hex(8)}"
        if self.ledger is not None:
            # Before the batch exists: a run killed from here on finds it by this intent.
            self.ledger.record(custom_ids, intent, _INTENDED)
        try:
            batch_id = await self._submit(chosen, intent)
        except BackendError as error:
            for custom_id in custom_ids:
                self._resolve(custom_id, error)
            return
        if self.ledger is not None:
            self.ledger.record(custom_ids, batch_id, _RESUMABLE)
        self._watch(batch_id, custom_ids)
        if self._queued and self._flush_timer is None:
            self._flush_timer = self._spawn(self._flush_later())

    async def _submit(self, chosen: list[tuple[str, Request]], intent: str) -> str:
        lines = [
            json.dumps(
                {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": self.body(r)}
            )
            for custom_id, r in chosen
        ]
        data = ("\n".join(lines) + "\n").encode()
        try:
            uploaded = await self._client.files.create(
                file=("jurist-batch.jsonl", data, "application/jsonl"), purpose="batch"
            )
            batch = await self._client.batches.create(
                input_file_id=uploaded.id,
                endpoint=ENDPOINT,
                completion_window="24h",
                metadata={_INTENT_KEY: intent},
            )
        except (openai.APIError, json.JSONDecodeError, ValueError) as error:
            raise self._error(error) from None
        return batch.id

    def body(self, request: Request) -> dict[str, Any]:
        """The chat-completions body the online backend would send for `request`."""
        want_logprobs = self.logprobs and request.want_logprobs and bool(request.score_slots)
        optional = {
            "seed": request.seed,
            "response_format": self._response_format(request),
            "logprobs": True if want_logprobs else None,
            "top_logprobs": self.top_logprobs if want_logprobs else None,
        }
        return {
            "model": self.model,
            "messages": list(request.messages),
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        } | {key: value for key, value in optional.items() if value is not None}

    def _watch(self, batch_id: str, custom_ids: list[str]) -> None:
        watched = self._watched.get(batch_id)
        if watched is None:
            self._watched[batch_id] = set(custom_ids)
            self._spawn(self._poll(batch_id))
        else:
            watched.update(custom_ids)

    async def _poll(self, batch_id: str) -> None:
        """Poll until the batch ends, then resolve every request awaited from it."""
        failures = 0
        while True:
            try:
                batch = await self._client.batches.retrieve(batch_id)
            except (openai.APIError, json.JSONDecodeError, ValueError) as error:
                failure = self._error(error)
                failures += 1
                if not failure.retryable:
                    # No such batch (or not ours): the retry sends its requests anew.
                    message = f"batch {batch_id} cannot be read ({failure}); sending again"
                    self._finish(batch_id, {}, BackendError(message, retryable=True))
                    return
                if failures >= _POLL_FAILURES:
                    self._abandon(batch_id, failure)
                    return
                await asyncio.sleep(self.poll_interval)
                continue
            failures = 0
            if batch.status in _ENDED:
                break
            await asyncio.sleep(self.poll_interval)
        try:
            outcomes = await self._outcomes(batch)
        except BackendError as error:
            self._abandon(batch_id, error)
            return
        self._finish(batch_id, outcomes, self._unanswered(batch))

    def _abandon(self, batch_id: str, error: BackendError) -> None:
        """Fail the requests awaited from a batch that cannot be reached now; the ledger
        still points their retries (or a later run) at it."""
        for custom_id in self._watched.pop(batch_id, set()):
            self._resolve(custom_id, error)

    async def _outcomes(self, batch: Any) -> dict[str, Outcome]:
        outcomes: dict[str, Outcome] = {}
        for file_id in (batch.error_file_id, batch.output_file_id):
            if not file_id:
                continue
            try:
                content = await self._client.files.content(file_id)
                text = content.text
            except (openai.APIError, ValueError) as error:
                raise self._error(error) from None
            for line in text.splitlines():
                try:
                    record = json.loads(line) if line.strip() else None
                except json.JSONDecodeError:
                    record = None
                if isinstance(record, dict) and "custom_id" in record:
                    outcomes[str(record["custom_id"])] = record
        return outcomes

    def _unanswered(self, batch: Any) -> BackendError:
        """What a request the batch did not answer fails with."""
        if batch.status == "expired":
            return BackendError(f"batch {batch.id} expired before answering", retryable=True)
        if batch.status == "failed":
            errors = getattr(getattr(batch, "errors", None), "data", None) or []
            reason = "; ".join(str(getattr(e, "message", e)) for e in errors) or "no reason given"
            return BackendError(self._scrub(f"batch {batch.id} failed: {reason}"), retryable=False)
        if batch.status == "cancelled":
            return BackendError(f"batch {batch.id} was cancelled", retryable=False)
        return BackendError(f"batch {batch.id} did not answer this request", retryable=True)

    def _finish(self, batch_id: str, outcomes: dict[str, Outcome], missing: BackendError) -> None:
        """Keep what an ended batch answered, for requests asked later, and settle those
        awaited now."""
        self._collected[batch_id] = (outcomes, missing)
        self._settle(batch_id, self._watched.pop(batch_id, set()), outcomes, missing)

    def _settle(
        self,
        batch_id: str,
        custom_ids: Iterable[str],
        outcomes: dict[str, Outcome],
        missing: BackendError,
    ) -> None:
        answers = self._answers(custom_ids, outcomes, missing)
        if self.ledger is not None:
            # Answers nobody has asked for yet stay `sent`: a later request collects them.
            kept = [(c, a) for c, a in answers.items() if isinstance(a, Completion)]
            if self.cache is not None:
                # Cached before marked answered: a run killed in between collects again.
                self.cache.put_completions((c, self.name, self.model, a) for c, a in kept)
            done = [custom_id for custom_id, _ in kept]
            # Failed or unanswered requests are sent again when asked again, as online.
            ended = [c for c in answers if c not in set(done)]
            self.ledger.record(done, batch_id, "answered")
            self.ledger.record(ended, batch_id, "ended")
        for custom_id, answer in answers.items():
            self._resolve(custom_id, answer)

    def _answers(
        self, custom_ids: Iterable[str], outcomes: dict[str, Outcome], missing: BackendError
    ) -> dict[str, Completion | BackendError]:
        """What each awaited request gets from an ended batch."""
        answers: dict[str, Completion | BackendError] = {}
        for custom_id in custom_ids:
            awaited = self._awaited.get(custom_id)
            if awaited is None:
                continue
            outcome = outcomes.get(custom_id, missing)
            answers[custom_id] = (
                outcome if isinstance(outcome, BackendError) else self._outcome(outcome, awaited[0])
            )
        return answers

    def _outcome(self, record: dict[str, Any], request: Request) -> Completion | BackendError:
        """One line of an output or error file as the answer or the error it is."""
        response = record.get("response") or {}
        body = response.get("body") or {}
        error = record.get("error") or body.get("error")
        status = response.get("status_code")
        if status == 200 and not error:
            try:
                return self._completion(body, request)
            except (KeyError, IndexError, TypeError, ValueError) as problem:
                return BackendError(f"malformed batch answer: {problem}", retryable=True)
        error = error if isinstance(error, dict) else {"message": str(error or "no answer")}
        if error.get("code") == "batch_expired":
            return BackendError("batch expired before answering", retryable=True)
        message = self._scrub(str(error.get("message") or "request failed"))
        shown = f"HTTP {status}: {message}" if status else message
        return BackendError(shown, retryable=False, status=status)

    def _completion(self, body: dict[str, Any], request: Request) -> Completion:
        choice = body["choices"][0]
        text = self._scrub(choice["message"].get("content") or "")
        slots: list[dict[str, float]] = []
        content = (choice.get("logprobs") or {}).get("content") or []
        want = self.logprobs and request.want_logprobs and bool(request.score_slots)
        if content and want:
            tokens = [
                (t["token"], [(a["token"], a["logprob"]) for a in t.get("top_logprobs") or []])
                for t in content
            ]
            slots = slot_logprobs_from_tokens(tokens, request.score_slots)
        usage = body.get("usage") or {}
        return Completion(
            text=text,
            slot_logprobs=slots,
            prompt_tokens=usage.get("prompt_tokens", 0),
            completion_tokens=usage.get("completion_tokens", 0),
            finish_reason=choice.get("finish_reason"),
        )

    async def aclose(self) -> None:
        """Stop polling; batches in progress go on at the server and are collected later."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.ledger is not None:
            self.ledger.close()
            self.ledger = None
        await super().aclose()
