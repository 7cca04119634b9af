"""Fixtures of the viewer tests: a run to view, Chromium, screenshots, viewers served on
127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from view_runs import FixtureRun, make_run


@pytest.fixture
def view_run(tmp_path) -> FixtureRun:
    return make_run(tmp_path / "work", tmp_path / "store.sqlite", "20260101-000000-aaaaaa")


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright (it cannot download a browser here; a missing one
    is a failure, not a skip). Stopped after each module: Playwright's sync API keeps an event
    loop running in this thread while it lives, and later tests call `asyncio.run`."""
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.is_file(), f"{CHROMIUM} is missing: apt-get install chromium"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def screenshots(tmp_path) -> Path:
    import os

    folder = Path(os.environ.get("JURIST_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def serve_viewer():
    """Start viewers on 127.0.0.1 and free ports; every one is stopped at the end."""
    from jurist.view.app import create_app, make_viewer
    from jurist.view.server import serve_in_thread

    running = []

    def start(runs, store, token="t0ken-for-tests", cache_dir=None):
        viewer = make_viewer([str(r) for r in runs], store, token=token, cache_dir=cache_dir)
        server = serve_in_thread(create_app(viewer))
        running.append(server)
        return server

    yield start
    for server in running:
        server.stop()
