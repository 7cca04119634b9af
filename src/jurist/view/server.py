"""Running the viewer: uvicorn on 127.0.0.1 and a free port unless told otherwise."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class ServeSettings:
    """Where the viewer listens: this machine only, on a free port, unless told otherwise."""

    host: str = field(
        default=LOOPBACK,
        metadata={"help": "Address to bind; anything but 127.0.0.1 is reachable by others."},
    )
    port: int = field(default=0, metadata={"help": "Port (0: a free one).", "min": 0, "max": 65535})
    cache_dir: Path | None = field(default=None, metadata={"help": "Where run indexes are kept."})


@dataclass
class RunningServer:
    """A viewer served on a background thread (tests, notebooks); `stop()` ends it."""

    url: str
    server: object
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True  # type: ignore[attr-defined]
        self.thread.join(timeout=10)


def _config(app: object, host: str, port: int) -> object:
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False)


def serve(app: object, host: str, port: int) -> None:
    """Serve until interrupted."""
    import uvicorn

    uvicorn.Server(_config(app, host, port)).run()  # type: ignore[arg-type]


def serve_viewer(
    app: object,
    token: str,
    host: str = LOOPBACK,
    port: int = 0,
    *,
    show: Callable[[str], None] = print,
    warn: Callable[[str], None] = print,
) -> None:
    """Serve the viewer until interrupted, on `port` (0: a free one): `show` gets the URL
    with its token, `warn` a warning when `host` is reachable from other machines."""
    if not is_loopback(host):
        warn(
            f"binding to {host}: anyone who can reach it and has the token can read the "
            "judged texts and annotate"
        )
    chosen = port or free_port(host if is_loopback(host) else "0.0.0.0")
    shown = LOOPBACK if host in ("0.0.0.0", "::") else host
    show(f"jurist view: http://{shown}:{chosen}/?token={token}  (Ctrl-C stops it)")
    serve(app, host, chosen)


def serve_in_thread(app: object, host: str = LOOPBACK, port: int | None = None) -> RunningServer:
    import uvicorn

    port = port or free_port(host)
    server = uvicorn.Server(_config(app, host, port))  # type: ignore[arg-type]
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the viewer did not start on {host}:{port}")
        time.sleep(0.05)
    return RunningServer(f"http://{host}:{port}", server, thread)
