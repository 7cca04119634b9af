"""A real HTTP server on 127.0.0.1 that speaks the OpenAI files and batches API.

Uploaded JSONL files are kept; a batch stays `in_progress` for `polls` polls (or while
`hold` is cleared) and then ends as `ending(n)` says for the n-th batch created: "completed"
(each request answered or failed as `behave(prompt)` says) or "expired" (the first request
answered, the others failed with `batch_expired`, as OpenAI reports them) or "failed"
(refused as a whole, with the reason in `errors`). Batches keep the `metadata` they were
created with and are listed newest first (`GET /v1/batches`, paged by `after`); with
`stall_creates` the first batches created never get their answer back, as when the client
is killed between creating a batch and learning its id. It runs in a background thread and
counts what it was asked (`created`, `bought`), so tests can check from the server side.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from email import message_from_bytes
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, urlsplit

from scripted_server import LoopbackServer, http

# What a request in a batch gets: ("ok", answer text) or ("fail", error message).
Behaviour = tuple[str, str]


class BatchServer(LoopbackServer):
    def __init__(
        self,
        behave: Callable[[str], Behaviour],
        *,
        ending: Callable[[int], str] = lambda n: "completed",
        polls: int = 1,
        logprobs: list[dict[str, Any]] | None = None,
        stall_creates: int = 0,
    ) -> None:
        """`logprobs` is the token list every answer carries when its request asks for it;
        the first `stall_creates` batches are created but their creator never hears back."""
        self._behave = behave
        self._ending = ending
        self._polls = polls
        self._logprobs = logprobs
        self._stall_creates = stall_creates
        self.hold = threading.Event()
        self.hold.set()
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.created: list[list[str]] = []  # the custom ids of each batch created
        self.authorizations: set[str] = set()
        super().__init__()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode()
            request_line, *header_lines = head.split("\r\n")
            method, path, _ = request_line.split(" ", 2)
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in header_lines if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.authorizations.add(headers.get("authorization", ""))
            status, payload, kind = self._route(method, path, headers, body)
            if kind == "batch-stalled":
                await asyncio.Event().wait()  # the batch exists; its id never reaches the client
            writer.write(http(status, payload, {"X-Kind": kind}))
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def _route(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[str, bytes, str]:
        url = urlsplit(path)
        parts = url.path.strip("/").split("/")  # v1, files|batches, id, content
        if method == "POST" and parts[1:] == ["files"]:
            return "200 OK", self._upload(headers["content-type"], body), "file"
        if method == "POST" and parts[1:] == ["batches"]:
            created = self._create(json.loads(body))
            stalled = len(self.created) <= self._stall_creates
            return "200 OK", created, "batch-stalled" if stalled else "batch"
        if method == "GET" and parts[1:] == ["batches"]:
            return "200 OK", self._list(parse_qs(url.query)), "list"
        if method == "GET" and parts[1] == "batches" and parts[2] in self.batches:
            return "200 OK", json.dumps(self._poll(parts[2])).encode(), "batch"
        if (
            method == "GET"
            and parts[1:] == ["files", parts[2], "content"]
            and parts[2] in self.files
        ):
            return "200 OK", self.files[parts[2]], "content"
        error = {"error": {"message": f"no route for {method} {path}"}}
        return "404 Not Found", json.dumps(error).encode(), "error"

    def _upload(self, content_type: str, body: bytes) -> bytes:
        form: Message = message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
        fields = {
            part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
            for part in form.get_payload()  # type: ignore[union-attr]
        }
        assert fields["purpose"] == b"batch"
        file_id = f"file-{len(self.files) + 1}"
        self.files[file_id] = fields["file"]
        return json.dumps(
            {
                "id": file_id,
                "object": "file",
                "bytes": len(fields["file"]),
                "created_at": 0,
                "filename": "input.jsonl",
                "purpose": "batch",
                "status": "processed",
            }
        ).encode()

    def _create(self, request: dict[str, Any]) -> bytes:
        assert request["endpoint"] == "/v1/chat/completions"
        assert request["completion_window"] == "24h"
        lines = [json.loads(line) for line in self.files[request["input_file_id"]].splitlines()]
        self.created.append([line["custom_id"] for line in lines])
        batch_id = f"batch-{len(self.created)}"
        self.batches[batch_id] = {
            "id": batch_id,
            "metadata": request.get("metadata"),
            "object": "batch",
            "endpoint": request["endpoint"],
            "errors": None,
            "input_file_id": request["input_file_id"],
            "completion_window": "24h",
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": int(time.time()),
            "polled": 0,
            "number": len(self.created),
            "lines": lines,
        }
        return json.dumps(self._public(batch_id)).encode()

    @property
    def bought(self) -> int:
        """Requests paid for: every line of every batch created."""
        return sum(len(ids) for ids in self.created)

    def _list(self, query: dict[str, list[str]]) -> bytes:
        """Batches newest first, `limit` at a time, after the batch id `after`."""
        newest_first = sorted(self.batches, key=lambda b: self.batches[b]["number"], reverse=True)
        if "after" in query:
            newest_first = newest_first[newest_first.index(query["after"][0]) + 1 :]
        limit = int(query.get("limit", ["20"])[0])
        page = [self._public(batch_id) for batch_id in newest_first[:limit]]
        listing = {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(newest_first) > limit,
        }
        return json.dumps(listing).encode()

    def _public(self, batch_id: str) -> dict[str, Any]:
        batch = self.batches[batch_id]
        return {k: v for k, v in batch.items() if k not in ("polled", "number", "lines")}

    def _poll(self, batch_id: str) -> dict[str, Any]:
        batch = self.batches[batch_id]
        batch["polled"] += 1
        if batch["status"] in ("validating", "in_progress"):
            if batch["polled"] < self._polls or not self.hold.is_set():
                batch["status"] = "in_progress"
            else:
                self._end(batch)
        return self._public(batch_id)

    def _end(self, batch: dict[str, Any]) -> None:
        ending = self._ending(batch["number"])
        if ending == "failed":  # the input was refused as a whole: no files
            error = {"code": "invalid_request", "message": "model m is not available in batch"}
            batch["errors"] = {"object": "list", "data": [error]}
            batch["status"] = "failed"
            return
        answered: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for position, line in enumerate(batch["lines"]):
            custom_id = line["custom_id"]
            if ending == "expired" and position > 0:
                message = "This request could not be executed before the window expired."
                error = {"code": "batch_expired", "message": message}
                failed.append({"id": "r", "custom_id": custom_id, "response": None, "error": error})
                continue
            kind, text = self._behave(line["body"]["messages"][-1]["content"])
            if kind == "ok":
                body = {
                    "id": "c",
                    "object": "chat.completion",
                    "model": line["body"]["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                            "logprobs": {"content": self._logprobs}
                            if line["body"].get("logprobs")
                            else None,
                        }
                    ],
                    "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12},
                }
                response = {"status_code": 200, "request_id": "q", "body": body}
                answered.append({"id": "r", "custom_id": custom_id, "response": response})
            else:
                body = {"error": {"message": text, "type": "invalid_request_error"}}
                response = {"status_code": 400, "request_id": "q", "body": body}
                failed.append(
                    {"id": "r", "custom_id": custom_id, "response": response, "error": None}
                )
        for records, field in ((answered, "output_file_id"), (failed, "error_file_id")):
            if records:
                file_id = f"file-{len(self.files) + 1}"
                self.files[file_id] = "".join(json.dumps(r) + "\n" for r in records).encode()
                batch[field] = file_id
        batch["status"] = ending
