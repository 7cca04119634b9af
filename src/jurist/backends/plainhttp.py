"""A lean HTTP/1.1 client for JSON POSTs to a judge server reached over plain http.

Local and in-cluster servers (vLLM, llama.cpp, SGLang) answer cheap calls by the hundred a
second, and there the general-purpose client stack (request models, header validation, a
pool that walks every connection on each request) costs the driver more CPU than the rest
of a judgment. This client keeps a stack of idle keep-alive connections and reads only what
a JSON API answers: a status line, headers, and a body sized by Content-Length, chunks or
the end of the connection. TLS, proxies, credentials in the URL and redirects stay with the
SDK's client (`plain_http_target` says when this one applies).
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.request
import zlib
from dataclasses import dataclass
from urllib.parse import urlsplit

# Headers of a response, and a chunk-size line, are never longer than this.
_LINE_LIMIT = 1 << 16


class ConnectionFailed(Exception):
    """The connection failed or closed before a whole response arrived."""


@dataclass(frozen=True)
class Target:
    """Where requests go: host, port and the base path, from a plain-http base URL, and
    the query string every request carries (`api-version=...`; encoded, without `?`)."""

    host: str
    port: int
    path: str
    query: str = ""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # names in lower case; a repeated header keeps its last value
    body: bytes


def plain_http_target(base_url: str | None) -> Target | None:
    """The target of a base URL this client can serve: plain http, no credentials or query
    in the URL (a caller that splits the query off gives it as `Target.query`), and no
    proxy configured for its host; None means the SDK's client."""
    if not base_url:
        return None
    parts = urlsplit(base_url.strip())
    if parts.scheme.lower() != "http" or not parts.hostname or parts.query or parts.fragment:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    proxies = urllib.request.getproxies()
    if (proxies.get("http") or proxies.get("all")) and not urllib.request.proxy_bypass(
        parts.hostname
    ):
        return None
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return Target(host, parts.port or 80, parts.path.rstrip("/"))


class PlainHttpClient:
    """POSTs JSON to one target over reused connections; belongs to one event loop."""

    def __init__(self, target: Target, headers: dict[str, str], timeout: float) -> None:
        self.target = target
        self.timeout = timeout
        host = target.host if target.port == 80 else f"{target.host}:{target.port}"
        fixed = {
            "Host": host,
            "Content-Type": "application/json",
            "Accept": "application/json",
            "Accept-Encoding": "identity",
            **headers,
        }
        self._head = "".join(f"{name}: {value}\r\n" for name, value in fixed.items()).encode(
            "latin-1"
        )
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, path: str, body: bytes) -> Response:
        """One request and its whole response; ConnectionFailed or TimeoutError otherwise."""
        async with asyncio.timeout(self.timeout):
            reader, writer = await self._connection()
            reusable = False
            try:
                writer.write(
                    b"POST " + self._request_target(path) + b" HTTP/1.1\r\n"
                    + self._head + b"Content-Length: %d\r\n\r\n" % len(body) + body
                )  # fmt: skip
                response, reusable = await _read_response(reader)
            except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                    ValueError, zlib.error) as error:  # fmt: skip
                raise ConnectionFailed(_describe(error)) from None
            finally:
                if reusable:
                    self._idle.append((reader, writer))
                else:
                    writer.close()
        return response

    def _request_target(self, path: str) -> bytes:
        """The request line's target: the base path, `path`, and the target's query."""
        query = f"?{self.target.query}" if self.target.query else ""
        return (self.target.path + path + query).encode("latin-1")

    async def _connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """The most recently used idle connection the server has not closed, or a new one."""
        while self._idle:
            reader, writer = self._idle.pop()
            if not (reader.at_eof() or writer.is_closing()):
                return reader, writer
            writer.close()  # the server closed it while it was idle
        try:
            return await asyncio.open_connection(
                self.target.host.strip("[]"), self.target.port, limit=_LINE_LIMIT
            )
        except OSError as error:
            raise ConnectionFailed(_describe(error)) from None

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for _, writer in idle:
            writer.close()
        for _, writer in idle:
            with contextlib.suppress(OSError):
                await writer.wait_closed()


async def _read_response(reader: asyncio.StreamReader) -> tuple[Response, bool]:
    """A final (non-1xx) response, and whether its connection may carry another request."""
    while True:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        status = int(rest[:3])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, separator, value = line.partition(":")
            if separator:
                headers[name.strip().lower()] = value.strip()
        if not 100 <= status < 200:
            break
    connection = headers.get("connection", "").lower()
    keep_alive = "close" not in connection and (
        version.upper() != "HTTP/1.0" or "keep-alive" in connection
    )
    if status in (204, 304):
        body = b""
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:
        body, keep_alive = await reader.read(), False  # delimited by the end of the connection
    encoding = headers.get("content-encoding", "identity").lower()
    if encoding in ("gzip", "deflate", "x-gzip"):
        body = zlib.decompress(body, 47)  # gzip or zlib, told apart by their headers
    elif encoding != "identity":
        raise ValueError(f"unsupported content encoding {encoding!r}")
    return Response(status, headers, body), keep_alive


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass  # trailer fields, unused
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


def _describe(error: BaseException) -> str:
    if isinstance(error, asyncio.IncompleteReadError):
        return "server disconnected without sending a whole response"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
