"""Running the viewer: uvicorn on 127.0.0.1 and a free port unless told otherwise."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass

LOOPBACK = "127.0.0.1"


def free_port(host: str = LOOPBACK) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1")


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
