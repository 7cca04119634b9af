"""The viewer in a real Chromium: browse, filter, read an item, annotate with the
keyboard, keep annotations across reloads and restarts, export them for `jurist meta`."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from typer.testing import CliRunner
from view_runs import make_pair_run, make_run

from jurist.cli import app

pytestmark = pytest.mark.integration
TOKEN = "t0ken-for-tests"


def test_every_request_needs_the_token(view_run, serve_viewer, tmp_path):
    server = serve_viewer([view_run.folder], view_run.store, cache_dir=tmp_path / "cache")
    run_page = f"{server.url}/run/{view_run.run_id}"
    assert httpx.get(server.url + "/").status_code == 403
    assert httpx.get(run_page + "?token=wrong").status_code == 403
    assert httpx.get(server.url + "/static/app.js").status_code == 403
    assert httpx.post(server.url + "/api/annotations", json={}).status_code == 403
    ok = httpx.get(run_page, params={"token": TOKEN}, timeout=60)
    assert ok.status_code == 200
    assert view_run.run_id in ok.text
    # The cookie the token set opens later pages; a write still needs the header.
    cookies = ok.cookies
    assert httpx.get(server.url + "/", cookies=cookies).status_code == 200
    body = {
        "run": view_run.run_id,
        "item_id": "q0",
        "annotator": "x",
        "field": "helpfulness",
        "value": 2,
    }
    assert (
        httpx.post(server.url + "/api/annotations", json=body, cookies=cookies).status_code == 403
    )


def test_browse_annotate_persist_export(view_run, serve_viewer, browser, screenshots, tmp_path):
    cache = tmp_path / "cache"
    server = serve_viewer([view_run.folder], view_run.store, cache_dir=cache)
    page = browser.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{server.url}/?token={TOKEN}")
    page.screenshot(path=screenshots / "runs.png", full_page=True)
    assert page.locator("#runs tbody tr").count() == 1
    page.click(f"text={view_run.run_id}")
    assert page.locator("#items tbody tr").count() == view_run.n
    page.screenshot(path=screenshots / "run.png", full_page=True)

    # Filter to parse errors and back.
    page.check("#f-parse-errors")
    page.click("#filters button[type=submit]")
    ids = page.locator("#items tbody tr .item-link").all_inner_texts()
    assert ids == ["q3", "q7"]
    page.click("#clear-filters")
    assert page.locator("#items tbody tr").count() == view_run.n

    # The hostile item renders as text and runs nothing.
    page.click("text=q1")
    assert page.evaluate("window.__pwned") is None
    assert "<script>window.__pwned = 1</script>" in page.inner_text("#response")
    assert "</textarea><b>bold?</b>" in page.inner_text("#response")
    assert page.locator("#response b").count() == 0
    page.screenshot(path=screenshots / "item.png", full_page=True)

    # Keyboard: k goes back to q0, j forward again.
    page.keyboard.press("k")
    page.wait_for_url(re.compile(r"/item/0\?"))
    assert page.locator("h1").inner_text().startswith("q0")
    page.keyboard.press("j")
    page.wait_for_url(re.compile(r"/item/1\?"))

    # Annotate q1, q2, q3 with the keyboard.
    page.fill("#annotator", "alice")
    page.locator("#annotator").press("Tab")
    page.locator("h1").click()
    for key, pos in (("4", 1), ("2", 2), ("5", 3)):
        assert page.locator("h1").inner_text().startswith(f"q{pos}")
        page.keyboard.press(key)
        page.wait_for_selector("#save-status:has-text('saved')")
        page.keyboard.press("j")
        page.wait_for_url(re.compile(rf"/item/{pos + 1}\?"))
    page.keyboard.press("k")
    page.wait_for_url(re.compile(r"/item/3\?"))
    assert page.locator(".choice.chosen").inner_text().startswith("5")
    page.screenshot(path=screenshots / "annotate.png", full_page=True)

    # A refresh keeps it; so does a restart of the server.
    page.reload()
    assert page.locator(".choice.chosen").inner_text().startswith("5")
    server.stop()
    server = serve_viewer([view_run.folder], view_run.store, cache_dir=cache)
    page.goto(f"{server.url}/run/{view_run.run_id}/item/2?token={TOKEN}")
    assert page.locator(".choice.chosen").inner_text().startswith("2")

    # A second annotator in another browser does not overwrite the first.
    other = browser.new_context()
    bob = other.new_page()
    bob.set_default_timeout(60_000)
    bob.goto(f"{server.url}/run/{view_run.run_id}/item/2?token={TOKEN}")
    assert bob.locator(".choice.chosen").count() == 0
    assert "alice: 2" in bob.inner_text(".others")
    bob.fill("#annotator", "bob")
    bob.locator("h1").click()
    bob.keyboard.press("3")
    bob.wait_for_selector("#save-status:has-text('saved')")
    bob.goto(f"{server.url}/run/{view_run.run_id}/item/1")
    bob.locator("h1").click()
    bob.keyboard.press("4")
    bob.wait_for_selector("#save-status:has-text('saved')")
    other.close()
    page.reload()
    assert page.locator(".choice.chosen").inner_text().startswith("2")

    page.goto(f"{server.url}/run/{view_run.run_id}/annotations")
    page.screenshot(path=screenshots / "annotations.png", full_page=True)
    assert "alice, bob" in page.inner_text("#agreement")

    # Export, then `jurist meta` reads the file.
    with page.expect_download() as download:
        page.click("#export")
    exported = tmp_path / "annotations.jsonl"
    download.value.save_as(exported)
    records = [json.loads(line) for line in exported.read_text().splitlines()]
    alice = {r["id"]: r["helpfulness"] for r in records if r["annotator"] == "alice"}
    assert alice == {"q1": 4, "q2": 2, "q3": 5}
    assert {r["id"] for r in records if r["annotator"] == "bob"} == {"q1", "q2"}
    alice_only = tmp_path / "alice.jsonl"
    alice_only.write_text(
        "".join(json.dumps(r) + "\n" for r in records if r["annotator"] == "alice")
    )
    result = CliRunner().invoke(
        app,
        [
            "meta",
            str(view_run.folder),
            "--labels",
            str(alice_only),
            "--format",
            "json",
            "--resamples",
            "100",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["labels"]["matched"] == 3
    pearson = report["criteria"]["helpfulness"]["parsed"]["pearson"]
    assert pearson["n"] == 2  # q3 is a parse error: counted out, never filled in
    both = CliRunner().invoke(
        app,
        [
            "meta",
            str(view_run.folder),
            "--labels",
            str(exported),
            "--annotator-field",
            "annotator",
            "--format",
            "json",
            "--resamples",
            "100",
        ],
    )
    assert both.exit_code == 0, both.output
    assert json.loads(both.output)["labels"]["matched"] == 3
    page.close()


def test_compare_two_runs(view_run, serve_viewer, browser, screenshots, tmp_path):
    other = make_run(
        tmp_path / "other", view_run.store, "20260101-000000-bbbbbb", shift=1, judge="judge-b"
    )
    server = serve_viewer(
        [view_run.folder, other.folder], view_run.store, cache_dir=tmp_path / "cache"
    )
    page = browser.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{server.url}/?token={TOKEN}")
    page.click(".compare button[type=submit]")
    page.screenshot(path=screenshots / "compare.png", full_page=True)
    a = json.loads(view_run.folder.joinpath("results.jsonl").read_text().splitlines()[0])
    assert a["item_id"] == "q0"
    rows = page.locator("#compare tbody tr")
    expected = sum(
        1
        for i in range(view_run.n)
        if i not in (3, 7) and min(5, (i * 3) % 5 + 2) != (i * 3) % 5 + 1
    )
    assert rows.count() == expected
    page.close()


def test_pairs_side_by_side_and_keys(serve_viewer, browser, screenshots, tmp_path):
    run = make_pair_run(tmp_path / "pairs", tmp_path / "store.sqlite", "20260101-000000-pppppp")
    server = serve_viewer([run.folder], run.store, cache_dir=tmp_path / "cache")
    page = browser.new_page()
    page.set_default_timeout(60_000)
    page.goto(f"{server.url}/run/{run.run_id}?inconsistent=1&token={TOKEN}")
    assert page.locator("#items tbody tr .item-link").all_inner_texts() == ["p2"]
    page.goto(f"{server.url}/run/{run.run_id}")
    page.click("text=p0")
    assert "<script>" in page.inner_text("#response-b")
    assert page.evaluate("window.__pwned") is None
    assert "order AB reason 0" in page.inner_text(".verdicts")
    assert "order BA reason 0" in page.inner_text(".verdicts")
    page.fill("#annotator", "carol")
    page.locator("h1").click()
    for key, pos, verdict in (("b", 0, "B"), ("a", 1, "A"), ("t", 2, "tie")):
        page.keyboard.press(key)
        page.wait_for_selector(f"#save-status:has-text('= {verdict}')")
        assert page.locator(".choice.chosen").inner_text().startswith(verdict)
        if pos == 0:
            page.screenshot(path=screenshots / "pair.png", full_page=True)
        page.keyboard.press("j")
        page.wait_for_url(re.compile(rf"/item/{pos + 1}\?"))
    exported = tmp_path / "pairs.jsonl"
    exported.write_text(
        httpx.get(
            f"{server.url}/run/{run.run_id}/annotations.jsonl", headers={"X-Jurist-Token": TOKEN}
        ).text
    )
    result = CliRunner().invoke(
        app,
        [
            "meta",
            str(run.folder),
            "--labels",
            str(exported),
            "--format",
            "json",
            "--resamples",
            "100",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["labels"]["matched"] == 3
    assert report["pairwise"]["label_field"] == "preference"
    page.close()
