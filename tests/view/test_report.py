"""`jurist report`: one HTML file that needs nothing else, opened in a browser offline."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from jurist.cli import app

_EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


def test_report_is_self_contained(view_run, tmp_path):
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        app,
        [
            "report",
            str(view_run.folder),
            "-o",
            str(out),
            "--store",
            str(view_run.store),
            "--sample",
            "12",
        ],
    )
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert not _EXTERNAL.search(html)
    assert "<script" not in html.replace("&lt;script", "")
    assert "&lt;script&gt;window.__pwned = 1&lt;/script&gt; and &lt;/textarea&gt;" in html
    assert "Judge vs human" in html  # the results carry human labels
    assert html.count('<img src="data:image/png;base64,') >= 2
    assert "A sample of 12 of 12 items" in html


def test_report_without_labels_says_so(view_run, tmp_path):
    from jurist.view import write_report

    stripped = tmp_path / "plain.jsonl"
    lines = (
        view_run.folder.joinpath("results.jsonl")
        .read_text()
        .replace('"labels":{"human":', '"labels":{},"x":{"human":')
    )
    stripped.write_text(lines)
    path = write_report(str(stripped), tmp_path / "r.html", store_path=view_run.store, sample=3)
    html = path.read_text()
    assert "No human labels" in html
    assert "data:image/png" not in html


@pytest.mark.integration
def test_report_opens_offline_with_its_plots(view_run, browser, screenshots, tmp_path):
    from jurist.view import write_report

    path = write_report(
        str(view_run.folder), tmp_path / "report.html", store_path=view_run.store, sample=4
    )
    context = browser.new_context(offline=True)
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(path.as_uri())
    images = page.locator("img")
    assert images.count() >= 2
    widths = page.eval_on_selector_all("img", "imgs => imgs.map(i => i.complete && i.naturalWidth)")
    assert all(w and w > 50 for w in widths)
    assert all(u.startswith(("file:", "data:")) for u in requested)
    page.screenshot(path=screenshots / "report.png", full_page=True)
    context.close()
